// The object store's index in the platform database, shared by the backends that keep only bytes
// elsewhere (fs: files, s3: bucket keys): accounts, containers (with counts kept in the same
// transaction as every object write), object rows naming their blob (`fileId`: a file id for fs,
// a bucket key for s3), and the pending blobs of PUTs in flight (s3). All SQL of the object store
// is here; the backends only move bytes.
import { Batcher } from '../batcher';
import { type Database, type Queryable, statement } from '../db/database';
import { CairnError } from '../errors';
import type {
  AccountInfo,
  ContainerInfo,
  ContainerSummary,
  ListEntry,
  ListOptions,
  Metadata,
  MetadataUpdate,
  ObjectInfo,
  ObjectSummary,
} from './backend';
import { type Bound, walkListing } from './listing';
import { type RowCache, rowCacheFor, rowKey } from './row-cache';
import { nowMicros } from './timestamp';

// The hot statements of object GET/HEAD, PUT and DELETE, kept prepared (db/database.ts).
/** An account's metadata alone (every storlet call reads it). */
const ACCOUNT_META = statement('os_account_meta', 'SELECT meta FROM os_accounts WHERE name = $1');

/** An account with its totals (account HEAD and GET). */
const HEAD_ACCOUNT = statement(
  'os_head_account',
  `SELECT a.created_us, a.meta, c.n, c.objects, c.bytes FROM os_accounts a,
     LATERAL (SELECT count(*) AS n, coalesce(sum(object_count), 0) AS objects, coalesce(sum(bytes_used), 0) AS bytes
              FROM os_containers WHERE account = a.name) c
   WHERE a.name = $1`,
);

const HEAD_CONTAINER = statement(
  'os_head_container',
  'SELECT object_count, bytes_used, created_us, modified_us, meta FROM os_containers WHERE account = $1 AND name = $2',
);

const GET_OBJECT = statement(
  'os_get_object',
  `SELECT o.name, o.bytes, o.etag, o.content_type, o.modified_us, o.meta, o.file_id
   FROM os_containers c JOIN os_objects o ON o.container_id = c.id
   WHERE c.account = $1 AND c.name = $2 AND o.name = $3`,
);

const PROBE_OBJECT = statement(
  'os_probe_object',
  `SELECT EXISTS (SELECT 1 FROM os_objects o WHERE o.container_id = c.id AND o.name = $3) AS has_object
   FROM os_containers c WHERE c.account = $1 AND c.name = $2`,
);

/** An object write with its container's counts in one statement (PGlite only: see commitAlone). */
const PUT_OBJECT_ALONE = statement(
  'os_put_object_alone',
  `WITH c AS (SELECT id FROM os_containers WHERE account = $1 AND name = $2),
   old AS (SELECT o.bytes, o.file_id FROM os_objects o, c WHERE o.container_id = c.id AND o.name = $3),
   up AS (
     INSERT INTO os_objects (container_id, name, bytes, etag, content_type, modified_us, meta, file_id)
     SELECT c.id, $3, $4, $5, $6, $7, $8::jsonb, $9 FROM c
     ON CONFLICT (container_id, name) DO UPDATE SET bytes = EXCLUDED.bytes, etag = EXCLUDED.etag,
       content_type = EXCLUDED.content_type, modified_us = EXCLUDED.modified_us, meta = EXCLUDED.meta, file_id = EXCLUDED.file_id
     RETURNING 1),
   counts AS (
     UPDATE os_containers SET object_count = object_count + (CASE WHEN EXISTS (SELECT 1 FROM old) THEN 0 ELSE 1 END),
       bytes_used = bytes_used + $4 - coalesce((SELECT bytes FROM old), 0)
     WHERE id = (SELECT id FROM c) RETURNING 1)
   SELECT EXISTS (SELECT 1 FROM c) AS found, (SELECT file_id FROM old) AS replaced`,
);

