// The object store's data layer, one contract for every backend: run on PGlite (fs.test.ts), on a
// real PostgreSQL (fs.pg.test.ts) and against the swift and s3 backends' upstreams, with the
// SystemStore and readObject on top.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { loadConfig } from '../../../../services/core/config';
import type { Database } from '../../../../services/core/db/database';
import { migrate } from '../../../../services/core/db/migrate';
import { CairnError } from '../../../../services/core/errors';
import { createObjectBackend, createSystemStore, readObject, SYSTEM_ACCOUNT, type ObjectBackend } from '../../../../services/core/objectstore';

jest.setTimeout(120_000);

const none = { set: {}, remove: [] };
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');
const put = (b: ObjectBackend, c: string, o: string, data: string | Buffer, extra: Partial<Parameters<ObjectBackend['putObject']>[4]> = {}) =>
  b.putObject('AUTH_t', c, o, Readable.from([Buffer.from(data)]), { contentType: 'text/plain', meta: {}, contentLength: Buffer.byteLength(data), maxBytes: 1 << 30, ...extra });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof CairnError ? err.code : String(err);
  }
}

function files(dataDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : out.push(e.name);
  };
  walk(path.join(dataDir, 'objects'));
  return out;
}

export interface BackendUnderTest {
  /** Configuration selecting the backend (CAIRN_OBJECT_STORE and its settings); read in beforeAll. */
  env?: () => Record<string, string>;
  /**
   * Every stored blob's name in the backend's own storage (files for fs, bucket keys for s3), to
   * prove refused and failed writes leave nothing behind. Unset where the upstream keeps that
   * promise itself (a real Swift): those checks are skipped.
   */
  stored?: (dataDir: string) => Promise<string[]>;
  /**
   * Whether two concurrent DELETEs of one object are told apart (one 204, one 404). Cairn's index
   * decides that for fs and s3; a real Swift resolves concurrent DELETEs by timestamp and may answer
   * both with 204. @default true
   */
  exclusiveDeletes?: boolean;
}

