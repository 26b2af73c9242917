// The `fs` backend: object bytes in files under `<dataDir>/objects/`, the index in the platform
// database (fs-index.ts). Every PUT writes a new file named by a random id — into a temp file in the
// final directory, renamed, then fsync'd with its directory — and only then points the index row at
// it. So a row never names a missing or partial file; a crash leaves at worst an orphan file, and
// readers of the previous version keep their open file until they finish. Accounts, containers and
// listings are IndexedBackend's (indexed.ts), shared with the s3 backend.
//
// Crash leftovers (`sweep`): temp files not written to for the grace period (a live PUT's temp file
// is written to continuously; if a stalled one loses its temp file, its rename fails and the PUT is
// refused with a 503, nothing breaks), and data files older than the grace period that no row names. A data
// file is renamed into place just before its row commits, so the grace period (an hour) is far
// longer than the one window in which a live PUT's file has no row yet.
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { Database } from '../db/database';
import { CairnError } from '../errors';
import { checkBodyEnd, checkBodySoFar } from './body-checks';
import type { ByteRange, ObjectBackend, ObjectInfo, ObjectReader, PutObjectOptions, SweepReport } from './backend';
import type { StoredObject } from './fs-index';
import { IndexedBackend, publicInfo } from './indexed';
import { OffThreadMd5 } from './md5-worker';
import { nowMicros } from './timestamp';

/** Bytes gathered before one writev: fewer syscalls than one write per socket chunk. */
const WRITE_BATCH_BYTES = 1024 * 1024;

/**
 * Written bytes after which a background `fdatasync` starts, so a large body reaches the disk while
 * the rest streams in and the `fsync` before the commit finds little left to flush.
 */
const FLUSH_AHEAD_BYTES = 8 * 1024 * 1024;

/** Bodies declared at least this large are hashed on a worker thread (md5-worker.ts). */
const OFF_THREAD_MD5_BYTES = 8 * 1024 * 1024;

/** Temp files start with a dot and end in `.tmp`, so an operator's sweep can tell them from data. */
const TEMP_SUFFIX = '.tmp';

/** Names of data files: 16 random bytes in hex. Anything else in the tree is not the sweeper's. */
const FILE_ID = /^[0-9a-f]{32}$/;

/** Data files checked against the index in one query by the sweeper. */
const SWEEP_BATCH = 500;

export class FsBackend extends IndexedBackend implements ObjectBackend {
  readonly kind = 'fs';
  private readonly root: string;
  /**
   * Fan-out directories this process made sure of, each with the promise that its entry in its
   * parent is durable: every PUT into a directory waits for it before its row can commit, also a
   * PUT that did not create the directory but raced the one that did.
   */
  private readonly madeDirs = new Map<string, Promise<void>>();

  constructor(dataDir: string, db: Database) {
    super(db);
    this.root = path.join(dataDir, 'objects');
  }

  /** Data file of a version: two levels of 256-way fan-out keep directories small. */
  private filePath(fileId: string): string {
    return path.join(this.root, fileId.slice(0, 2), fileId.slice(2, 4), fileId);
  }

  async putObject(account: string, container: string, object: string, body: Readable, opts: PutObjectOptions): Promise<ObjectInfo> {
    await this.admitPut(account, container, object, opts);

    const fileId = randomBytes(16).toString('hex');
    const final = this.filePath(fileId);
    const { bytes, etag } = await this.writeFile(final, body, opts);
    const stored: StoredObject = { name: object, bytes, etag, contentType: opts.contentType, modifiedAt: nowMicros(), meta: opts.meta, fileId };
    let replaced: string | undefined;
    try {
      replaced = (await this.index.commitObject(account, container, stored, { ifNoneMatchAny: opts.ifNoneMatchAny })).replacedFileId;
    } catch (err) {
      if (err instanceof CairnError && err.code === 'storage.container_not_found') this.forgetContainer(account, container);
      await fsp.rm(final, { force: true });
      throw err;
    }
    if (replaced) await this.removeFile(replaced);
    return publicInfo(stored);
  }