/** An object delete with its container's counts in one statement (PGlite only, as above). */
const DELETE_OBJECT_ALONE = statement(
  'os_delete_object_alone',
  `WITH gone AS (
     DELETE FROM os_objects o USING os_containers c
     WHERE c.account = $1 AND c.name = $2 AND o.container_id = c.id AND o.name = $3
     RETURNING o.container_id, o.bytes, o.file_id),
   counts AS (
     UPDATE os_containers SET object_count = object_count - 1, bytes_used = bytes_used - g.bytes
     FROM gone g WHERE id = g.container_id RETURNING 1)
   SELECT file_id FROM gone`,
);

interface ObjectRow {
  name: string;
  bytes: string | number;
  etag: string;
  content_type: string;
  modified_us: string | number;
  meta?: Metadata | string;
  file_id?: string;
}

/** An object row plus the blob (data file or bucket key) it names. */
export interface StoredObject extends ObjectInfo {
  fileId: string;
}

function parseMeta(raw: Metadata | string | null | undefined): Metadata {
  if (!raw) return {};
  return typeof raw === 'string' ? (JSON.parse(raw) as Metadata) : raw;
}

function toObject(r: ObjectRow): ObjectSummary {
  return { name: r.name, bytes: Number(r.bytes), etag: r.etag, contentType: r.content_type, modifiedAt: Number(r.modified_us) };
}

function toStored(r: ObjectRow): StoredObject {
  return { ...toObject(r), meta: parseMeta(r.meta), fileId: r.file_id as string };
}

/** `name` conditions for one listing range; `first` is the number of the first free parameter. */
function rangeSql(range: { lower?: Bound; upper?: Bound }, first: number): { sql: string; params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  if (range.lower) {
    params.push(range.lower.value);
    parts.push(`name ${range.lower.inclusive ? '>=' : '>'} $${first + params.length - 1}`);
  }
  if (range.upper) {
    params.push(range.upper.value);
    parts.push(`name ${range.upper.inclusive ? '<=' : '<'} $${first + params.length - 1}`);
  }
  return { sql: parts.map((p) => ` AND ${p}`).join(''), params };
}

const META_MERGE = `(meta || $META_SET::jsonb) - $META_REMOVE::text[]`;

function metaMergeSql(setParam: number, removeParam: number): string {
  return META_MERGE.replace('$META_SET', `$${setParam}`).replace('$META_REMOVE', `$${removeParam}`);
}

/** One object PUT waiting for its group commit. */
interface CommitItem {
  account: string;
  container: string;
  obj: StoredObject;
  ifNoneMatchAny: boolean;
  pending: boolean;
}

/** One object DELETE waiting for its group commit. */
interface DeleteItem {
  account: string;
  container: string;
  name: string;
}

/** Per item of a group commit: its own refusal does not fail the others. */
type Outcome<R> = { ok: R } | { error: CairnError };

function settle<R>(outcome: Outcome<R>): R {
  if ('error' in outcome) throw outcome.error;
  return outcome.ok;
}

export class ObjectIndex {
  /**
   * Object writes of concurrent requests share one transaction (batcher.ts), one multi-row
   * statement per container: measured on PostgreSQL, DELETEs gain about a fifth, PUTs (bound by
   * their file syncs) neither gain nor lose. A lone write is committed at once; each caller still
   * answers only after the transaction holding its row has committed. PGlite's common writes take
   * the single statements instead (commitAlone): batches never form there, since nothing else runs
   * while a statement does, and a one-row batch costs more than the plain statement.
   */
  private readonly commits = new Batcher<CommitItem, Outcome<{ replacedFileId?: string }>>((items) => this.commitBatch(items));
  private readonly deletes = new Batcher<DeleteItem, Outcome<string>>((items) => this.deleteBatch(items));

  /** Object rows of a PGlite database between writes (row-cache.ts); undefined on PostgreSQL. */
  private readonly cache: RowCache | undefined;

  constructor(private readonly db: Database) {
    this.cache = rowCacheFor(db);
  }

