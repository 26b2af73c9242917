// The expand-then-contract suite on embedded PGlite. One in-memory cluster (initdb costs seconds
// here); each case gets a schema of its own, selected by search_path on PGlite's one connection.
import { PGlite } from '@electric-sql/pglite';
import { pgliteDatabase, type Database } from '../../../../services/core/db/database';
import { migrationCompatSuite } from './migration-compat.suite';

jest.setTimeout(60_000);

let cluster: PGlite | undefined;
let schemas = 0;

afterAll(() => cluster?.close());

migrationCompatSuite(async (): Promise<Database> => {
  cluster ??= await PGlite.create();
  const schema = `compat_${++schemas}`;
  const db = pgliteDatabase(cluster);
  await db.exec(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
  return { ...db, close: async () => db.exec(`DROP SCHEMA ${schema} CASCADE; SET search_path TO public`) };
});
