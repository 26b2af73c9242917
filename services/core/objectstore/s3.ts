// The `s3` backend: object bytes in one S3 bucket (AWS or compatible), everything else — accounts,
// containers, metadata, listings — in Cairn's database index exactly as for fs (indexed.ts). S3 has
// no reverse listings, no end_marker and no container metadata, and the index keeps a listing page
// one range scan at a million objects.
//
// Every PUT writes an immutable blob under a fresh key, `objects/<32 hex>`:
// 1. a pending row (os_pending_blobs) is written first and refreshed while the body streams;
// 2. the body streams up: a body that ends within one part (8 MiB) is one PutObject, a longer (or
//    chunked) one a multipart upload with one part in flight while the next fills, so memory stays
//    at two parts; length, maxBytes and MD5 are checked on the way and before the object becomes
//    visible (before PutObject or CompleteMultipartUpload), so a refused or torn body leaves no blob
//    and its multipart upload is aborted;
// 3. the object row commits, deleting the pending row in the same transaction (a PUT whose pending
//    row the sweeper reclaimed cannot commit);
// 4. the replaced blob is deleted — once no reader of this process holds it.
// Readers get ranges with GetObject `Range` on the blob key their row named; since keys are never
// reused, a reader never sees another version's bytes.
//
// Crash leftovers (`sweep`): pending rows not refreshed within the grace period belong to crashed
// writers: their multipart upload is aborted and their blob deleted. Bucket keys under `objects/`
// older than the grace period that neither a row nor a pending PUT names are deleted (such a blob
// can never be committed), and so are multipart uploads under `objects/` older than it with no live
// pending row (crash between starting the upload and recording it).
//
// Errors: credentials or bucket refused, endpoint unreachable, throttled or failing →
// `storage.upstream_unavailable` (503; the message names the setting to check); another 4xx (a
// request S3 will not take) → `storage.upstream_refused` (502).
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { PassThrough, pipeline, Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../config';
import type { Database } from '../db/database';
import { CairnError } from '../errors';
import { checkBodyEnd, checkBodySoFar } from './body-checks';
import type { ByteRange, ObjectBackend, ObjectInfo, ObjectReader, PutObjectOptions, SweepReport } from './backend';
import type { StoredObject } from './fs-index';
import { IndexedBackend, publicInfo } from './indexed';
import { nowMicros } from './timestamp';

type S3Config = Extract<ObjectStoreConfig, { backend: 's3' }>;

/** Prefix of every blob key: the sweeper touches nothing else in the bucket. */
const KEY_PREFIX = 'objects/';
/** Bytes per multipart part (S3's minimum is 5 MiB); bodies up to this are one PutObject. */
export const S3_PART_SIZE = 8 * 1024 * 1024;
/** How often a live PUT refreshes its pending row; far below any sensible grace period. */
const HEARTBEAT_MS = 60_000;
/** Connections kept to the endpoint: each open reader holds one while it streams. */
const MAX_SOCKETS = 256;

export class S3Backend extends IndexedBackend implements ObjectBackend {
  readonly kind = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;
  /** Blob keys open by readers of this process → how many readers. */
  private readonly leases = new Map<string, number>();
  /** Replaced blobs whose deletion waits for their last reader. */
  private readonly doomed = new Set<string>();

  constructor(config: S3Config, db: Database) {
    super(db);
    this.bucket = config.bucket;
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials: config.accessKeyId !== undefined ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey ?? '' } : undefined,
      // Checksums only where S3 demands them: the backend sends Content-MD5 itself, and
      // S3-compatible servers (MinIO of some versions, s3rver) reject the newer SDK's default
      // CRC headers and aws-chunked trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: {
        connectionTimeout: 5_000,
        httpAgent: new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
      },
    });
  }

  async putObject(account: string, container: string, object: string, body: Readable, opts: PutObjectOptions): Promise<ObjectInfo> {
    await this.admitPut(account, container, object, opts);
    const key = `${KEY_PREFIX}${randomBytes(16).toString('hex')}`;
    await this.index.addPending(key);
    const heartbeat = setInterval(() => {
      this.index.touchPending(key).catch((err: Error) => console.error(`[objectstore] s3: heartbeat of ${key}: ${err.message}`));
    }, HEARTBEAT_MS);
    heartbeat.unref();
    // Set once the blob exists and until its row commits: then a definite refusal deletes it.
    let uncommitted = false;
    try {
      const { bytes, etag } = await this.writeBlob(key, body, opts);
      uncommitted = true;
      const stored: StoredObject = { name: object, bytes, etag, contentType: opts.contentType, modifiedAt: nowMicros(), meta: opts.meta, fileId: key };
      const { replacedFileId } = await this.index.commitObject(account, container, stored, { ifNoneMatchAny: opts.ifNoneMatchAny, pending: true });
      uncommitted = false;
      if (replacedFileId) await this.deleteBlob(replacedFileId);
      return publicInfo(stored);
    } catch (err) {
      if (err instanceof CairnError && err.code === 'storage.container_not_found') this.forgetContainer(account, container);
      // A database error may hide a commit that happened: then the blob and the pending row stay,
      // and the sweeper decides once the row is old (a committed PUT has no pending row left).
      const definite = !uncommitted || err instanceof CairnError;
      if (definite) {
        if (uncommitted) await this.removeBlob(key);
        await this.index.dropPending(key).catch(() => undefined);
      }
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Streams `body` to `key`: one PutObject or a multipart upload; nothing visible unless every check passed. */
  private async writeBlob(key: string, body: Readable, opts: PutObjectOptions): Promise<{ bytes: number; etag: string }> {
    const md5 = createHash('md5');
    let bytes = 0;
    let chunks: Buffer[] = [];
    let buffered = 0;
    let upload: MultipartUpload | undefined;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        checkBodySoFar(bytes, opts);
        md5.update(chunk);
        chunks.push(chunk);
        buffered += chunk.length;
        if (buffered >= S3_PART_SIZE) {
          upload ??= await this.startUpload(key);
          await upload.send(Buffer.concat(chunks, buffered));
          chunks = [];
          buffered = 0;
        }
      }
      const etag = md5.digest('hex');
      checkBodyEnd(bytes, etag, opts);
      const rest = Buffer.concat(chunks, buffered);
      if (!upload) {
        await this.call(() =>
          this.client.send(
            new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: rest, ContentLength: rest.length, ContentMD5: base64Md5(rest), ContentType: 'application/octet-stream' }),
          ),
        );
      } else {
        if (rest.length > 0) await upload.send(rest);
        await upload.complete();
      }
      return { bytes, etag };
    } catch (err) {
      // The body's own error (a reset connection) passes through as it is; S3's are mapped already.
      if (upload) await upload.abort();
      throw err;
    }
  }

  private async startUpload(key: string): Promise<MultipartUpload> {
    const created = await this.call(() => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: 'application/octet-stream' })));
    const uploadId = created.UploadId as string;
    await this.index.touchPending(key, uploadId);
    return new MultipartUpload(this.client, this.bucket, key, uploadId);
  }

  /** Deletes a replaced or removed blob now, or when the last reader of this process closes it. */
  private async deleteBlob(key: string): Promise<void> {
    if (this.leases.has(key)) this.doomed.add(key);
    else await this.removeBlob(key);
  }

  private async removeBlob(key: string): Promise<void> {
    // A failure leaves an orphan blob (no row, no pending row) for the sweeper, never a broken object.
    await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))).catch((err: Error) =>
      console.error(`[objectstore] s3: cannot delete ${key}: ${err.message}`),
    );
  }

  private release(key: string): void {
    const n = (this.leases.get(key) ?? 1) - 1;
    if (n > 0) {
      this.leases.set(key, n);
      return;
    }
    this.leases.delete(key);
    if (this.doomed.delete(key)) void this.removeBlob(key);
  }

  async openObject(account: string, container: string, object: string): Promise<ObjectReader | undefined> {
    const stored = await this.index.getObject(account, container, object);
    if (!stored) return undefined;
    const key = stored.fileId;
    this.leases.set(key, (this.leases.get(key) ?? 0) + 1);
    const info = publicInfo(stored);
    const active = new Set<{ out: PassThrough; abort: AbortController }>();
    let closed = false;
    return {
      info,
      stream: (range?: ByteRange) => {
        if (info.bytes === 0 || closed) return Readable.from([]);
        const out = new PassThrough({ highWaterMark: 256 * 1024 });
        const handle = { out, abort: new AbortController() };
        active.add(handle);
        out.on('close', () => active.delete(handle));
        const whole = !range || (range.start === 0 && range.end >= info.bytes - 1);
        this.client
          .send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: whole ? undefined : `bytes=${range.start}-${range.end}` }), {
            abortSignal: handle.abort.signal,
          })
          .then(
            (res) => pipeline(res.Body as Readable, out, () => undefined),
            (err: unknown) => out.destroy(toCairnError(err)),
          );
        return out;
      },
      close: async () => {
        if (closed) return;
        closed = true;
        for (const h of active) {
          h.abort.abort();
          h.out.destroy();
        }
        this.release(key);
      },
    };
  }

  async deleteObject(account: string, container: string, object: string): Promise<void> {
    const key = await this.index.deleteObject(account, container, object);
    await this.deleteBlob(key);
  }

  async sweep(opts: { graceMs: number }): Promise<SweepReport> {
    const cutoffMs = Date.now() - opts.graceMs;
    const removed: string[] = [];
    const abortedUploads: string[] = [];
    // 1. Writers that stopped refreshing their pending row crashed (or lost the database): their
    //    row is taken (so they cannot commit), their upload aborted and their blob deleted.
    for (const dead of await this.index.claimDeadPending(cutoffMs * 1000)) {
      if (dead.uploadId && (await this.abortUpload(dead.key, dead.uploadId))) abortedUploads.push(dead.uploadId);
      await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: dead.key })));
      removed.push(dead.key);
    }
    // 2. Blobs no row and no pending PUT names: deleted, replaced-but-not-deleted, or a crashed PUT.
    let token: string | undefined;
    do {
      const page = await this.call(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: KEY_PREFIX, ContinuationToken: token })));
      const old = (page.Contents ?? []).filter((o) => o.Key && o.LastModified && o.LastModified.getTime() < cutoffMs).map((o) => o.Key as string);
      for (const key of await this.index.orphans(old)) {
        if (this.leases.has(key)) continue;
        await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
        removed.push(key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // 3. Multipart uploads started by a writer that crashed before recording them. A server without
    //    ListMultipartUploads (some S3-compatible ones) leaves these to a bucket lifecycle rule.
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: KEY_PREFIX, KeyMarker: keyMarker, UploadIdMarker: idMarker })),
      ).catch((err: Error) => {
        if (errorName(err.cause) === 'NotImplemented') return undefined;
        throw err;
      });
      if (!page) break;
      const old = (page.Uploads ?? []).filter((u) => u.Key && u.UploadId && u.Initiated && u.Initiated.getTime() < cutoffMs);
      const unclaimed = new Set(await this.index.orphans([...new Set(old.map((u) => u.Key as string))]));
      for (const u of old) {
        if (unclaimed.has(u.Key as string) && (await this.abortUpload(u.Key as string, u.UploadId as string))) abortedUploads.push(u.UploadId as string);
      }
      const more = page.IsTruncated === true;
      keyMarker = more ? page.NextKeyMarker : undefined;
      idMarker = more ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return { removed, abortedUploads };
  }

  /** False when the upload was already gone. */
  private async abortUpload(key: string, uploadId: string): Promise<boolean> {
    try {
      await this.call(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })));
      return true;
    } catch (err) {
      if (errorName(err) === 'NoSuchUpload') return false;
      throw err;
    }
  }

  /** One S3 call, its failure as a CairnError. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw toCairnError(err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** A multipart upload with at most one part in flight while the caller fills the next. */
