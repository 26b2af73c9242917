// Schema 5 (container_sync): schema 4's statements plus the container sync pass's state
// (services/api/storage/container-sync-state.ts and the registration in container-sync.ts).
import type { Queryable } from '../../../../../services/core/db/database';
import { identityAndFunctions } from './v1';
import { objectIndex } from './v2';
import { revocations } from './v3';
import { pendingBlobs } from './v4';
import { expectSame, type CompatWorkload } from './workload';

export async function containerSyncState(db: Queryable, tag: string): Promise<void> {
  const account = `AUTH_${tag}`;
  const c = 'synced';
  await db.query('INSERT INTO os_sync_containers (account, container) VALUES ($1, $2) ON CONFLICT DO NOTHING', [account, c]);
  await db.query('INSERT INTO os_sync_containers (account, container) VALUES ($1, $2) ON CONFLICT DO NOTHING', [account, c]);
  expectSame(
    'containers',
    (await db.query('SELECT account, container, sync_to FROM os_sync_containers ORDER BY account, container')).filter((r) => r.account === account),
    [{ account, container: c, sync_to: null }],
  );
  const claim = 'UPDATE os_sync_containers SET lease_until_us = $3 WHERE account = $1 AND container = $2 AND lease_until_us < $4 RETURNING 1 AS one';
  expectSame('claimed', await db.query(claim, [account, c, 2000, 1000]), [{ one: 1 }]);
  expectSame('held', await db.query(claim, [account, c, 2500, 1500]), []);
  await db.query('UPDATE os_sync_containers SET lease_until_us = 0 WHERE account = $1 AND container = $2', [account, c]);
  await db.query('DELETE FROM os_sync_objects WHERE account = $1 AND container = $2', [account, c]);
  await db.query('UPDATE os_sync_containers SET sync_to = $3 WHERE account = $1 AND container = $2', [account, c, 'http://127.0.0.1/v1/AUTH_b/c']);
  const upsert = `INSERT INTO os_sync_objects (account, container, name, etag, modified_us, seen_pass) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account, container, name) DO UPDATE SET etag = EXCLUDED.etag, modified_us = EXCLUDED.modified_us, seen_pass = EXCLUDED.seen_pass`;
  await db.query(upsert, [account, c, 'a', 'e1', 10, 1]);
  await db.query(upsert, [account, c, 'b', 'e2', 20, 1]);
  await db.query(upsert, [account, c, 'a', 'e3', 30, 1]);
  expectSame(
    'seen',
    await db.query('UPDATE os_sync_objects SET seen_pass = $4 WHERE account = $1 AND container = $2 AND name = ANY($3::text[]) RETURNING name, etag, modified_us', [account, c, ['a', 'x'], 2]),
    [{ name: 'a', etag: 'e3', modified_us: 30 }],
  );
  const unseen = 'SELECT name FROM os_sync_objects WHERE account = $1 AND container = $2 AND seen_pass <> $3 AND name > $4 ORDER BY name LIMIT $5';
  expectSame('unseen', await db.query(unseen, [account, c, 2, '', 10]), [{ name: 'b' }]);
  await db.query('DELETE FROM os_sync_objects WHERE account = $1 AND container = $2 AND name = $3', [account, c, 'b']);
  expectSame('after drop', await db.query(unseen, [account, c, 2, '', 10]), []);
  await db.query('DELETE FROM os_sync_objects WHERE account = $1 AND container = $2', [account, c]);
  await db.query('DELETE FROM os_sync_containers WHERE account = $1 AND container = $2', [account, c]);
}

export const v5: CompatWorkload = {
  schemaVersion: 5,
  async run(db, tag) {
    await identityAndFunctions(db, tag);
    await objectIndex(db, tag);
    await revocations(db, tag);
    await pendingBlobs(db, tag);
    await containerSyncState(db, tag);
  },
};
