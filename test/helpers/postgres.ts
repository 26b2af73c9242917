// A fresh schema on the real PostgreSQL server (CAIRN_TEST_PG_URL) for each test file, so
// suites never see each other's rows and nothing is left behind.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openDatabase, type Database } from '../../services/core/db/database';

export const PG_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function openTestPostgres(): Promise<Database> {
  const schema = `cairn_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const db = await openDatabase({ url: url.toString() });
  const close = db.close.bind(db);
  return Object.assign(db, {
    async close() {
      await close();
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  });
}
