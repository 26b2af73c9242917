// Opens a migrated database for identity tests: PGlite in a temporary directory, or a fresh schema
// in the PostgreSQL named by CAIRN_TEST_PG_URL (the `pg` project).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, type Config } from '../../../../services/core/config';
import { openDatabase, type Database } from '../../../../services/core/db/database';
import { migrate } from '../../../../services/core/db/migrate';
import { openTestPostgres } from '../../../helpers/postgres';

export interface Fixture {
  db: Database;
  dataDir: string;
  config(overrides?: Record<string, string>): Config;
  close(): Promise<void>;
}

export async function openFixture(kind: 'pglite' | 'postgres' = 'pglite'): Promise<Fixture> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-identity-'));
  const db: Database = kind === 'postgres' ? await openTestPostgres() : await openDatabase({ dataDir: path.join(dataDir, 'db') });
  await migrate(db);
  return {
    db,
    dataDir,
    config: (overrides = {}) => loadConfig({}, { CAIRN_DATA_DIR: dataDir, ...overrides }),
    async close() {
      await db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
