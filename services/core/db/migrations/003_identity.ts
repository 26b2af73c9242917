import type { Migration } from '../migrate';

/** Token revocation events: tokens are self-contained, so revoking one records an event instead. */
export const identity: Migration = {
  version: 3,
  name: 'identity',
  sql: `
CREATE TABLE token_revocations (
  id bigserial PRIMARY KEY,
  -- one token (DELETE /v3/auth/tokens), matched by its audit id
  audit_id text,
  -- or every token of a user (optionally on one project) issued up to issued_before
  user_id text,
  project_id text,
  issued_before timestamptz NOT NULL,
  -- no token the event matches can outlive this; the row is pruned afterwards
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (audit_id IS NOT NULL OR user_id IS NOT NULL)
);
CREATE INDEX token_revocations_expires ON token_revocations (expires_at);
`,
};
