// Forward-only numbered migrations, expand then contract.
//
// The rule: the previous release must run against the migrated schema. The migration Job runs
// before the Deployments roll, so for a while the old pods serve requests on the new schema (and
// a rollback is "previous version, `pulumi up`", which never runs a down migration). Hence:
// - an expand migration only adds: tables, nullable columns or columns with a default, indexes;
// - a contracting statement (DROP TABLE/COLUMN, RENAME, SET NOT NULL, a type change, a NOT NULL
//   column without default) goes in a migration marked `contract`, released after the release
//   that stopped using what it removes (the expand release).
// migration-check.ts refuses contracting statements in unmarked migrations; the compat test
// (test/services/core/db/migration-compat.suite.ts) runs the previous schema version's
// statements against every new schema.
import type { Database } from './database';
import { MIGRATIONS } from './migrations';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /**
   * Marks a contract step: it may remove or tighten what the code of the previous release no
   * longer uses. `expandedIn` is the earlier migration whose release stopped using it.
   * @default absent: the migration must only expand
   */
  contract?: { expandedIn: number; reason: string };
}

/** Applies every migration newer than the schema's version; returns the versions applied. */
export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  checkOrder(migrations);
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  return db.transaction(async (tx) => {
    // Several api replicas may start together against one PostgreSQL: one migrates, the others wait.
    if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(727274)');
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`Migration ${m.name} has version ${m.version}; expected ${i + 1}`);
  });
}