export function objectStoreSuite(openDb: () => Promise<Database>, under: BackendUnderTest = { stored: async (d) => files(d) }): void {
  let db: Database;
  let dataDir: string;
  let backend: ObjectBackend;
  const stored = async (): Promise<string[] | undefined> => under.stored?.(dataDir);
  const count = async (): Promise<number | undefined> => (await stored())?.length;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-os-'));
    db = await openDb();
    await migrate(db);
    backend = createObjectBackend(loadConfig({}, { ...(under.env?.() ?? {}), CAIRN_DATA_DIR: dataDir }), db);
    await backend.putContainer('AUTH_t', 'c', none);
  });
  afterAll(async () => {
    await backend?.close();
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('put, head, open (whole and range), update, delete; counts follow', async () => {
    const info = await put(backend, 'c', 'o1', 'hello world', { meta: { color: 'red' } });
    expect(info).toMatchObject({ name: 'o1', bytes: 11, etag: md5('hello world'), contentType: 'text/plain', meta: { color: 'red' } });
    expect(await backend.headObject('AUTH_t', 'c', 'o1')).toEqual(info);
    const reader = await backend.openObject('AUTH_t', 'c', 'o1');
    const chunks: Buffer[] = [];
    for await (const c of reader!.stream({ start: 6, end: 10 })) chunks.push(c as Buffer);
    await reader!.close();
    expect(Buffer.concat(chunks).toString()).toBe('world');
    const updated = await backend.updateObject('AUTH_t', 'c', 'o1', { meta: { size: 'L' } });
    expect(updated.meta).toEqual({ size: 'L' });
    expect(updated.modifiedAt).toBeGreaterThan(info.modifiedAt);
    expect((await backend.headContainer('AUTH_t', 'c'))).toMatchObject({ objectCount: 1, bytesUsed: 11 });
    expect((await backend.headAccount('AUTH_t'))).toMatchObject({ containerCount: 1, objectCount: 1, bytesUsed: 11 });
    await put(backend, 'c', 'o1', 'hi');
    expect((await backend.headContainer('AUTH_t', 'c'))).toMatchObject({ objectCount: 1, bytesUsed: 2 });
    await backend.deleteObject('AUTH_t', 'c', 'o1');
    expect((await backend.headContainer('AUTH_t', 'c'))).toMatchObject({ objectCount: 0, bytesUsed: 0 });
    expect(await codeOf(backend.deleteObject('AUTH_t', 'c', 'o1'))).toBe('storage.object_not_found');
    expect(await backend.openObject('AUTH_t', 'c', 'o1')).toBeUndefined();
  });

  test('refusals: missing container, ETag mismatch, short body, too large, If-None-Match: *', async () => {
    expect(await codeOf(put(backend, 'nope', 'o', 'x'))).toBe('storage.container_not_found');
    expect(await codeOf(put(backend, 'c', 'o', 'x', { expectedEtag: md5('y') }))).toBe('storage.etag_mismatch');
    expect(await codeOf(put(backend, 'c', 'o', 'x', { contentLength: 5 }))).toBe('storage.incomplete_body');
    expect(await codeOf(put(backend, 'c', 'o', 'xxxxxx', { contentLength: undefined, maxBytes: 3 }))).toBe('storage.too_large');
    await put(backend, 'c', 'once', '1');
    expect(await codeOf(put(backend, 'c', 'once', '2', { ifNoneMatchAny: true }))).toBe('storage.precondition_failed');
    expect(await backend.headObject('AUTH_t', 'c', 'o')).toBeUndefined();
    expect(((await stored()) ?? []).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('a body stream that fails half-way leaves no object and no file', async () => {
    const before = await count();
    let sent = 0;
    const failing = new Readable({
      read() {
        // Two chunks (more than one write batch is not needed), then the connection "resets".
        if (sent++ < 2) this.push(Buffer.alloc(64 * 1024, 1));
        else setImmediate(() => this.destroy(new Error('connection reset')));
      },
    });
    const err = await backend
      .putObject('AUTH_t', 'c', 'torn', failing, { contentType: 'x', meta: {}, contentLength: 1 << 20, maxBytes: 1 << 30 })
      .then(() => 'stored', (e: Error) => e.message);
    expect(err).toBe('connection reset');
    expect(await backend.headObject('AUTH_t', 'c', 'torn')).toBeUndefined();
    expect(await count()).toBe(before);
  });

  test('a body of many MiB (flushed to disk while it streams in) is stored whole, or not at all when it fails late', async () => {
    const chunk = (i: number): Buffer => Buffer.alloc(1 << 20, i);
    const whole = Buffer.concat(Array.from({ length: 20 }, (_, i) => chunk(i)));
    let i = 0;
    const body = new Readable({
      read() {
        this.push(i < 20 ? chunk(i++) : null);
      },
    });
    const info = await backend.putObject('AUTH_t', 'c', 'big', body, { contentType: 'x', meta: {}, contentLength: whole.length, maxBytes: 1 << 30 });
    expect(info).toMatchObject({ bytes: whole.length, etag: md5(whole) });
    const reader = await backend.openObject('AUTH_t', 'c', 'big');
    const back: Buffer[] = [];
    for await (const c of reader!.stream()) back.push(c as Buffer);
    await reader!.close();
    expect(md5(Buffer.concat(back))).toBe(md5(whole));

    const before = await count();
    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent < 18) this.push(chunk(sent++));
        else setImmediate(() => this.destroy(new Error('connection reset')));
      },
    });
    const err = await backend
      .putObject('AUTH_t', 'c', 'big-torn', failing, { contentType: 'x', meta: {}, contentLength: 20 << 20, maxBytes: 1 << 30 })
      .then(() => 'stored', (e: Error) => e.message);
    expect(err).toBe('connection reset');
    expect(await backend.headObject('AUTH_t', 'c', 'big-torn')).toBeUndefined();
    expect(await count()).toBe(before);
    await backend.deleteObject('AUTH_t', 'c', 'big');
  });

  test('a container deleted while a body streams in: the PUT fails and its file is removed', async () => {
    await backend.putContainer('AUTH_t', 'gone', none);
    const before = await count();
    const body = new Readable({ read() {} });
    const pending = backend
      .putObject('AUTH_t', 'gone', 'o', body, { contentType: 'x', meta: {}, contentLength: 4, maxBytes: 100 })
      .then(() => 'stored', (e: CairnError) => e.code);
    body.push(Buffer.from('ab'));
    await new Promise((r) => setTimeout(r, 50));
    await backend.deleteContainer('AUTH_t', 'gone');
    body.push(Buffer.from('cd'));
    body.push(null);
    expect(await pending).toBe('storage.container_not_found');
    expect(await count()).toBe(before);
  });

  test('a reader keeps the version it opened while the object is overwritten and deleted', async () => {
    await put(backend, 'c', 'race', 'version one');
    const reader = await backend.openObject('AUTH_t', 'c', 'race');
    await put(backend, 'c', 'race', 'version two!');
    await backend.deleteObject('AUTH_t', 'c', 'race');
    const chunks: Buffer[] = [];
    for await (const c of reader!.stream()) chunks.push(c as Buffer);
    await reader!.close();
    expect(Buffer.concat(chunks).toString()).toBe('version one');
  });

  test('concurrent writers to one container keep the counts exact', async () => {
    await backend.putContainer('AUTH_t', 'busy', none);
    await Promise.all(Array.from({ length: 40 }, (_, i) => backend.putObject('AUTH_t', 'busy', `o${i % 10}`, Readable.from([Buffer.alloc(i + 1)]), { contentType: 'x', meta: {}, contentLength: i + 1, maxBytes: 1000 })));
    const listed = await backend.listObjects('AUTH_t', 'busy', { limit: 100 });
    const sum = listed.reduce((n, e) => n + (e.kind === 'item' ? e.item.bytes : 0), 0);
    expect(await backend.headContainer('AUTH_t', 'busy')).toMatchObject({ objectCount: 10, bytesUsed: sum });
    if (under.stored) expect((await count())!).toBeGreaterThanOrEqual(10);
  });

  test('concurrent overwrites and deletes keep the counts exact and leave no replaced blob behind', async () => {
    await backend.putContainer('AUTH_t', 'churn', none);
    const before = await count();
    const write = (i: number): Promise<unknown> =>
      backend.putObject('AUTH_t', 'churn', `o${i % 5}`, Readable.from([Buffer.alloc(i + 1)]), { contentType: 'x', meta: {}, contentLength: i + 1, maxBytes: 1000 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => write(i)));
    // Each name deleted twice at once: exactly one delete of each finds it (at least one, upstream).
    const deletes = await Promise.all(['o0', 'o0', 'o1', 'o1', 'o2', 'o2'].map((o) => codeOf(backend.deleteObject('AUTH_t', 'churn', o))));
    const found = deletes.filter((c) => c === undefined).length;
    expect(found + deletes.filter((c) => c === 'storage.object_not_found').length).toBe(6);
    if (under.exclusiveDeletes ?? true) expect(found).toBe(3);
    else expect(found).toBeGreaterThanOrEqual(3);
    expect(await codeOf(backend.deleteObject('AUTH_t', 'no-such-container', 'o3'))).toBe('storage.object_not_found');
    const listed = await backend.listObjects('AUTH_t', 'churn', { limit: 100 });
    expect(listed.map((e) => (e.kind === 'item' ? e.item.name : ''))).toEqual(['o3', 'o4']);
    const sum = listed.reduce((n, e) => n + (e.kind === 'item' ? e.item.bytes : 0), 0);
    expect(await backend.headContainer('AUTH_t', 'churn')).toMatchObject({ objectCount: 2, bytesUsed: sum });
    if (under.stored) expect(await count()).toBe(before! + 2);
    await Promise.all(['o3', 'o4'].map((o) => backend.deleteObject('AUTH_t', 'churn', o)));
    await backend.deleteContainer('AUTH_t', 'churn');
  });

  test('containers: create/merge metadata, 409 while not empty, list with markers', async () => {
    expect((await backend.putContainer('AUTH_t', 'm', { set: { a: '1', b: '2' }, remove: [] })).created).toBe(true);
    const again = await backend.putContainer('AUTH_t', 'm', { set: { c: '3' }, remove: ['a'] });
    expect(again.created).toBe(false);
    expect(again.info.meta).toEqual({ b: '2', c: '3' });
    await put(backend, 'm', 'x', 'x');
    expect(await codeOf(backend.deleteContainer('AUTH_t', 'm'))).toBe('storage.container_not_empty');
    await backend.deleteObject('AUTH_t', 'm', 'x');
    await backend.deleteContainer('AUTH_t', 'm');
    expect(await backend.headContainer('AUTH_t', 'm')).toBeUndefined();
    expect(await codeOf(backend.updateContainer('AUTH_t', 'm', none))).toBe('storage.container_not_found');
    expect(await codeOf(backend.listObjects('AUTH_t', 'm', { limit: 1 }))).toBe('storage.container_not_found');
    const acct = await backend.updateAccount('AUTH_t', { set: { k: 'v' }, remove: [] });
    expect(acct.meta).toEqual({ k: 'v' });
    const names = (await backend.listContainers('AUTH_t', { limit: 10, marker: 'b' })).map((e) => (e.kind === 'item' ? e.item.name : e.subdir));
    expect(names).toEqual(['busy', 'c']);
  });

  test('names order by UTF-8 bytes, and prefix listings stay within the prefix', async () => {
    await backend.putContainer('AUTH_t', 'u', none);
    const ns = ['a', 'a\u{1F600}', 'a\uFFFF', 'ab', 'é', 'Z'];
    for (const n of ns) await put(backend, 'u', n, n);
    const listed = (await backend.listObjects('AUTH_t', 'u', { limit: 100 })).map((e) => (e.kind === 'item' ? e.item.name : e.subdir));
    expect(listed).toEqual(['Z', 'a', 'ab', 'é', 'a\uFFFF', 'a\u{1F600}'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    const pre = (await backend.listObjects('AUTH_t', 'u', { limit: 100, prefix: 'a' })).map((e) => (e.kind === 'item' ? e.item.name : e.subdir));
    expect(pre).toEqual(['a', 'ab', 'a\uFFFF', 'a\u{1F600}']);
  });

  test('SystemStore keeps platform data in an account no API request can address', async () => {
    const store = createSystemStore(backend);
    expect(await store.get('packages/f1')).toBeUndefined();
    await store.put('packages/f1', Buffer.from('zip bytes'));
    expect((await store.get('packages/f1'))?.toString()).toBe('zip bytes');
    await store.put('packages/f1', Buffer.alloc(0));
    expect((await store.get('packages/f1'))?.length).toBe(0);
    await store.delete('packages/f1');
    await store.delete('packages/f1');
    expect(await store.get('packages/f1')).toBeUndefined();
    expect(SYSTEM_ACCOUNT.startsWith('AUTH_')).toBe(false);
  });

  test('readObject reads a user object into memory under a size cap', async () => {
    await put(backend, 'c', 'pkg.zip', 'PK...');
    const got = await readObject(backend, 'AUTH_t', 'c', 'pkg.zip', 100);
    expect(got?.data.toString()).toBe('PK...');
    expect(got?.info.etag).toBe(md5('PK...'));
    expect(await readObject(backend, 'AUTH_t', 'c', 'missing', 100)).toBeUndefined();
    expect(await readObject(backend, 'AUTH_t', 'nope', 'x', 100)).toBeUndefined();
    expect(await codeOf(readObject(backend, 'AUTH_t', 'c', 'pkg.zip', 3))).toBe('storage.object_too_large_to_read');
  });
}