  /** Streams the body into `final` via a temp file in the same directory; MD5 computed on the way. */
  private async writeFile(final: string, body: Readable, opts: PutObjectOptions): Promise<{ bytes: number; etag: string }> {
    const dir = path.dirname(final);
    let dirDurable = this.madeDirs.get(dir);
    if (!dirDurable) {
      const first = await fsp.mkdir(dir, { recursive: true });
      // A new fan-out directory must itself survive a crash, or the file in it could vanish. Its
      // parents are synced while the body streams in; only the commit has to wait for them.
      dirDurable = (async () => {
        if (first) for (let d = dir; d.length >= first.length; d = path.dirname(d)) await this.syncDir(path.dirname(d));
      })();
      this.madeDirs.set(dir, dirDurable);
      // Marked handled here (it is awaited below); a failed sync is retried by the next PUT.
      dirDurable.catch(() => this.madeDirs.delete(dir));
    }
    const temp = path.join(dir, `.${path.basename(final)}${TEMP_SUFFIX}`);
    let bytes = 0;
    const fh = await fsp.open(temp, 'wx', 0o600);
    // A large body's MD5 runs beside the api thread, one write batch at a time.
    const offThread = opts.contentLength !== undefined && opts.contentLength >= OFF_THREAD_MD5_BYTES ? new OffThreadMd5() : undefined;
    const md5 = offThread ? undefined : createHash('md5');
    let renamed = false;
    try {
      let batch: Buffer[] = [];
      let batchBytes = 0;
      // One write stays in flight while the next batch is received and hashed, so network, MD5 and
      // disk overlap; awaiting it before the next write keeps memory bounded to two batches.
      let inFlight: Promise<unknown> = Promise.resolve();
      // At most one background flush at a time, never awaited by the loop; its error is kept.
      let flushing: Promise<unknown> | undefined;
      let flushError: unknown;
      let unflushed = 0;
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          checkBodySoFar(bytes, opts);
          md5?.update(chunk);
          batch.push(chunk);
          batchBytes += chunk.length;
          if (batchBytes >= WRITE_BATCH_BYTES) {
            await offThread?.update(batch);
            await inFlight;
            inFlight = fh.writev(batch);
            // Marked handled now (a disk error while we wait on the socket must not crash the
            // process as an unhandled rejection); it is still rethrown when awaited below.
            inFlight.catch(() => undefined);
            unflushed += batchBytes;
            batch = [];
            batchBytes = 0;
            if (unflushed >= FLUSH_AHEAD_BYTES && !flushing) {
              unflushed = 0;
              const flush: Promise<unknown> = inFlight
                .then(() => fh.datasync())
                .catch((err: unknown) => void (flushError ??= err))
                .finally(() => {
                  if (flushing === flush) flushing = undefined;
                });
              flushing = flush;
            }
          }
        }
      } finally {
        // Never close the file under a pending write or flush, whatever ended the loop.
        await inFlight.catch(() => undefined);
        await flushing;
      }
      await inFlight;
      if (flushError) throw flushError;
      if (batch.length) await fh.writev(batch);
      await offThread?.update(batch);
      const etag = offThread ? await offThread.digest() : md5!.digest('hex');
      checkBodyEnd(bytes, etag, opts);
      // The index row, not the rename, makes the object visible, so the file's data, its entry in
      // the directory and the directory's own entry need only all be durable before the commit:
      // the file's sync, the rename and the directory's opening run at once, then the directory's
      // sync (a crash before the commit leaves an unnamed file for the sweeper).
      const fileSynced = fh.sync();
      const renamedNow = fsp.rename(temp, final).then(
        () => void (renamed = true),
        (err: NodeJS.ErrnoException) => {
          // The sweeper took the temp file of an upload stalled past the grace period.
          if (err.code === 'ENOENT') throw new CairnError('unavailable', { reason: 'The upload stalled too long; retry.' }, { cause: err });
          throw err;
        },
      );
      const dirSynced = this.syncDir(dir, renamedNow);
      const steps = [fileSynced, renamedNow, dirSynced, dirDurable];
      await Promise.allSettled(steps);
      for (const p of steps) await p;
      // Everything is durable: the commit need not wait for the handle to close.
      void fh.close().catch((err: Error) => console.error(`[objectstore] closing ${final}: ${err.message}`));
      return { bytes, etag };
    } catch (err) {
      offThread?.abandon();
      await fh.close().catch(() => undefined);
      await fsp.rm(renamed ? final : temp, { force: true });
      throw err;
    }
  }

  /**
   * Makes the entries of `dir` durable: opens it at once and syncs it once `after` (a rename into
   * it) has settled, so the opening overlaps that work.
   */
  private async syncDir(dir: string, after?: Promise<unknown>): Promise<void> {
    const d = await fsp.open(dir, 'r');
    try {
      await after;
      await d.sync();
    } finally {
      await d.close();
    }
  }

  private async removeFile(fileId: string): Promise<void> {
    // A failure here leaves an orphan file, never a broken object: log it and carry on. A plain
    // unlink: rm() would lstat first, a second trip through the thread pool on every DELETE.
    await fsp.unlink(this.filePath(fileId)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') console.error(`[objectstore] cannot remove ${fileId}: ${err.message}`);
    });
  }

  async openObject(account: string, container: string, object: string): Promise<ObjectReader | undefined> {
    // A concurrent PUT or DELETE may remove the file between reading the row and opening it; the
    // row read again then names the new version (or none).
    for (let attempt = 0; attempt < 3; attempt++) {
      const stored = await this.index.getObject(account, container, object);
      if (!stored) return undefined;
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(this.filePath(stored.fileId), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const { fileId: _f, ...info } = stored;
      const file = this.filePath(stored.fileId);
      let closed = false;
      return {
        info,
        file: () => ({ path: file, fd: fh.fd }),
        stream: (range?: ByteRange) =>
          fh.createReadStream({ start: range?.start ?? 0, end: range?.end ?? Math.max(0, info.bytes - 1), autoClose: false, highWaterMark: 256 * 1024 }),
        close: async () => {
          if (closed) return;
          closed = true;
          await fh.close();
        },
      };
    }
    throw new CairnError('unavailable', { reason: `Object ${container}/${object} keeps changing; retry.` });
  }

  async deleteObject(account: string, container: string, object: string): Promise<void> {
    const fileId = await this.index.deleteObject(account, container, object);
    await this.removeFile(fileId);
  }

  async sweep(opts: { graceMs: number }): Promise<SweepReport> {
    const cutoff = Date.now() - opts.graceMs;
    const removed: string[] = [];
    const removeIfOld = async (file: string, name: string): Promise<void> => {
      const stat = await fsp.lstat(file).catch(() => undefined);
      if (!stat?.isFile() || stat.mtimeMs >= cutoff) return;
      await fsp.rm(file, { force: true });
      removed.push(name);
    };
    // Names are checked against the index first and only orphans are stat'ed: one query per
    // batch instead of one stat per stored object.
    let candidates: string[] = [];
    const flush = async (): Promise<void> => {
      for (const fileId of await this.index.orphans(candidates)) await removeIfOld(this.filePath(fileId), fileId);
      candidates = [];
    };
    for (const dir of await fanOutDirs(this.root)) {
      for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
        if (name.startsWith('.') && name.endsWith(TEMP_SUFFIX)) {
          await removeIfOld(path.join(dir, name), name);
        } else if (FILE_ID.test(name) && dir === path.dirname(this.filePath(name))) {
          candidates.push(name);
          if (candidates.length >= SWEEP_BATCH) await flush();
        }
      }
    }
    await flush();
    return { removed, abortedUploads: [] };
  }

  async close(): Promise<void> {
    // Nothing held open: the database belongs to the caller.
  }
}

/** The `xx/yy` leaf directories under `root` (none when it does not exist yet). */
async function fanOutDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  const subdirs = async (d: string): Promise<string[]> =>
    (await fsp.readdir(d, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && /^[0-9a-f]{2}$/.test(e.name)).map((e) => path.join(d, e.name));
  for (const top of await subdirs(root)) out.push(...(await subdirs(top)));
  return out;
}
