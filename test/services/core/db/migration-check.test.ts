// The expand-then-contract checker: contracting statements are refused unless the migration is
// marked as a contract step following an expand release.
import type { Migration } from '../../../../services/core/db/migrate';
import { checkMigration, checkMigrations } from '../../../../services/core/db/migration-check';
import { MIGRATIONS } from '../../../../services/core/db/migrations';

const migration = (sql: string, extra: Partial<Migration> = {}): Migration => ({ version: 7, name: 'change', sql, ...extra });
const reasons = (sql: string): string[] => checkMigration(migration(sql)).map((p) => p.reason);

describe('migration checker', () => {
  test('the real migration history only expands', () => {
    expect(checkMigrations(MIGRATIONS)).toEqual([]);
  });

  test.each([
    ['a new table', 'CREATE TABLE t (id text PRIMARY KEY, n integer NOT NULL)'],
    ['a nullable column', 'ALTER TABLE functions ADD COLUMN memo text'],
    ['a NOT NULL column with a default', "ALTER TABLE functions ADD COLUMN tier text NOT NULL DEFAULT 'standard'"],
    ['an index, and dropping one', 'CREATE INDEX f_name ON functions (name); DROP INDEX f_name'],
    ['dropping a constraint or NOT NULL (relaxing)', 'ALTER TABLE runtimes DROP CONSTRAINT runtimes_pkey, ALTER COLUMN image DROP NOT NULL'],
    ['SET NOT NULL together with a default for the same column', "ALTER TABLE runtimes ALTER COLUMN name SET DEFAULT '', ALTER COLUMN name SET NOT NULL"],
    ['keywords in comments and string literals', "-- DROP TABLE functions\nINSERT INTO settings (key, value) VALUES ('x', 'DROP COLUMN y; RENAME')"],
    ['a column named like a keyword', 'ALTER TABLE functions ADD COLUMN type text'],
  ])('passes: %s', (_name, sql) => {
    expect(reasons(sql)).toEqual([]);
  });

  test.each([
    ['DROP TABLE', 'DROP TABLE executors', /drops an object/],
    ['DROP COLUMN', 'ALTER TABLE executions DROP COLUMN log_key', /drops a column/],
    ['DROP without COLUMN', 'ALTER TABLE IF EXISTS ONLY executions DROP log_key', /drops a column/],
    ['RENAME COLUMN', 'ALTER TABLE functions RENAME COLUMN entry TO handler', /renames/],
    ['RENAME TO', 'ALTER TABLE functions RENAME TO lambdas', /renames/],
    ['SET NOT NULL without default', 'ALTER TABLE functions ALTER COLUMN name SET NOT NULL', /NOT NULL without a default/],
    ['a type change', 'ALTER TABLE functions ALTER COLUMN cpu TYPE bigint', /type/],
    ['SET DATA TYPE', 'ALTER TABLE functions ALTER cpu SET DATA TYPE bigint', /type/],
    ['a NOT NULL column without default', 'ALTER TABLE functions ADD COLUMN tier text NOT NULL', /NOT NULL column without a default/],
    ['dropping a default', 'ALTER TABLE functions ALTER COLUMN count DROP DEFAULT', /default/],
    ['a contraction among expanding actions', 'ALTER TABLE functions ADD COLUMN memo text, DROP COLUMN description', /drops a column/],
    ["a contraction after a literal holding '--'", "UPDATE settings SET value = 'a -- b';\nDROP TABLE executors", /drops an object/],
  ])('fails: %s', (_name, sql, reason) => {
    const found = reasons(`CREATE TABLE ok (id text);\n${sql};`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(reason);
  });

  test('a migration marked contract, following an earlier expand, may contract', () => {
    expect(checkMigration(migration('ALTER TABLE executions DROP COLUMN log_key', { contract: { expandedIn: 5, reason: 'logs moved to the object store in 5' } }))).toEqual([]);
  });

  test('a contract mark must name an earlier migration', () => {
    const [problem] = checkMigration(migration('DROP TABLE executors', { contract: { expandedIn: 7, reason: 'same migration' } }));
    expect(problem.reason).toMatch(/expandedIn 7 must name an earlier migration \(1…6\)/);
  });

  test('the message names the migration, the statement and the way out', () => {
    expect(checkMigrations([migration('DROP TABLE executors')])).toEqual([
      '007_change: drops an object the previous release may use: DROP TABLE EXECUTORS (mark the migration `contract` only once a released version no longer uses it)',
    ]);
  });
});
