// The `fs` backend: object bytes in files under `<dataDir>/objects/`, the index in the platform
// database (fs-index.ts). Every PUT writes a new file named by a random id — into a temp file in the
// final directory, fsync'd, then renamed — and only then points the index row at it. So a row never
// names a missing or partial file; a crash leaves at worst an orphan file, and readers of the
// previous version keep their open file until they finish.
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { Database } from '../db/database';
import { CairnError } from '../errors';
import type {
  AccountInfo,
  ByteRange,
  ContainerInfo,
  ContainerSummary,
  ListEntry,
  ListOptions,
  Metadata,
  MetadataUpdate,
  ObjectBackend,
  ObjectInfo,
  ObjectReader,
  ObjectSummary,
  ObjectUpdate,
  PutObjectOptions,
} from './backend';
import { ObjectIndex, type StoredObject } from './fs-index';
import { nowMicros } from './timestamp';

/** Bytes gathered before one writev: fewer syscalls than one write per socket chunk. */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** Containers remembered as existing by one process. */
const KNOWN_CONTAINERS_MAX = 10_000;

/** Temp files start with a dot and end in `.tmp`, so an operator's sweep can tell them from data. */
const TEMP_SUFFIX = '.tmp';

export class FsBackend implements ObjectBackend {
  readonly kind = 'fs';
  private readonly index: ObjectIndex;
  private readonly root: string;
  /** Fan-out directories already created by this process. */
  private readonly madeDirs = new Set<string>();
  /** `account/container` names seen to exist, oldest first (a bounded cache for object PUTs). */
  private readonly knownContainers = new Set<string>();

  private rememberContainer(key: string): void {
    this.knownContainers.delete(key);
    this.knownContainers.add(key);
    if (this.knownContainers.size > KNOWN_CONTAINERS_MAX) this.knownContainers.delete(this.knownContainers.values().next().value as string);
  }

  constructor(dataDir: string, db: Database) {
    this.root = path.join(dataDir, 'objects');
    this.index = new ObjectIndex(db);
  }

  /** Data file of a version: two levels of 256-way fan-out keep directories small. */
  private filePath(fileId: string): string {
    return path.join(this.root, fileId.slice(0, 2), fileId.slice(2, 4), fileId);
  }

  headAccount(account: string): Promise<AccountInfo> {
    return this.index.headAccount(account);
  }

  async updateAccount(account: string, update: MetadataUpdate): Promise<AccountInfo> {
    await this.index.updateAccount(account, update);
    return this.index.headAccount(account);
  }

  listContainers(account: string, opts: ListOptions): Promise<ListEntry<ContainerSummary>[]> {
    return this.index.listContainers(account, opts);
  }

  async putContainer(account: string, container: string, update: MetadataUpdate): Promise<{ created: boolean; info: ContainerInfo }> {
    const { created } = await this.index.putContainer(account, container, update);
    const info = await this.index.headContainer(account, container);
    if (!info) throw new CairnError('storage.container_not_found'); // deleted concurrently
    this.rememberContainer(`${account}/${container}`);
    return { created, info };
  }

  headContainer(account: string, container: string): Promise<ContainerInfo | undefined> {
    return this.index.headContainer(account, container);
  }

  async updateContainer(account: string, container: string, update: MetadataUpdate): Promise<ContainerInfo> {
    await this.index.updateContainer(account, container, update);
    const info = await this.index.headContainer(account, container);
    if (!info) throw new CairnError('storage.container_not_found');
    return info;
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    this.knownContainers.delete(`${account}/${container}`);
    await this.index.deleteContainer(account, container);
  }

  listObjects(account: string, container: string, opts: ListOptions): Promise<ListEntry<ObjectSummary>[]> {
    return this.index.listObjects(account, container, opts);
  }

  async putObject(account: string, container: string, object: string, body: Readable, opts: PutObjectOptions): Promise<ObjectInfo> {
    if (opts.contentLength !== undefined && opts.contentLength > opts.maxBytes) throw new CairnError('storage.too_large');
    // Refuse before reading a byte when the answer is already known. A container seen recently is
    // trusted without a query: the commit re-checks it under a lock, so a stale entry (container
    // deleted through another api replica) only costs the upload, never consistency.
    const containerKey = `${account}/${container}`;
    if (opts.ifNoneMatchAny || !this.knownContainers.has(containerKey)) {
      const probe = await this.index.probe(account, container, object);
      if (!probe.container) throw new CairnError('storage.container_not_found');
      if (opts.ifNoneMatchAny && probe.object) throw new CairnError('storage.precondition_failed');
      this.rememberContainer(containerKey);
    }

    const fileId = randomBytes(16).toString('hex');
    const final = this.filePath(fileId);
    const { bytes, etag } = await this.writeFile(final, body, opts);
    const stored: StoredObject = { name: object, bytes, etag, contentType: opts.contentType, modifiedAt: nowMicros(), meta: opts.meta, fileId };
    let replaced: string | undefined;
    try {
      replaced = (await this.index.commitObject(account, container, stored, { ifNoneMatchAny: opts.ifNoneMatchAny })).replacedFileId;
    } catch (err) {
      if (err instanceof CairnError && err.code === 'storage.container_not_found') this.knownContainers.delete(containerKey);
      await fsp.rm(final, { force: true });
      throw err;
    }
    if (replaced) await this.removeFile(replaced);
    const { fileId: _f, ...info } = stored;
    return info;
  }

