// Schema 3 (identity): schema 2's statements plus token revocation events.
import type { Queryable } from '../../../../../services/core/db/database';
import { identityAndFunctions } from './v1';
import { objectIndex } from './v2';
import { expectSame, type CompatWorkload } from './workload';

export async function revocations(db: Queryable, tag: string): Promise<void> {
  await db.query('INSERT INTO token_revocations (audit_id, issued_before, expires_at) VALUES ($1, now(), $2)', [`audit-${tag}`, '2099-01-01T00:00:00Z']);
  await db.query('INSERT INTO token_revocations (user_id, project_id, issued_before, expires_at) VALUES ($1, $2, $3, $4)', [`u-${tag}`, null, '2030-01-01T00:00:00Z', '2099-01-01T00:00:00Z']);
  expectSame(
    'revocations',
    await db.query('SELECT audit_id, user_id FROM token_revocations WHERE (audit_id = $1 OR user_id = $2) AND expires_at > now() ORDER BY id', [`audit-${tag}`, `u-${tag}`]),
    [
      { audit_id: `audit-${tag}`, user_id: null },
      { audit_id: null, user_id: `u-${tag}` },
    ],
  );
  await db.query('DELETE FROM token_revocations WHERE expires_at < now()');
}

export const v3: CompatWorkload = {
  schemaVersion: 3,
  async run(db, tag) {
    await identityAndFunctions(db, tag);
    await objectIndex(db, tag);
    await revocations(db, tag);
  },
};
