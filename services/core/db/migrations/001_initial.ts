import type { Migration } from '../migrate';

/** Identity, the function API (runtimes, functions, executions) and the object store's index. */
export const initial: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE settings (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE projects (
  id text PRIMARY KEY,
  name text NOT NULL,
  domain_id text NOT NULL DEFAULT 'default',
  description text NOT NULL DEFAULT '',
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (domain_id, name)
);

CREATE TABLE users (
  id text PRIMARY KEY,
  name text NOT NULL,
  domain_id text NOT NULL DEFAULT 'default',
  password_hash text NOT NULL,
  default_project_id text REFERENCES projects(id),
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (domain_id, name)
);

CREATE TABLE role_assignments (
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('admin', 'member')),
  PRIMARY KEY (user_id, project_id, role)
);

CREATE TABLE runtimes (
  id text PRIMARY KEY,
  name text,
  image text NOT NULL,
  description text,
  is_public boolean NOT NULL DEFAULT true,
  trusted boolean NOT NULL DEFAULT true,
  status text NOT NULL,
  project_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz
);

CREATE TABLE functions (
  id text PRIMARY KEY,
  project_id text NOT NULL,
  name text,
  description text,
  runtime_id text REFERENCES runtimes(id),
  code jsonb NOT NULL,
  entry text,
  cpu integer NOT NULL,
  memory_size bigint NOT NULL,
  timeout integer NOT NULL,
  count bigint NOT NULL DEFAULT 0,
  latest_version integer NOT NULL DEFAULT 0,
  -- where the current (version 0) package is kept in the system store; null for image functions
  package_key text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz
);
CREATE INDEX functions_project ON functions (project_id, created_at);

-- Live executors: a claim held by an executor whose heartbeat went stale is recovered.
CREATE TABLE executors (
  id text PRIMARY KEY,
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE executions (
  id text PRIMARY KEY,
  project_id text NOT NULL,
  -- who asked: async and queued runs get a fresh token for this user as their context
  user_id text,
  function_id text NOT NULL,
  function_version integer NOT NULL DEFAULT 0,
  function_alias text,
  description text,
  input text,
  result text,
  status text NOT NULL,
  sync boolean NOT NULL,
  -- set while an executor runs it; a stale claim after a crash is recovered, never left running
  claimed_by text,
  claimed_at timestamptz,
  -- the log inline while small; larger logs live in the object store under log_key
  log text,
  log_key text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz
);
CREATE INDEX executions_project ON executions (project_id, created_at);
CREATE INDEX executions_function ON executions (function_id);
CREATE INDEX executions_running ON executions (status, sync) WHERE status = 'running';
`,
};