  /**
   * Runs a write of one object's row, reported to the cache as it is submitted. `write` must submit
   * its statement before its first await (PGlite then runs it after every earlier submission);
   * when it resolves to the row now stored, that row may be kept. A write that goes through a
   * Batcher is submitted later: it is reported again when done and keeps nothing.
   */
  private writing<T>(account: string, container: string, object: string, write: () => Promise<T>, stored?: (r: T) => StoredObject | undefined): Promise<T> {
    const cache = this.cache;
    if (!cache) return write();
    const key = rowKey(account, container, object);
    const mine = cache.touch(key);
    const ordered = stored !== undefined;
    return write().then(
      (r) => {
        if (!ordered) cache.touch(key);
        else {
          const row = stored(r);
          if (row) cache.keep(key, row, mine, 'write');
        }
        return r;
      },
      (err: unknown) => {
        cache.touch(key);
        throw err;
      },
    );
  }

  /**
   * Locks the containers the items name (in id order, so concurrent batches cannot deadlock) and
   * returns their ids by `account/container`; missing containers are absent.
   */
  private async lockContainers(tx: Queryable, items: { account: string; container: string }[]): Promise<Map<string, string>> {
    const keys = [...new Map(items.map((i) => [`${i.account}/${i.container}`, i])).values()];
    const rows = await tx.query<{ id: string; account: string; name: string }>(
      `SELECT id, account, name FROM os_containers
       WHERE (account, name) IN (SELECT a, n FROM unnest($1::text[], $2::text[]) AS u(a, n))
       ORDER BY id FOR UPDATE`,
      [keys.map((k) => k.account), keys.map((k) => k.container)],
    );
    return new Map(rows.map((r) => [`${r.account}/${r.name}`, String(r.id)]));
  }