class MultipartUpload {
  private readonly parts: CompletedPart[] = [];
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly uploadId: string,
  ) {}

  /** Waits for the previous part, then starts this one. */
  async send(part: Buffer): Promise<void> {
    await this.inFlight;
    const PartNumber = this.parts.length + 1;
    this.parts.push({ PartNumber });
    this.inFlight = this.client
      .send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber, Body: part, ContentLength: part.length, ContentMD5: base64Md5(part) }))
      .then(
        (res) => {
          this.parts[PartNumber - 1].ETag = res.ETag;
        },
        (err: unknown) => {
          throw toCairnError(err);
        },
      );
    // Handled now (a failure while the caller waits on its socket must not become an unhandled
    // rejection); it is still rethrown by the next send or complete.
    this.inFlight.catch(() => undefined);
  }

  async complete(): Promise<void> {
    await this.inFlight;
    await this.client
      .send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }))
      .catch((err: unknown) => {
        throw toCairnError(err);
      });
  }

  /** Best effort: a failed abort leaves the upload to the sweeper (the pending row names it). */
  async abort(): Promise<void> {
    await this.inFlight.catch(() => undefined);
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }))
      .catch((err: Error) => console.error(`[objectstore] s3: cannot abort upload ${this.uploadId} of ${this.key}: ${err.message}`));
  }
}

