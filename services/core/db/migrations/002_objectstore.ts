import type { Migration } from '../migrate';

/**
 * The fs object store's index. Names use the "C" collation so PostgreSQL orders them by UTF-8 bytes,
 * as Swift lists them, and so the (container, name) key serves prefix/marker/limit listings as one
 * index range scan however many objects a container holds. Object bytes live in files; a row only
 * ever names a file that was completely written first.
 */
export const objectstore: Migration = {
  version: 2,
  name: 'objectstore',
  sql: `
CREATE TABLE os_accounts (
  name text COLLATE "C" PRIMARY KEY,
  created_us bigint NOT NULL,
  meta jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE os_containers (
  id bigserial PRIMARY KEY,
  account text COLLATE "C" NOT NULL REFERENCES os_accounts(name),
  name text COLLATE "C" NOT NULL,
  -- kept in step with os_objects in the same transaction as every object write
  object_count bigint NOT NULL DEFAULT 0,
  bytes_used bigint NOT NULL DEFAULT 0,
  created_us bigint NOT NULL,
  modified_us bigint NOT NULL,
  meta jsonb NOT NULL DEFAULT '{}',
  UNIQUE (account, name)
);

CREATE TABLE os_objects (
  container_id bigint NOT NULL REFERENCES os_containers(id),
  name text COLLATE "C" NOT NULL,
  bytes bigint NOT NULL,
  etag text NOT NULL,
  content_type text NOT NULL,
  modified_us bigint NOT NULL,
  meta jsonb NOT NULL DEFAULT '{}',
  -- the data file of this version; a new PUT writes a new file, so readers of the old one finish
  file_id text NOT NULL,
  PRIMARY KEY (container_id, name)
);
`,
};
