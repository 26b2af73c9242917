// Object rows of an embedded PGlite, kept in memory. PGlite belongs to one process and runs its
// statements one at a time in the order they were submitted, and every statement that writes an
// object row goes through ObjectIndex, which reports it here (`touch`) when it submits it. So:
// - a read's row may be kept if no write of that row was submitted after the read was (the read
//   ran after every earlier one, so its row is current until a later write);
// - a write's own row may be kept when it ends if no later write of that row was submitted.
// A PostgreSQL server may have other writers and gets no cache.
import type { Database } from '../db/database';
import type { StoredObject } from './fs-index';

/** Rows kept, and keys whose last write is remembered; the least recently used go first. */
const MAX_ROWS = 20_000;
const MAX_TOUCHES = 20_000;

export class RowCache {
  private readonly rows = new Map<string, StoredObject>();
  /** Per key, the sequence number of the last write submitted. */
  private readonly touches = new Map<string, number>();
  /** Every write whose key was dropped from `touches` has a sequence number at most this. */
  private forgotten = 0;
  private seq = 0;

  get(key: string): StoredObject | undefined {
    const row = this.rows.get(key);
    if (!row) return undefined;
    this.rows.delete(key);
    this.rows.set(key, row);
    return copy(row);
  }

  /** Called as a read is submitted; hand the number back to `keep` with its row. */
  reading(): number {
    return this.seq;
  }

  /** Called as a write of `key` is submitted; hand the number back to `keep` with its row, if any. */
  touch(key: string): number {
    this.rows.delete(key);
    this.touches.delete(key);
    this.touches.set(key, ++this.seq);
    if (this.touches.size > MAX_TOUCHES) {
      const [oldest, at] = this.touches.entries().next().value as [string, number];
      this.touches.delete(oldest);
      this.forgotten = Math.max(this.forgotten, at);
    }
    return this.seq;
  }

  /** Keeps the row a read (submitted at `since` = reading()) or a write (`since` = its touch()) got. */
  keep(key: string, row: StoredObject, since: number, by: 'read' | 'write'): void {
    const last = this.touches.get(key) ?? this.forgotten;
    if (by === 'read' ? last > since : last !== since) return;
    this.rows.delete(key);
    this.rows.set(key, copy(row));
    if (this.rows.size > MAX_ROWS) this.rows.delete(this.rows.keys().next().value as string);
  }
}

/** Callers may change what they get (metadata merges): each gets its own copy. */
function copy(row: StoredObject): StoredObject {
  return { ...row, meta: { ...row.meta } };
}

const caches = new WeakMap<Database, RowCache>();

/** The one cache of a PGlite database (shared by every ObjectIndex on it); none for PostgreSQL. */
export function rowCacheFor(db: Database): RowCache | undefined {
  if (db.kind !== 'pglite') return undefined;
  let cache = caches.get(db);
  if (!cache) {
    cache = new RowCache();
    caches.set(db, cache);
  }
  return cache;
}

export function rowKey(account: string, container: string, object: string): string {
  return `${account}\u0000${container}\u0000${object}`;
}
