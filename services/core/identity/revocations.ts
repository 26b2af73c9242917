// Revocation events, the only state token validation consults. The list of live events is small
// (one row per revoked token or credential change, pruned once no matching token can be valid), so
// each api replica keeps all of it in memory and reloads it at most once per REFRESH_MS: a
// revocation made on another replica takes effect there within that time; on this one, at once.
import type { Queryable } from '../db/database';
import type { TokenInfo } from './tokens';

/** How stale the in-memory list may be. @default 1000 ms */
const REFRESH_MS = 1000;

export type RevocationEvent =
  | { auditId: string; expiresAt: Date }
  | { userId: string; projectId?: string; issuedBefore: Date; expiresAt: Date };

interface UserEvent {
  projectId: string | null;
  issuedBefore: number;
}

interface Snapshot {
  auditIds: Set<string>;
  users: Map<string, UserEvent[]>;
  loadedAt: number;
}

export class RevocationList {
  private snapshot: Snapshot | undefined;
  private loading: Promise<Snapshot> | undefined;
  /** Bumped by record(): a load that started before a revocation must not install its older view. */
  private generation = 0;

  constructor(private readonly db: Queryable) {}

  /** True when an event revokes this token. */
  async isRevoked(token: TokenInfo): Promise<boolean> {
    let snap = this.snapshot;
    if (!snap || Date.now() - snap.loadedAt > REFRESH_MS) snap = await this.reload();
    if (snap.auditIds.has(token.auditIds[0])) return true;
    const events = snap.users.get(token.userId);
    if (!events) return false;
    const issued = token.issuedAt.getTime();
    return events.some((e) => issued <= e.issuedBefore && (e.projectId === null || e.projectId === token.project?.id));
  }

  async record(event: RevocationEvent): Promise<void> {
    if ('auditId' in event) {
      await this.db.query('INSERT INTO token_revocations (audit_id, issued_before, expires_at) VALUES ($1, now(), $2)', [event.auditId, event.expiresAt]);
    } else {
      await this.db.query('INSERT INTO token_revocations (user_id, project_id, issued_before, expires_at) VALUES ($1, $2, $3, $4)', [
        event.userId,
        event.projectId ?? null,
        event.issuedBefore,
        event.expiresAt,
      ]);
    }
    await this.db.query("DELETE FROM token_revocations WHERE expires_at < now() - interval '1 hour'");
    // Effective on this replica now, not at the next reload.
    this.generation++;
    this.snapshot = undefined;
    this.loading = undefined;
  }

  private reload(): Promise<Snapshot> {
    // One query serves every request that found the list stale at the same moment.
    if (!this.loading) {
      const loading = this.load().finally(() => {
        if (this.loading === loading) this.loading = undefined;
      });
      this.loading = loading;
    }
    return this.loading;
  }

  private async load(): Promise<Snapshot> {
    const startedAt = Date.now();
    const generation = this.generation;
    const rows = await this.db.query<{ audit_id: string | null; user_id: string | null; project_id: string | null; issued_before: Date | string }>(
      'SELECT audit_id, user_id, project_id, issued_before FROM token_revocations WHERE expires_at > now()',
    );
    const snap: Snapshot = { auditIds: new Set(), users: new Map(), loadedAt: startedAt };
    for (const row of rows) {
      if (row.audit_id) snap.auditIds.add(row.audit_id);
      if (row.user_id) {
        const list = snap.users.get(row.user_id) ?? [];
        list.push({ projectId: row.project_id, issuedBefore: new Date(row.issued_before).getTime() });
        snap.users.set(row.user_id, list);
      }
    }
    if (generation === this.generation) this.snapshot = snap;
    return snap;
  }
}