function base64Md5(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

function errorName(err: unknown): string {
  return (err as { name?: string; Code?: string })?.Code ?? (err as { name?: string })?.name ?? '';
}

const REFUSED_CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** An SDK or network failure as the catalog's code; CairnErrors pass through. */
export function toCairnError(err: unknown): Error {
  if (err instanceof CairnError) return err;
  if (!(err instanceof Error)) return new CairnError('storage.upstream_unavailable', { reason: String(err) }, { cause: err });
  const name = errorName(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (err as NodeJS.ErrnoException).code;
  // A refused credential or a missing bucket is the deployment's fault, not the request's: 503 as
  // for the swift backend, with the setting to fix in the message (it reaches the logs).
  if (REFUSED_CREDENTIALS.has(name) || status === 401 || status === 403) {
    return new CairnError('storage.upstream_unavailable', { reason: `${name || status}: ${err.message} (check CAIRN_S3_ACCESS_KEY_ID and CAIRN_S3_SECRET_ACCESS_KEY)` }, { cause: err });
  }
  if (name === 'NoSuchBucket') return new CairnError('storage.upstream_unavailable', { reason: `NoSuchBucket: ${err.message} (check CAIRN_S3_BUCKET)` }, { cause: err });
  if (name === 'NoSuchKey') return new CairnError('storage.object_not_found', {}, { cause: err });
  if (name === 'AbortError' || err.name === 'AbortError') return err;
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new CairnError('storage.upstream_refused', { reason: `${name || status}: ${err.message}` }, { cause: err });
  }
  const reason = code && NETWORK_CODES.has(code) ? `${code} (is CAIRN_S3_ENDPOINT reachable?)` : `${name || code || 'error'}: ${err.message}`;
  return new CairnError('storage.upstream_unavailable', { reason }, { cause: err });
}
