// Refuses contracting statements in a migration that is not marked as a contract step (the
// expand-then-contract rule in migrate.ts). A contracting statement breaks the previous release,
// which still runs while the Deployments roll and after a rollback.
//
// The SQL is read, not parsed: comments and quoted literals are blanked out, the script is split
// into statements, and each is matched against the shapes below. False positives are cheap (mark
// the migration, or rewrite it as an expand); a missed contraction is what the compat test, which
// runs the previous release's statements on the new schema, is there to catch.
import type { Migration } from './migrate';

/** One contracting statement found in a migration. */
export interface MigrationProblem {
  migration: string;
  /** The statement, whitespace collapsed. */
  statement: string;
  reason: string;
}

interface Rule {
  pattern: RegExp;
  reason: string;
}

/** Whole statements that contract. */
const STATEMENT_RULES: Rule[] = [
  { pattern: /^DROP\s+(TABLE|VIEW|MATERIALIZED\s+VIEW|TYPE|SCHEMA|FUNCTION|SEQUENCE)\b/, reason: 'drops an object the previous release may use' },
  { pattern: /^ALTER\s+(TABLE|VIEW|MATERIALIZED\s+VIEW|TYPE|SCHEMA|FUNCTION|SEQUENCE)\b.*\sRENAME\b/, reason: 'renames what the previous release refers to by its old name' },
];

/** Actions of an ALTER TABLE (`ALTER TABLE t <action>, <action>`) that contract. */
const ACTION_RULES: Rule[] = [
  { pattern: /^DROP\s+(COLUMN\s+)?(?!CONSTRAINT\b)/, reason: 'drops a column the previous release may read or write' },
  { pattern: /^RENAME\b/, reason: 'renames what the previous release refers to by its old name' },
  { pattern: /^ALTER\s+(COLUMN\s+)?\S+\s+SET\s+NOT\s+NULL\b/, reason: 'makes a column NOT NULL without a default: the previous release may leave it empty' },
  { pattern: /^ALTER\s+(COLUMN\s+)?\S+\s+DROP\s+DEFAULT\b/, reason: "drops a default the previous release's inserts rely on" },
  { pattern: /^ALTER\s+(COLUMN\s+)?\S+\s+(SET\s+DATA\s+)?TYPE\b/, reason: "changes a column's type under the previous release" },
  {
    pattern: /^ADD\s+(COLUMN\s+)?(IF\s+NOT\s+EXISTS\s+)?(?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|CHECK\b|FOREIGN\b|EXCLUDE\b)\S+\s(?=.*\bNOT\s+NULL\b)(?!.*\bDEFAULT\b)/,
    reason: 'adds a NOT NULL column without a default: inserts of the previous release fail',
  },
];

/** The contracting statements of one migration; empty when it only expands or is marked `contract`. */
export function checkMigration(migration: Migration): MigrationProblem[] {
  const name = `${String(migration.version).padStart(3, '0')}_${migration.name}`;
  if (migration.contract) {
    const { expandedIn } = migration.contract;
    const valid = Number.isInteger(expandedIn) && expandedIn >= 1 && expandedIn < migration.version;
    return valid ? [] : [{ migration: name, statement: '', reason: `contract.expandedIn ${expandedIn} must name an earlier migration (1…${migration.version - 1})` }];
  }
  const problems: MigrationProblem[] = [];
  for (const statement of statements(migration.sql)) {
    const actions = alterTableActions(statement);
    const rule =
      STATEMENT_RULES.find((r) => r.pattern.test(statement)) ??
      actions.map((a) => (setsNotNullWithDefault(a, actions) ? undefined : ACTION_RULES.find((r) => r.pattern.test(a)))).find(Boolean);
    if (rule) problems.push({ migration: name, statement, reason: rule.reason });
  }
  return problems;
}

/** `ALTER COLUMN c SET NOT NULL` next to `ALTER COLUMN c SET DEFAULT …`: inserts that leave c out still work. */
function setsNotNullWithDefault(action: string, actions: string[]): boolean {
  const column = /^ALTER\s+(?:COLUMN\s+)?(\S+)\s+SET\s+NOT\s+NULL\b/.exec(action)?.[1];
  return column !== undefined && actions.some((a) => new RegExp(`^ALTER\\s+(COLUMN\\s+)?${column.replace(/[^\w]/g, '\\$&')}\\s+SET\\s+DEFAULT\\b`).test(a));
}

/** The actions of an `ALTER TABLE [IF EXISTS] [ONLY] name …` statement, split at top-level commas. */
function alterTableActions(statement: string): string[] {
  const m = /^ALTER\s+TABLE\s+(IF\s+EXISTS\s+)?(ONLY\s+)?\S+\s+(.*)$/.exec(statement);
  if (!m) return [];
  const actions: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of m[3]) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      actions.push(current.trim());
      current = '';
    } else current += ch;
  }
  actions.push(current.trim());
  return actions;
}

/** Every problem of a migration history, as one message per problem. */
export function checkMigrations(migrations: readonly Migration[]): string[] {
  return migrations.flatMap(checkMigration).map((p) => `${p.migration}: ${p.reason}${p.statement ? `: ${p.statement}` : ''} (mark the migration \`contract\` only once a released version no longer uses it)`);
}

/** The script's statements, upper-cased, with comments and quoted text blanked and whitespace collapsed. */
function statements(sql: string): string[] {
  const blanked = sql
    // One pass, leftmost match first, so `--` inside a literal or a quote inside a comment is
    // taken for what it is.
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g, (m) => (m.startsWith('-') || m.startsWith('/') ? ' ' : "''"));
  return blanked
    .split(';')
    .map((s) => s.replace(/\s+/g, ' ').trim().toUpperCase())
    .filter(Boolean);
}
