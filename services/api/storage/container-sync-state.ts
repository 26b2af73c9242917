// The sync pass's memory, in the database so it works on every backend (migration 005): which
// containers to visit, and per container what was pushed (ETag and modification time at the
// source) and which pass last saw it there.
import type { Queryable } from '../../core/db/database';

export interface SyncContainerRow {
  account: string;
  container: string;
  /** The destination the object rows were pushed to; null before the first pass. */
  syncTo: string | null;
}

export interface PushedRow {
  etag: string;
  modifiedUs: number;
}

export class SyncState {
  constructor(private readonly db: Queryable) {}

  async containers(): Promise<SyncContainerRow[]> {
    const rows = await this.db.query<{ account: string; container: string; sync_to: string | null }>(
      'SELECT account, container, sync_to FROM os_sync_containers ORDER BY account, container',
    );
    return rows.map((r) => ({ account: r.account, container: r.container, syncTo: r.sync_to }));
  }

  /** Takes the container for `leaseMs` unless another process holds it; false when it does. */
  async claim(account: string, container: string, nowUs: number, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE os_sync_containers SET lease_until_us = $3 WHERE account = $1 AND container = $2 AND lease_until_us < $4 RETURNING 1 AS one',
      [account, container, nowUs + leaseMs * 1000, nowUs],
    );
    return rows.length === 1;
  }

  async release(account: string, container: string): Promise<void> {
    await this.db.query('UPDATE os_sync_containers SET lease_until_us = 0 WHERE account = $1 AND container = $2', [account, container]);
  }

  /** The container is gone: forget it and what was pushed from it. */
  async forget(account: string, container: string): Promise<void> {
    await this.db.query('DELETE FROM os_sync_objects WHERE account = $1 AND container = $2', [account, container]);
    await this.db.query('DELETE FROM os_sync_containers WHERE account = $1 AND container = $2', [account, container]);
  }

  /** A new destination: what went to the old one says nothing about it. */
  async retarget(account: string, container: string, syncTo: string): Promise<void> {
    await this.db.query('DELETE FROM os_sync_objects WHERE account = $1 AND container = $2', [account, container]);
    await this.db.query('UPDATE os_sync_containers SET sync_to = $3 WHERE account = $1 AND container = $2', [account, container, syncTo]);
  }

  /** The pushed rows of these names, and marks them seen by `pass`. */
  async seen(account: string, container: string, names: string[], pass: number): Promise<Map<string, PushedRow>> {
    const rows = await this.db.query<{ name: string; etag: string; modified_us: string | number }>(
      'UPDATE os_sync_objects SET seen_pass = $4 WHERE account = $1 AND container = $2 AND name = ANY($3::text[]) RETURNING name, etag, modified_us',
      [account, container, names, pass],
    );
    return new Map(rows.map((r) => [r.name, { etag: r.etag, modifiedUs: Number(r.modified_us) }]));
  }

  async pushed(account: string, container: string, name: string, row: PushedRow, pass: number): Promise<void> {
    await this.db.query(
      `INSERT INTO os_sync_objects (account, container, name, etag, modified_us, seen_pass) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account, container, name) DO UPDATE SET etag = EXCLUDED.etag, modified_us = EXCLUDED.modified_us, seen_pass = EXCLUDED.seen_pass`,
      [account, container, name, row.etag, row.modifiedUs, pass],
    );
  }

  /** Pushed names the pass did not see at the source, after `marker`, in name order. */
  async unseen(account: string, container: string, pass: number, marker: string, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ name: string }>(
      'SELECT name FROM os_sync_objects WHERE account = $1 AND container = $2 AND seen_pass <> $3 AND name > $4 ORDER BY name LIMIT $5',
      [account, container, pass, marker, limit],
    );
    return rows.map((r) => r.name);
  }

  async dropped(account: string, container: string, name: string): Promise<void> {
    await this.db.query('DELETE FROM os_sync_objects WHERE account = $1 AND container = $2 AND name = $3', [account, container, name]);
  }
}
