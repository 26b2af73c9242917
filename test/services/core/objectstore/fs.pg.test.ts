// The object store's data layer against a real PostgreSQL (CAIRN_TEST_PG_URL), in a fresh schema,
// plus the listing plan at scale: a prefix/marker/limit page must be an index range scan.
import { openTestPostgres } from '../../../helpers/postgres';
import type { Database } from '../../../../services/core/db/database';
import { migrate } from '../../../../services/core/db/migrate';
import { objectIndexSuite } from './fs-index.suite';
import { objectStoreSuite } from './objectstore.suite';

describe('object store on PostgreSQL', () => {
  objectStoreSuite(openTestPostgres);
});

describe('object index on PostgreSQL: writes submitted together', () => {
  objectIndexSuite(openTestPostgres);
});

describe('listing at scale on PostgreSQL', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestPostgres();
    await migrate(db);
    await db.query(`INSERT INTO os_accounts (name, created_us) VALUES ('AUTH_big', 0)`);
    await db.query(`INSERT INTO os_containers (account, name, created_us, modified_us) VALUES ('AUTH_big', 'big', 0, 0), ('AUTH_big', 'other', 0, 0)`);
    // 200k rows in the listed container and as many in another one sharing the index.
    await db.query(`INSERT INTO os_objects (container_id, name, bytes, etag, content_type, modified_us, file_id)
      SELECT c.id, 'dir' || (i % 100) || '/obj' || lpad(i::text, 8, '0'), 1, 'e', 't', 0, 'f'
      FROM os_containers c, generate_series(1, 200000) i WHERE c.account = 'AUTH_big'`);
    await db.query('ANALYZE os_objects');
  });
  afterAll(async () => {
    await db.close();
  });

  test('a prefix + marker + limit page is one index range scan', async () => {
    const [{ id }] = await db.query<{ id: string }>(`SELECT id FROM os_containers WHERE name = 'big'`);
    const sql = `SELECT name, bytes, etag, content_type, modified_us FROM os_objects
      WHERE container_id = $1 AND name > $2 AND name >= $3 AND name < $4 ORDER BY name ASC LIMIT $5`;
    // A page smaller than what matches (1,000 names follow the marker under the prefix), as a
    // listing page usually is: the index hands rows over in order and the scan stops at the limit.
    // (Asked for every matching row, the planner may fairly prefer a bitmap scan and a sort.)
    const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.replace('$1', id).replace('$2', "'dir42/obj00100000'").replace('$3', "'dir42/'").replace('$4', "'dir420'").replace('$5', '100')}`);
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan using os_objects_pkey/);
    expect(text).not.toMatch(/Seq Scan|Sort/);
    const rows = await db.query<{ name: string }>(sql, [id, 'dir42/obj00100000', 'dir42/', 'dir420', 100]);
    expect(rows).toHaveLength(100);
    expect(rows[0].name).toBe('dir42/obj00100042');
  });
});
