// The s3 backend against s3rver (an S3-compatible server, in-process on loopback): the backend
// contract suite, then what only s3 has — the multipart path, aborting a failed upload, upstream
// errors, and the crash-leftover sweep.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../../../../services/core/config';
import { openDatabase, type Database } from '../../../../services/core/db/database';
import { migrate } from '../../../../services/core/db/migrate';
import { CairnError } from '../../../../services/core/errors';
import { createObjectBackend, type ObjectBackend } from '../../../../services/core/objectstore';
import { S3_PART_SIZE } from '../../../../services/core/objectstore/s3';
import { EMULATOR_BUCKET, startS3Emulator, type S3Emulator } from '../../../helpers/s3-emulator';
import { objectStoreSuite } from './objectstore.suite';

jest.setTimeout(120_000);

const none = { set: {}, remove: [] };
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const tempDb = (): Promise<Database> => openDatabase({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-s3-db-')) });

async function failure(p: Promise<unknown>): Promise<CairnError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CairnError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

async function readAll(backend: ObjectBackend, container: string, object: string, range?: { start: number; end: number }): Promise<Buffer> {
  const reader = await backend.openObject('AUTH_t', container, object);
  if (!reader) throw new Error(`${container}/${object} missing`);
  const chunks: Buffer[] = [];
  for await (const c of reader.stream(range)) chunks.push(c as Buffer);
  await reader.close();
  return Buffer.concat(chunks);
}

/** Sets a file's (or directory's) mtime `ms` in the past: s3rver reports it as LastModified / Initiated. */
function backdate(file: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(file, t, t);
}

const HOUR = 60 * 60 * 1000;

describe('object store on s3 (S3 emulator)', () => {
  let emulator: S3Emulator;
  beforeAll(async () => {
    emulator = await startS3Emulator();
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  objectStoreSuite(tempDb, { env: () => emulator.env, stored: () => emulator.keys() });
});

describe('s3 backend specifics (S3 emulator)', () => {
  let emulator: S3Emulator;
  let db: Database;
  let backend: ObjectBackend;
  beforeAll(async () => {
    emulator = await startS3Emulator();
    db = await tempDb();
    await migrate(db);
    backend = createObjectBackend(loadConfig({}, { ...emulator.env, CAIRN_DATA_DIR: os.tmpdir() }), db);
    await backend.putContainer('AUTH_t', 'c', none);
  });
  afterAll(async () => {
    await backend?.close();
    await db?.close();
    await emulator?.stop();
  });

  test('a chunked body over the part size goes up as a multipart upload (S3 emulator)', async () => {
    const data = Buffer.alloc(S3_PART_SIZE + 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251;
    emulator.requests.length = 0;
    const chunks = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    const info = await backend.putObject('AUTH_t', 'c', 'big', Readable.from(chunks), { contentType: 'x', meta: {}, maxBytes: 1 << 30 });
    expect(info).toMatchObject({ bytes: data.length, etag: md5(data) });
    expect(emulator.requests.filter((r) => r.startsWith('POST') && r.endsWith('?uploads'))).toHaveLength(1);
    expect(emulator.requests.filter((r) => r.startsWith('PUT') && r.includes('uploadId'))).toHaveLength(2);
    expect(emulator.requests.filter((r) => r.startsWith('POST') && r.endsWith('?uploadId'))).toHaveLength(1);
    expect(md5(await readAll(backend, 'c', 'big'))).toBe(md5(data));
    const start = S3_PART_SIZE - 10;
    expect(await readAll(backend, 'c', 'big', { start, end: start + 19 })).toEqual(data.subarray(start, start + 20));
    expect(emulator.uploads()).toEqual([]);
    expect(await emulator.keys()).toHaveLength(1);
    await backend.deleteObject('AUTH_t', 'c', 'big');
    expect(await emulator.keys()).toEqual([]);
  });

  test('a multipart body refused at the end (ETag mismatch, too large) or torn aborts its upload (S3 emulator)', async () => {
    const big = Buffer.alloc(S3_PART_SIZE + 100, 7);
    emulator.requests.length = 0;
    const mismatch = await failure(
      backend.putObject('AUTH_t', 'c', 'm', Readable.from([big]), { contentType: 'x', meta: {}, maxBytes: 1 << 30, expectedEtag: md5(Buffer.from('other')) }),
    );
    expect(mismatch.code).toBe('storage.etag_mismatch');
    const tooLarge = await failure(backend.putObject('AUTH_t', 'c', 'm', Readable.from([big, big]), { contentType: 'x', meta: {}, maxBytes: big.length + 10 }));
    expect(tooLarge.code).toBe('storage.too_large');
    let sent = 0;
    const torn = new Readable({
      read() {
        if (sent++ < 3) this.push(Buffer.alloc(S3_PART_SIZE / 2, 1));
        else setImmediate(() => this.destroy(new Error('connection reset')));
      },
    });
    await expect(backend.putObject('AUTH_t', 'c', 'm', torn, { contentType: 'x', meta: {}, maxBytes: 1 << 30 })).rejects.toThrow('connection reset');
    expect(emulator.requests.filter((r) => r.startsWith('DELETE') && r.endsWith('?uploadId'))).toHaveLength(3);
    expect(emulator.uploads()).toEqual([]);
    expect(await emulator.keys()).toEqual([]);
    expect(await backend.headObject('AUTH_t', 'c', 'm')).toBeUndefined();
    expect(await db.query('SELECT * FROM os_pending_blobs')).toEqual([]);
  });

  test('credentials or bucket the endpoint refuses: 503 naming the setting to check (S3 emulator)', async () => {
    // s3rver checks SigV4 access key ids, not signatures: an unknown key id is what it refuses.
    const wrong = createObjectBackend(loadConfig({}, { ...emulator.env, CAIRN_S3_ACCESS_KEY_ID: 'NOT-A-KEY', CAIRN_DATA_DIR: os.tmpdir() }), db);
    try {
      const err = await failure(wrong.putObject('AUTH_t', 'c', 'x', Readable.from([Buffer.from('x')]), { contentType: 'x', meta: {}, contentLength: 1, maxBytes: 10 }));
      expect(err.code).toBe('storage.upstream_unavailable');
      expect(err.status).toBe(503);
      expect(err.message).toMatch(/InvalidAccessKeyId.*CAIRN_S3_ACCESS_KEY_ID/);
      const bucket = createObjectBackend(loadConfig({}, { ...emulator.env, CAIRN_S3_BUCKET: 'no-such-bucket', CAIRN_DATA_DIR: os.tmpdir() }), db);
      const missing = await failure(bucket.putObject('AUTH_t', 'c', 'x', Readable.from([Buffer.from('x')]), { contentType: 'x', meta: {}, contentLength: 1, maxBytes: 10 }));
      expect(missing.code).toBe('storage.upstream_unavailable');
      expect(missing.message).toMatch(/NoSuchBucket.*CAIRN_S3_BUCKET/);
      await bucket.close();
    } finally {
      await wrong.close();
    }
    expect(await backend.headObject('AUTH_t', 'c', 'x')).toBeUndefined();
  });

  test('endpoint down: storage.upstream_unavailable (503), no object, no pending row (S3 emulator)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const down = createObjectBackend(loadConfig({}, { ...emulator.env, CAIRN_S3_ENDPOINT: `http://127.0.0.1:${port}`, CAIRN_DATA_DIR: os.tmpdir() }), db);
    try {
      const err = await failure(down.putObject('AUTH_t', 'c', 'x', Readable.from([Buffer.from('x')]), { contentType: 'x', meta: {}, contentLength: 1, maxBytes: 10 }));
      expect(err.code).toBe('storage.upstream_unavailable');
      expect(err.status).toBe(503);
      expect(err.message).toMatch(/ECONNREFUSED/);
    } finally {
      await down.close();
    }
    expect(await backend.headObject('AUTH_t', 'c', 'x')).toBeUndefined();
    expect(await db.query('SELECT * FROM os_pending_blobs')).toEqual([]);
  });

  test('the sweep reclaims crash leftovers and never touches live data or a live PUT (S3 emulator)', async () => {
    // Live data: committed objects, one of them with a blob older than the grace period.
    await backend.putObject('AUTH_t', 'c', 'keep-old', Readable.from([Buffer.from('old but live')]), { contentType: 'x', meta: {}, maxBytes: 100 });
    await backend.putObject('AUTH_t', 'c', 'keep-new', Readable.from([Buffer.from('new')]), { contentType: 'x', meta: {}, maxBytes: 100 });
    const [{ file_id: liveKey }] = await db.query<{ file_id: string }>(`SELECT file_id FROM os_objects WHERE name = 'keep-old'`);
    backdate(emulator.objectFile(liveKey), 2 * HOUR);

    // Crash leftovers, created directly as a crashed PUT would have left them:
    // a blob written but never committed (no row, no pending row), old;
    const put = (key: string) => emulator.client.send(new PutObjectCommand({ Bucket: EMULATOR_BUCKET, Key: key, Body: Buffer.from('orphan') }));
    await put('objects/00000000000000000000000000000001');
    backdate(emulator.objectFile('objects/00000000000000000000000000000001'), 2 * HOUR);
    // the same but recent (its PUT may be about to commit: left alone);
    await put('objects/00000000000000000000000000000002');
    // a pending row whose writer stopped heartbeating, with its blob and its multipart upload;
    const old = (Date.now() - 2 * HOUR) * 1000;
    await put('objects/00000000000000000000000000000003');
    const dead = await emulator.client.send(new CreateMultipartUploadCommand({ Bucket: EMULATOR_BUCKET, Key: 'objects/00000000000000000000000000000004' }));
    await db.query('INSERT INTO os_pending_blobs (blob_key, upload_id, started_us, touched_us) VALUES ($1, null, $3, $3), ($2, $4, $3, $3)', [
      'objects/00000000000000000000000000000003',
      'objects/00000000000000000000000000000004',
      old,
      dead.UploadId,
    ]);
    // a multipart upload started just before a crash that recorded nothing, old;
    const unrecorded = await emulator.client.send(new CreateMultipartUploadCommand({ Bucket: EMULATOR_BUCKET, Key: 'objects/00000000000000000000000000000005' }));
    await emulator.client.send(
      new UploadPartCommand({ Bucket: EMULATOR_BUCKET, Key: 'objects/00000000000000000000000000000005', UploadId: unrecorded.UploadId, PartNumber: 1, Body: Buffer.from('p') }),
    );
    backdate(emulator.uploads().find((u) => u.uploadId === unrecorded.UploadId)!.dir, 2 * HOUR);
    // and something outside the backend's prefix, which is not the sweeper's business.
    await put('operator/notes.txt');
    backdate(emulator.objectFile('operator/notes.txt'), 2 * HOUR);

    // A live PUT, mid-body: its multipart upload exists and is (made to look) old.
    const body = new Readable({ read() {} });
    const live = backend.putObject('AUTH_t', 'c', 'live', body, { contentType: 'x', meta: {}, maxBytes: 1 << 30 });
    body.push(Buffer.alloc(S3_PART_SIZE + 1, 3));
    for (let i = 0; i < 200 && emulator.uploads().filter((u) => u.uploadId !== unrecorded.UploadId && u.uploadId !== dead.UploadId).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const liveUpload = emulator.uploads().find((u) => u.uploadId !== unrecorded.UploadId && u.uploadId !== dead.UploadId)!;
    expect(liveUpload).toBeDefined();
    backdate(liveUpload.dir, 2 * HOUR);

    const report = await backend.sweep!({ graceMs: HOUR });
    expect(report.removed.sort()).toEqual(['objects/00000000000000000000000000000001', 'objects/00000000000000000000000000000003', 'objects/00000000000000000000000000000004']);
    expect(report.abortedUploads.sort()).toEqual([dead.UploadId, unrecorded.UploadId].sort());
    expect(emulator.uploads().map((u) => u.uploadId)).toEqual([liveUpload.uploadId]);
    const named = (await db.query<{ file_id: string }>('SELECT file_id FROM os_objects')).map((r) => r.file_id);
    expect(named).toContain(liveKey);
    expect((await emulator.keys()).sort()).toEqual([...named, 'objects/00000000000000000000000000000002', 'operator/notes.txt'].sort());

    body.push(Buffer.from('tail'));
    body.push(null);
    expect((await live).bytes).toBe(S3_PART_SIZE + 5);
    expect((await readAll(backend, 'c', 'keep-old')).toString()).toBe('old but live');
    expect((await readAll(backend, 'c', 'keep-new')).toString()).toBe('new');
    expect((await readAll(backend, 'c', 'live', { start: S3_PART_SIZE + 1, end: S3_PART_SIZE + 4 })).toString()).toBe('tail');
    expect(await db.query('SELECT * FROM os_pending_blobs')).toEqual([]);
  });

  test('a PUT whose pending row a sweep reclaimed cannot commit (S3 emulator)', async () => {
    const before = (await emulator.keys()).sort();
    const body = new Readable({ read() {} });
    const pending = backend.putObject('AUTH_t', 'c', 'slow', body, { contentType: 'x', meta: {}, maxBytes: 1000 });
    body.push(Buffer.from('ab'));
    for (let i = 0; i < 200 && (await db.query('SELECT 1 FROM os_pending_blobs')).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    // As if the writer had stopped heartbeating for longer than the grace period.
    await db.query('UPDATE os_pending_blobs SET touched_us = 0');
    await backend.sweep!({ graceMs: HOUR });
    body.push(null);
    const err = await failure(pending);
    expect(err.code).toBe('storage.upstream_unavailable');
    expect(await backend.headObject('AUTH_t', 'c', 'slow')).toBeUndefined();
    expect((await emulator.keys()).sort()).toEqual(before);
  });
});

describe('s3 sweep on a server without ListMultipartUploads (S3 emulator)', () => {
  test('the sweep still reclaims orphan blobs and does not fail (S3 emulator)', async () => {
    const emulator = await startS3Emulator({ listUploads: false });
    const db = await tempDb();
    const backend = createObjectBackend(loadConfig({}, { ...emulator.env, CAIRN_DATA_DIR: os.tmpdir() }), db);
    try {
      await migrate(db);
      const key = 'objects/000000000000000000000000000000aa';
      await emulator.client.send(new PutObjectCommand({ Bucket: EMULATOR_BUCKET, Key: key, Body: Buffer.from('orphan') }));
      backdate(emulator.objectFile(key), 2 * HOUR);
      expect(await backend.sweep!({ graceMs: HOUR })).toEqual({ removed: [key], abortedUploads: [] });
      expect(emulator.requests.some((r) => r.startsWith('GET') && /[?&]uploads(&|$)/.test(r))).toBe(true);
      expect(await emulator.keys()).toEqual([]);
    } finally {
      await backend.close();
      await db.close();
      await emulator.stop();
    }
  });
});
