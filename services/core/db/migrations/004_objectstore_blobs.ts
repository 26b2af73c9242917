import type { Migration } from '../migrate';

/**
 * What the crash-leftover sweeper needs. `os_objects.file_id` gets an index so "does any row name
 * this blob?" stays a lookup at a million objects. `os_pending_blobs` holds one row per object PUT
 * in flight on a backend whose blobs live elsewhere (s3): written before the first byte, refreshed
 * while the body streams, deleted in the transaction that commits the object row. A row whose
 * heartbeat is old belongs to a crashed writer, so its blob (and unfinished multipart upload) may go.
 */
export const objectstoreBlobs: Migration = {
  version: 4,
  name: 'objectstore_blobs',
  sql: `
CREATE INDEX os_objects_file_id ON os_objects (file_id);

CREATE TABLE os_pending_blobs (
  blob_key text COLLATE "C" PRIMARY KEY,
  -- the multipart upload writing it, once started
  upload_id text,
  started_us bigint NOT NULL,
  touched_us bigint NOT NULL
);
`,
};
