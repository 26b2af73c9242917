// Schema 2 (objectstore): schema 1's statements plus the fs object store's index.
import type { Queryable } from '../../../../../services/core/db/database';
import { identityAndFunctions } from './v1';
import { expectSame, type CompatWorkload } from './workload';

export async function objectIndex(db: Queryable, tag: string): Promise<void> {
  const account = `AUTH_${tag}`;
  await db.query('INSERT INTO os_accounts (name, created_us) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [account, 1]);
  await db.query(
    `INSERT INTO os_accounts AS a (name, created_us, meta) VALUES ($1, $2, $3::jsonb - $4::text[])
     ON CONFLICT (name) DO UPDATE SET meta = (a.meta || $3::jsonb) - $4::text[]`,
    [account, 2, JSON.stringify({ 'temp-url-key': 'k' }), []],
  );
  const [{ id }] = await db.query<{ id: string }>(
    `INSERT INTO os_containers (account, name, created_us, modified_us, meta) VALUES ($1, $2, $3, $3, $4::jsonb - $5::text[])
     ON CONFLICT (account, name) DO NOTHING RETURNING id`,
    [account, 'photos', 3, '{}', []],
  );
  await db.query(
    `INSERT INTO os_objects (container_id, name, bytes, etag, content_type, modified_us, meta, file_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
     ON CONFLICT (container_id, name) DO UPDATE SET bytes = EXCLUDED.bytes, etag = EXCLUDED.etag,
       content_type = EXCLUDED.content_type, modified_us = EXCLUDED.modified_us, meta = EXCLUDED.meta, file_id = EXCLUDED.file_id`,
    [id, 'a/b.jpg', 5, 'etag', 'image/jpeg', 4, '{}', `file-${tag}`],
  );
  await db.query('UPDATE os_containers SET object_count = object_count + 1, bytes_used = bytes_used + $2, modified_us = $3 WHERE id = $1', [id, 5, 4]);
  expectSame(
    'listing',
    await db.query(`SELECT name, bytes, etag, content_type FROM os_objects WHERE container_id = $1 AND name > $2 AND name LIKE $3 ORDER BY name LIMIT 10`, [id, '', 'a/%']),
    [{ name: 'a/b.jpg', bytes: '5', etag: 'etag', content_type: 'image/jpeg' }],
  );
  expectSame(
    'container',
    await db.query('SELECT c.name, c.object_count, c.bytes_used, a.meta FROM os_containers c JOIN os_accounts a ON a.name = c.account WHERE c.account = $1', [account]),
    [{ name: 'photos', object_count: '1', bytes_used: '5', meta: { 'temp-url-key': 'k' } }],
  );
}

export const v2: CompatWorkload = {
  schemaVersion: 2,
  async run(db, tag) {
    await identityAndFunctions(db, tag);
    await objectIndex(db, tag);
  },
};
