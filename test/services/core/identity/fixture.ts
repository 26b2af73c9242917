// Opens a migrated database for identity tests: PGlite in a temporary directory, or a fresh schema
// in the PostgreSQL named by CAIRN_TEST_PG_URL (the `pg` project).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { loadConfig, type Config } from '../../../../services/core/config';
import { openDatabase, type Database } from '../../../../services/core/db/database';
import { migrate } from '../../../../services/core/db/migrate';

export interface Fixture {
  db: Database;
  dataDir: string;
  config(overrides?: Record<string, string>): Config;
  close(): Promise<void>;
}

export async function openFixture(kind: 'pglite' | 'postgres' = 'pglite'): Promise<Fixture> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-identity-'));
  let db: Database;
  let dropSchema: (() => Promise<void>) | undefined;
  if (kind === 'postgres') {
    const base = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `identity_test_${process.pid}_${Date.now()}`;
    const admin = new Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const url = new URL(base);
    url.searchParams.set('options', `-c search_path=${schema}`);
    db = await openDatabase({ url: url.toString() });
    dropSchema = async () => {
      const c = new Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    };
  } else {
    db = await openDatabase({ dataDir: path.join(dataDir, 'db') });
  }
  await migrate(db);
  return {
    db,
    dataDir,
    config: (overrides = {}) => loadConfig({}, { CAIRN_DATA_DIR: dataDir, ...overrides }),
    async close() {
      await db.close();
      await dropSchema?.();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
