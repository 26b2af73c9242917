// Expand then contract, proven for every migration: a fresh database migrated to schema N runs
// the statements of the release before it (the compat workload of schema N-1, see compat/) and
// its own. Shared by migration-compat.test.ts (PGlite) and migration-compat.pg.test.ts (PostgreSQL).
import type { Database } from '../../../../services/core/db/database';
import { migrate, type Migration } from '../../../../services/core/db/migrate';
import { checkMigrations } from '../../../../services/core/db/migration-check';
import { MIGRATIONS } from '../../../../services/core/db/migrations';
import { COMPAT_WORKLOADS } from './compat';

/** `open` gives a fresh, empty database each call; `close` releases it. */
export function migrationCompatSuite(open: () => Promise<Database>): void {
  let tags = 0;
  const tag = (): string => `c${++tags}`;

  async function migratedTo(version: number, extra: Migration[] = []): Promise<Database> {
    const db = await open();
    await migrate(db, [...MIGRATIONS.slice(0, version), ...extra]);
    return db;
  }

  test('every schema version has a compat workload, and the history has no unmarked contraction', () => {
    expect(COMPAT_WORKLOADS.map((w) => w.schemaVersion)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(checkMigrations(MIGRATIONS)).toEqual([]);
  });

  describe.each(MIGRATIONS.map((m) => [`${m.version} (${m.name})`, m.version] as const))('schema %s', (_name, version) => {
    let db: Database;
    beforeAll(async () => {
      db = await migratedTo(version);
    });
    afterAll(() => db?.close());

    if (version > 1) {
      test(`runs the previous release's statements (schema ${version - 1} workload)`, async () => {
        await COMPAT_WORKLOADS[version - 2].run(db, tag());
      });
    }

    test("runs its own release's statements", async () => {
      await COMPAT_WORKLOADS[version - 1].run(db, tag());
    });
  });

  test('a migration that drops a column the previous release writes fails the check', async () => {
    const latest = MIGRATIONS.length;
    // Marked contract, so the static checker lets it through: the compat run is what catches it.
    const breaking: Migration = {
      version: latest + 1,
      name: 'drop_log_key',
      sql: 'ALTER TABLE executions DROP COLUMN log_key;',
      contract: { expandedIn: latest, reason: 'test: contracting too early' },
    };
    const db = await migratedTo(latest, [breaking]);
    try {
      await expect(COMPAT_WORKLOADS[latest - 1].run(db, tag())).rejects.toThrow(/log_key/);
    } finally {
      await db.close();
    }
  });
}