  private async ensureAccount(q: Queryable, account: string): Promise<void> {
    await q.query('INSERT INTO os_accounts (name, created_us) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [account, nowMicros()]);
  }

  /** An account's metadata without its totals (an account never used has none). */
  async accountMeta(account: string): Promise<Metadata> {
    const rows = await this.db.execute<{ meta: Metadata }>(ACCOUNT_META, [account]);
    return rows.length ? parseMeta(rows[0].meta) : {};
  }

  async headAccount(account: string): Promise<AccountInfo> {
    type Row = { created_us: string; meta: Metadata; n: string; objects: string; bytes: string };
    let rows = await this.db.execute<Row>(HEAD_ACCOUNT, [account]);
    if (rows.length === 0) {
      await this.ensureAccount(this.db, account);
      rows = await this.db.execute<Row>(HEAD_ACCOUNT, [account]);
    }
    const r = rows[0];
    return {
      name: account,
      containerCount: Number(r.n),
      objectCount: Number(r.objects),
      bytesUsed: Number(r.bytes),
      createdAt: Number(r.created_us),
      meta: parseMeta(r.meta),
    };
  }

  async updateAccount(account: string, update: MetadataUpdate): Promise<void> {
    await this.db.query(
      `INSERT INTO os_accounts AS a (name, created_us, meta) VALUES ($1, $2, $3::jsonb - $4::text[])
       ON CONFLICT (name) DO UPDATE SET meta = (a.meta || $3::jsonb) - $4::text[]`,
      [account, nowMicros(), JSON.stringify(update.set), update.remove],
    );
  }

  async listContainers(account: string, opts: ListOptions): Promise<ListEntry<ContainerSummary>[]> {
    type Row = { name: string; object_count: string; bytes_used: string; modified_us: string };
    return walkListing<ContainerSummary>(
      opts,
      (r) => r.name,
      async (range) => {
        const { sql, params } = rangeSql(range, 3);
        const rows = await this.db.query<Row>(
          `SELECT name, object_count, bytes_used, modified_us FROM os_containers WHERE account = $1${sql}
           ORDER BY name ${range.reverse ? 'DESC' : 'ASC'} LIMIT $2`,
          [account, range.limit, ...params],
        );
        return rows.map((r) => ({ name: r.name, objectCount: Number(r.object_count), bytesUsed: Number(r.bytes_used), modifiedAt: Number(r.modified_us) }));
      },
    );
  }

  async putContainer(account: string, container: string, update: MetadataUpdate): Promise<{ created: boolean }> {
    return this.db.transaction(async (tx) => {
      await this.ensureAccount(tx, account);
      const now = nowMicros();
      const inserted = await tx.query(
        `INSERT INTO os_containers (account, name, created_us, modified_us, meta) VALUES ($1, $2, $3, $3, $4::jsonb - $5::text[])
         ON CONFLICT (account, name) DO NOTHING RETURNING id`,
        [account, container, now, JSON.stringify(update.set), update.remove],
      );
      if (inserted.length > 0) return { created: true };
      await tx.query(`UPDATE os_containers SET modified_us = $3, meta = ${metaMergeSql(4, 5)} WHERE account = $1 AND name = $2`, [
        account,
        container,
        now,
        JSON.stringify(update.set),
        update.remove,
      ]);
      return { created: false };
    });
  }

  async headContainer(account: string, container: string): Promise<ContainerInfo | undefined> {
    const rows = await this.db.execute<{ object_count: string; bytes_used: string; created_us: string; modified_us: string; meta: Metadata }>(HEAD_CONTAINER, [account, container]);
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return {
      name: container,
      objectCount: Number(r.object_count),
      bytesUsed: Number(r.bytes_used),
      createdAt: Number(r.created_us),
      modifiedAt: Number(r.modified_us),
      meta: parseMeta(r.meta),
    };
  }

  async updateContainer(account: string, container: string, update: MetadataUpdate): Promise<void> {
    const rows = await this.db.query(
      `UPDATE os_containers SET modified_us = $3, meta = ${metaMergeSql(4, 5)} WHERE account = $1 AND name = $2 RETURNING id`,
      [account, container, nowMicros(), JSON.stringify(update.set), update.remove],
    );
    if (rows.length === 0) throw new CairnError('storage.container_not_found');
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      // The row lock makes a concurrent object PUT wait, then find the container gone (404).
      const rows = await tx.query<{ id: string; object_count: string }>(
        'SELECT id, object_count FROM os_containers WHERE account = $1 AND name = $2 FOR UPDATE',
        [account, container],
      );
      if (rows.length === 0) throw new CairnError('storage.container_not_found');
      if (Number(rows[0].object_count) > 0) throw new CairnError('storage.container_not_empty');
      await tx.query('DELETE FROM os_containers WHERE id = $1', [rows[0].id]);
    });
  }

  private async containerId(account: string, container: string): Promise<string | undefined> {
    const rows = await this.db.query<{ id: string }>('SELECT id FROM os_containers WHERE account = $1 AND name = $2', [account, container]);
    return rows[0]?.id;
  }

  async listObjects(account: string, container: string, opts: ListOptions): Promise<ListEntry<ObjectSummary>[]> {
    const id = await this.containerId(account, container);
    if (id === undefined) throw new CairnError('storage.container_not_found');
    return walkListing<ObjectSummary>(
      opts,
      (r) => r.name,
      async (range) => {
        const { sql, params } = rangeSql(range, 3);
        const rows = await this.db.query<ObjectRow>(
          `SELECT name, bytes, etag, content_type, modified_us FROM os_objects WHERE container_id = $1${sql}
           ORDER BY name ${range.reverse ? 'DESC' : 'ASC'} LIMIT $2`,
          [id, range.limit, ...params],
        );
        return rows.map(toObject);
      },
    );
  }

  async getObject(account: string, container: string, object: string): Promise<StoredObject | undefined> {
    const key = this.cache && rowKey(account, container, object);
    const hit = key && this.cache!.get(key);
    if (hit) return hit;
    const since = this.cache?.reading() ?? 0;
    const rows = await this.db.execute<ObjectRow>(GET_OBJECT, [account, container, object]);
    if (!rows.length) return undefined;
    const found = toStored(rows[0]);
    if (key) this.cache!.keep(key, found, since, 'read');
    return found;
  }

  /** Whether the container exists and, if so, whether the object does (checks made before a body is read). */
  async probe(account: string, container: string, object: string): Promise<{ container: boolean; object: boolean }> {
    const rows = await this.db.execute<{ has_object: boolean }>(PROBE_OBJECT, [account, container, object]);
    return { container: rows.length > 0, object: rows.length > 0 && rows[0].has_object === true };
  }

  /**
   * Points the object at a completely written data file, in one transaction with the container's
   * counts. Returns the file id of the version it replaced (for the caller to delete).
   */
  async commitObject(
    account: string,
    container: string,
    obj: StoredObject,
    opts: { ifNoneMatchAny?: boolean; pending?: boolean },
  ): Promise<{ replacedFileId?: string }> {
    if (this.db.kind === 'pglite' && !opts.pending && !opts.ifNoneMatchAny) {
      return this.writing(account, container, obj.name, () => this.commitAlone(account, container, obj), () => obj);
    }
    return this.writing(account, container, obj.name, async () =>
      settle(await this.commits.submit({ account, container, obj, ifNoneMatchAny: opts.ifNoneMatchAny === true, pending: opts.pending === true })),
    );
  }

  /**
   * commitObject as one autocommitted statement, for PGlite only: its one connection runs every
   * statement and transaction under one mutex, so nothing can come between this statement's
   * snapshot and its writes, and the lock and transaction of the general path (four round trips
   * through the engine on the api's thread instead of one) buy nothing there.
   */
  private async commitAlone(account: string, container: string, obj: StoredObject): Promise<{ replacedFileId?: string }> {
    const [r] = await this.db.execute<{ found: boolean; replaced: string | null }>(PUT_OBJECT_ALONE, [
      account,
      container,
      obj.name,
      obj.bytes,
      obj.etag,
      obj.contentType,
      obj.modifiedAt,
      JSON.stringify(obj.meta),
      obj.fileId,
    ]);
    if (!r?.found) throw new CairnError('storage.container_not_found');
    return { replacedFileId: r.replaced ?? undefined };
  }

  /**
   * One transaction for a batch of commits, with the outcome of each as if they had run one after
   * the other in submission order. An SQL error fails (and rolls back) the whole batch.
   */
  private commitBatch(items: CommitItem[]): Promise<Outcome<{ replacedFileId?: string }>[]> {
    return this.db.transaction(async (tx) => {
      const out: Outcome<{ replacedFileId?: string }>[] = new Array(items.length);
      const ids = await this.lockContainers(tx, items);
      // The containers' locks are held from here on: every check below sees every committed write.
      const live: number[] = [];
      items.forEach((it, i) => {
        if (ids.has(`${it.account}/${it.container}`)) live.push(i);
        else out[i] = { error: new CairnError('storage.container_not_found') };
      });

      // If-None-Match: * against the rows already there and the earlier items of this batch.
      const guarded = live.filter((i) => items[i].ifNoneMatchAny);
      if (guarded.length) {
        const existing = await tx.query<{ id: string; name: string }>(
          `SELECT o.container_id AS id, o.name FROM os_objects o
           JOIN unnest($1::bigint[], $2::text[]) AS u(id, name) ON o.container_id = u.id AND o.name = u.name`,
          [guarded.map((i) => ids.get(`${items[i].account}/${items[i].container}`)), guarded.map((i) => items[i].obj.name)],
        );
        const taken = new Set(existing.map((r) => `${r.id}/${r.name}`));
        for (const i of live) {
          const key = `${ids.get(`${items[i].account}/${items[i].container}`)}/${items[i].obj.name}`;
          if (items[i].ifNoneMatchAny && taken.has(key)) out[i] = { error: new CairnError('storage.precondition_failed') };
          else taken.add(key);
        }
      }

      // A PUT whose pending row the sweeper took for a crashed one's must not commit: its blob may
      // be gone. The container lock orders this against the sweeper's delete.
      const pending = live.filter((i) => !out[i] && items[i].pending);
      if (pending.length) {
        const kept = await tx.query<{ blob_key: string }>('DELETE FROM os_pending_blobs WHERE blob_key = ANY($1::text[]) RETURNING blob_key', [
          pending.map((i) => items[i].obj.fileId),
        ]);
        const found = new Set(kept.map((r) => r.blob_key));
        for (const i of pending) {
          if (!found.has(items[i].obj.fileId)) out[i] = { error: new CairnError('storage.upstream_unavailable', { reason: 'the upload outlived its pending record; retry' }) };
        }
      }

      // One statement per container and round; a round holds distinct names (ON CONFLICT may touch
      // a row once per statement), so a name written twice in a batch goes to the next round.
      const rounds: { id: string; items: number[] }[] = [];
      const open = new Map<string, { id: string; items: number[]; names: Set<string> }>();
      for (const i of live) {
        if (out[i]) continue;
        const id = ids.get(`${items[i].account}/${items[i].container}`) as string;
        let round = open.get(id);
        if (!round || round.names.has(items[i].obj.name)) {
          round = { id, items: [], names: new Set() };
          open.set(id, round);
          rounds.push(round);
        }
        round.items.push(i);
        round.names.add(items[i].obj.name);
      }
      for (const round of rounds) {
        const objs = round.items.map((i) => items[i].obj);
        // `old` is read in the statement's snapshot, taken after the container lock above, so it
        // sees every committed write to this container (all writers take that lock first).
        const replaced = await tx.query<{ name: string; file_id: string }>(
          `WITH items AS (
             SELECT * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[])
               AS u(name, bytes, etag, content_type, modified_us, meta, file_id)),
           old AS (SELECT o.name, o.bytes, o.file_id FROM os_objects o JOIN items i ON o.container_id = $1 AND o.name = i.name),
           up AS (
             INSERT INTO os_objects (container_id, name, bytes, etag, content_type, modified_us, meta, file_id)
             SELECT $1, name, bytes, etag, content_type, modified_us, meta::jsonb, file_id FROM items
             ON CONFLICT (container_id, name) DO UPDATE SET bytes = EXCLUDED.bytes, etag = EXCLUDED.etag,
               content_type = EXCLUDED.content_type, modified_us = EXCLUDED.modified_us, meta = EXCLUDED.meta, file_id = EXCLUDED.file_id
             RETURNING 1),
           counts AS (
             UPDATE os_containers SET object_count = object_count + (SELECT count(*) FROM items) - (SELECT count(*) FROM old),
               bytes_used = bytes_used + (SELECT coalesce(sum(bytes), 0) FROM items) - (SELECT coalesce(sum(bytes), 0) FROM old)
             WHERE id = $1 RETURNING 1)
           SELECT name, file_id FROM old`,
          [
            round.id,
            objs.map((o) => o.name),
            objs.map((o) => o.bytes),
            objs.map((o) => o.etag),
            objs.map((o) => o.contentType),
            objs.map((o) => o.modifiedAt),
            objs.map((o) => JSON.stringify(o.meta)),
            objs.map((o) => o.fileId),
          ],
        );
        const byName = new Map(replaced.map((r) => [r.name, r.file_id]));
        for (const i of round.items) out[i] = { ok: { replacedFileId: byName.get(items[i].obj.name) } };
      }
      return out;
    });
  }

  async updateObject(account: string, container: string, object: string, change: { meta: Metadata; contentType?: string; keep?: string[] }): Promise<StoredObject> {
    return this.writing(account, container, object, () => this.updateRow(account, container, object, change), (row) => row);
  }

  private async updateRow(account: string, container: string, object: string, change: { meta: Metadata; contentType?: string; keep?: string[] }): Promise<StoredObject> {
    // The kept names are read from the row being updated, so a concurrent PUT cannot mix versions.
    const rows = await this.db.query<ObjectRow>(
      `UPDATE os_objects o SET
         meta = coalesce((SELECT jsonb_object_agg(k, v) FROM jsonb_each(o.meta) AS e(k, v) WHERE k = ANY($7::text[])), '{}'::jsonb) || $4::jsonb,
         modified_us = $5, content_type = coalesce($6, o.content_type)
       FROM os_containers c
       WHERE c.account = $1 AND c.name = $2 AND o.container_id = c.id AND o.name = $3
       RETURNING o.name, o.bytes, o.etag, o.content_type, o.modified_us, o.meta, o.file_id`,
      [account, container, object, JSON.stringify(change.meta), nowMicros(), change.contentType ?? null, change.keep ?? []],
    );
    if (rows.length === 0) throw new CairnError('storage.object_not_found');
    return toStored(rows[0]);
  }

  /** Records a blob a PUT is about to write, before its first byte. */
  async addPending(key: string): Promise<void> {
    const now = nowMicros();
    await this.db.query('INSERT INTO os_pending_blobs (blob_key, started_us, touched_us) VALUES ($1, $2, $2)', [key, now]);
  }

  /** Heartbeat of a live PUT; also names its multipart upload once there is one. */
  async touchPending(key: string, uploadId?: string): Promise<void> {
    await this.db.query('UPDATE os_pending_blobs SET touched_us = $2, upload_id = coalesce($3, upload_id) WHERE blob_key = $1', [key, nowMicros(), uploadId ?? null]);
  }

  /** Forgets a PUT that failed and cleaned up after itself. */
  async dropPending(key: string): Promise<void> {
    await this.db.query('DELETE FROM os_pending_blobs WHERE blob_key = $1', [key]);
  }

  /** Takes the pending rows not touched since `beforeUs` (their writers crashed): returned once, to one sweeper. */
  async claimDeadPending(beforeUs: number): Promise<{ key: string; uploadId?: string }[]> {
    const rows = await this.db.query<{ blob_key: string; upload_id: string | null }>(
      'DELETE FROM os_pending_blobs WHERE touched_us < $1 RETURNING blob_key, upload_id',
      [beforeUs],
    );
    return rows.map((r) => ({ key: r.blob_key, uploadId: r.upload_id ?? undefined }));
  }

  /**
   * The blobs among `keys` that neither an object row nor a live PUT (pending row) names. A blob
   * without either can never gain one: a commit needs its pending row.
   */
  async orphans(keys: string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await this.db.query<{ k: string }>(
      `SELECT k FROM unnest($1::text[]) AS u(k)
       WHERE NOT EXISTS (SELECT 1 FROM os_objects WHERE file_id = u.k)
         AND NOT EXISTS (SELECT 1 FROM os_pending_blobs WHERE blob_key = u.k)`,
      [keys],
    );
    return rows.map((r) => r.k);
  }

  /** Removes the row and fixes the counts; returns the data file to delete afterwards. */
  async deleteObject(account: string, container: string, object: string): Promise<string> {
    return this.writing(account, container, object, () => this.deleteRow(account, container, object), () => undefined);
  }

  private async deleteRow(account: string, container: string, object: string): Promise<string> {
    if (this.db.kind === 'pglite') {
      // One autocommitted statement: see commitAlone for why that is safe on PGlite only.
      const gone = await this.db.execute<{ file_id: string }>(DELETE_OBJECT_ALONE, [account, container, object]);
      if (gone.length === 0) throw new CairnError('storage.object_not_found');
      return gone[0].file_id;
    }
    return settle(await this.deletes.submit({ account, container, name: object }));
  }

  /** One transaction for a batch of deletes; a name deleted twice in a batch is gone for the second. */
  private deleteBatch(items: DeleteItem[]): Promise<Outcome<string>[]> {
    return this.db.transaction(async (tx) => {
      const ids = await this.lockContainers(tx, items);
      const byContainer = new Map<string, Set<string>>();
      for (const it of items) {
        const id = ids.get(`${it.account}/${it.container}`);
        if (id === undefined) continue;
        const names = byContainer.get(id) ?? new Set<string>();
        names.add(it.name);
        byContainer.set(id, names);
      }
      const gone = new Map<string, string>();
      for (const [id, names] of byContainer) {
        const rows = await tx.query<{ name: string; file_id: string }>(
          `WITH gone AS (DELETE FROM os_objects WHERE container_id = $1 AND name = ANY($2::text[]) RETURNING name, bytes, file_id),
           counts AS (
             UPDATE os_containers SET object_count = object_count - (SELECT count(*) FROM gone),
               bytes_used = bytes_used - coalesce((SELECT sum(bytes) FROM gone), 0)
             WHERE id = $1 RETURNING 1)
           SELECT name, file_id FROM gone`,
          [id, [...names]],
        );
        for (const r of rows) gone.set(`${id}/${r.name}`, r.file_id);
      }
      return items.map((it): Outcome<string> => {
        const key = `${ids.get(`${it.account}/${it.container}`)}/${it.name}`;
        const fileId = gone.get(key);
        if (fileId === undefined) return { error: new CairnError('storage.object_not_found') };
        gone.delete(key); // a second delete of the same name in this batch finds it gone
        return { ok: fileId };
      });
    });
  }
}
