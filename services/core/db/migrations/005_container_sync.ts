import type { Migration } from '../migrate';

/**
 * What the container sync pass keeps, whatever the object store backend. `os_sync_containers`
 * lists the containers whose owner set sync headers (the pass visits them), the destination the
 * rows below were pushed to (another destination starts over) and a lease so that only one
 * process syncs a container at a time. `os_sync_objects` holds one row per object pushed: its
 * ETag and modification time at the source when pushed (a change means push again) and the pass
 * that last saw it at the source (rows older than the finished pass name deleted objects).
 */
export const containerSync: Migration = {
  version: 5,
  name: 'container_sync',
  sql: `
CREATE TABLE os_sync_containers (
  account text COLLATE "C" NOT NULL,
  container text COLLATE "C" NOT NULL,
  sync_to text,
  lease_until_us bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (account, container)
);

CREATE TABLE os_sync_objects (
  account text COLLATE "C" NOT NULL,
  container text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  etag text NOT NULL,
  modified_us bigint NOT NULL,
  seen_pass bigint NOT NULL,
  PRIMARY KEY (account, container, name)
);
`,
};
