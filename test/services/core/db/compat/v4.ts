// Schema 4 (objectstore_blobs): schema 3's statements plus the pending-blob rows of in-flight
// object PUTs on the s3 backend and the crash-leftover sweeper's queries.
import type { Queryable } from '../../../../../services/core/db/database';
import { identityAndFunctions } from './v1';
import { objectIndex } from './v2';
import { revocations } from './v3';
import { expectSame, type CompatWorkload } from './workload';

export async function pendingBlobs(db: Queryable, tag: string): Promise<void> {
  const live = `blob-live-${tag}`;
  const dead = `blob-dead-${tag}`;
  await db.query('INSERT INTO os_pending_blobs (blob_key, started_us, touched_us) VALUES ($1, $2, $2)', [live, 100]);
  await db.query('INSERT INTO os_pending_blobs (blob_key, started_us, touched_us) VALUES ($1, $2, $2)', [dead, 1]);
  await db.query('UPDATE os_pending_blobs SET touched_us = $2, upload_id = coalesce($3, upload_id) WHERE blob_key = $1', [live, 200, 'upload-1']);
  expectSame(
    'orphans',
    await db.query(
      `SELECT k FROM unnest($1::text[]) AS u(k)
       WHERE NOT EXISTS (SELECT 1 FROM os_objects WHERE file_id = u.k)
         AND NOT EXISTS (SELECT 1 FROM os_pending_blobs WHERE blob_key = u.k)`,
      [[live, `file-${tag}`, `blob-gone-${tag}`]],
    ),
    [{ k: `blob-gone-${tag}` }],
  );
  expectSame('dead', await db.query('DELETE FROM os_pending_blobs WHERE touched_us < $1 AND blob_key LIKE $2 RETURNING blob_key, upload_id', [50, `%-${tag}`]), [{ blob_key: dead, upload_id: null }]);
  expectSame('committed', await db.query('DELETE FROM os_pending_blobs WHERE blob_key = $1 RETURNING 1 AS one', [live]), [{ one: 1 }]);
}

export const v4: CompatWorkload = {
  schemaVersion: 4,
  async run(db, tag) {
    await identityAndFunctions(db, tag);
    await objectIndex(db, tag);
    await revocations(db, tag);
    await pendingBlobs(db, tag);
  },
};