  /** Streams the body into `final` via a temp file in the same directory; MD5 computed on the way. */
  private async writeFile(final: string, body: Readable, opts: PutObjectOptions): Promise<{ bytes: number; etag: string }> {
    const dir = path.dirname(final);
    if (!this.madeDirs.has(dir)) {
      const first = await fsp.mkdir(dir, { recursive: true });
      // A new fan-out directory must itself survive a crash, or the file in it could vanish.
      if (first) for (let d = dir; d.length >= first.length; d = path.dirname(d)) await this.syncDir(path.dirname(d));
      this.madeDirs.add(dir);
    }
    const temp = path.join(dir, `.${path.basename(final)}${TEMP_SUFFIX}`);
    const md5 = createHash('md5');
    let bytes = 0;
    const fh = await fsp.open(temp, 'wx', 0o600);
    let renamed = false;
    try {
      let batch: Buffer[] = [];
      let batchBytes = 0;
      // One write stays in flight while the next batch is received and hashed, so network, MD5 and
      // disk overlap; awaiting it before the next write keeps memory bounded to two batches.
      let inFlight: Promise<unknown> = Promise.resolve();
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (bytes > opts.maxBytes || (opts.contentLength !== undefined && bytes > opts.contentLength)) {
            throw new CairnError(bytes > opts.maxBytes ? 'storage.too_large' : 'storage.bad_content_length');
          }
          md5.update(chunk);
          batch.push(chunk);
          batchBytes += chunk.length;
          if (batchBytes >= WRITE_BATCH_BYTES) {
            await inFlight;
            inFlight = fh.writev(batch);
            // Marked handled now (a disk error while we wait on the socket must not crash the
            // process as an unhandled rejection); it is still rethrown when awaited below.
            inFlight.catch(() => undefined);
            batch = [];
            batchBytes = 0;
          }
        }
      } finally {
        // Never close the file under a pending write, whatever ended the loop.
        await inFlight.catch(() => undefined);
      }
      await inFlight;
      if (batch.length) await fh.writev(batch);
      if (opts.contentLength !== undefined && bytes !== opts.contentLength) throw new CairnError('storage.incomplete_body');
      const etag = md5.digest('hex');
      if (opts.expectedEtag !== undefined && opts.expectedEtag.toLowerCase() !== etag) throw new CairnError('storage.etag_mismatch');
      await fh.sync();
      await fh.close();
      await fsp.rename(temp, final);
      renamed = true;
      await this.syncDir(dir);
      return { bytes, etag };
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fsp.rm(renamed ? final : temp, { force: true });
      throw err;
    }
  }

  /** Makes the rename durable before the index row that depends on it is written. */
  private async syncDir(dir: string): Promise<void> {
    const d = await fsp.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  private async removeFile(fileId: string): Promise<void> {
    // A failure here leaves an orphan file, never a broken object: log it and carry on.
    await fsp.rm(this.filePath(fileId), { force: true }).catch((err: Error) => console.error(`[objectstore] cannot remove ${fileId}: ${err.message}`));
  }

  async headObject(account: string, container: string, object: string): Promise<ObjectInfo | undefined> {
    const stored = await this.index.getObject(account, container, object);
    if (!stored) return undefined;
    const { fileId: _f, ...info } = stored;
    return info;
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
      let closed = false;
      return {
        info,
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

  async updateObject(account: string, container: string, object: string, change: ObjectUpdate): Promise<ObjectInfo> {
    const { fileId: _f, ...info } = await this.index.updateObject(account, container, object, change);
    return info;
  }

  async deleteObject(account: string, container: string, object: string): Promise<void> {
    const fileId = await this.index.deleteObject(account, container, object);
    await this.removeFile(fileId);
  }

  async close(): Promise<void> {
    // Nothing held open: the database belongs to the caller.
  }
}
