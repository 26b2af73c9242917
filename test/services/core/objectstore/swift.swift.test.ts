// The `swift` backend against a real Swift (the `swift` jest project; settings in
// test/helpers/swift.ts): the shared backend contract, then what only this backend has to get
// right — where data lands upstream, how metadata travels, re-authentication, and a dead upstream.
import * as http from 'node:http';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { loadConfig } from '../../../../services/core/config';
import { openDatabase, type Database } from '../../../../services/core/db/database';
import { CairnError } from '../../../../services/core/errors';
import { createObjectBackend, createSystemStore, type ObjectBackend } from '../../../../services/core/objectstore';
import { SwiftBackend } from '../../../../services/core/objectstore/swift';
import { swiftBackendEnv, swiftTestSettings } from '../../../helpers/swift';
import { objectStoreSuite } from './objectstore.suite';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

jest.setTimeout(60_000);

const none = { set: {}, remove: [] };
const openDb = (): Promise<Database> => openDatabase({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sw-db-')) });

describe('object store on a real Swift', () => {
  objectStoreSuite(openDb, { env: () => swiftBackendEnv(), exclusiveDeletes: false });
});

/** The upstream as an operator sees it: admin token and storage URL base, raw HTTP. */
async function upstream(): Promise<{ base: string; token: string; raw: (method: string, p: string, headers?: Record<string, string>) => Promise<Response> }> {
  const s = swiftTestSettings();
  const auth = await fetch(s.authUrl, { headers: { 'X-Auth-User': s.user, 'X-Auth-Key': s.key } });
  const token = auth.headers.get('x-auth-token')!;
  const base = auth.headers.get('x-storage-url')!.replace(/\/[^/]*$/, '');
  return { base, token, raw: (method, p, headers = {}) => fetch(`${base}/${p}`, { method, headers: { 'X-Auth-Token': token, ...headers } }) };
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; status?: number }> {
  try {
    await p;
    return { code: 'ok' };
  } catch (err) {
    return err instanceof CairnError ? { code: err.code, status: err.status } : { code: String(err) };
  }
}

describe('swift backend specifics', () => {
  let env: Record<string, string>;
  let backend: ObjectBackend;
  let db: Database;
  const prefix = (): string => env.CAIRN_SWIFT_ACCOUNT_PREFIX;
  const put = (c: string, o: string, data: string, meta: Record<string, string> = {}) =>
    backend.putObject('AUTH_p1', c, o, Readable.from([Buffer.from(data)]), { contentType: 'text/plain', meta, contentLength: Buffer.byteLength(data), maxBytes: 1 << 20 });

  beforeAll(async () => {
    env = swiftBackendEnv();
    db = await openDb();
    backend = createObjectBackend(loadConfig({}, { ...env, CAIRN_DATA_DIR: os.tmpdir() }), db);
  });
  afterAll(async () => {
    await backend?.close();
    await db?.close();
  });

  test('project accounts and the system account land in distinct upstream accounts under the prefix', async () => {
    await backend.putContainer('AUTH_p1', 'data', none);
    await createSystemStore(backend).put('k', Buffer.from('platform'));
    const up = await upstream();
    const projectListing = (await (await up.raw('GET', `${prefix()}p1?format=json`)).json()) as { name: string }[];
    expect(projectListing.map((r) => r.name)).toEqual(['data']);
    const system = await up.raw('GET', `${encodeURIComponent(`${prefix()}_.cairn`)}/system/k`);
    expect(await system.text()).toBe('platform');
    // The project's account holds no trace of the platform's data.
    expect((await (await up.raw('GET', `${prefix()}p1/system/k`)).status)).toBe(404);
  });

  test('metadata round-trips: system names with ":", any case, "_" vs "-", UTF-8 and edge values', async () => {
    await backend.putContainer('AUTH_p1', 'meta', none);
    const meta = {
      'sys:delete-at': '1700000000',
      'sys:object-manifest': 'meta/segments/',
      a_b: 'underscore',
      'a-b': 'dash',
      'ünï': 'é 🙂 ok',
      spaces: '  padded  ',
      percent: '%41%',
      empty: '',
      tab: 'a\tb',
    };
    const info = await put('meta', 'o', 'body', meta);
    expect(info.meta).toEqual(meta);
    expect((await backend.headObject('AUTH_p1', 'meta', 'o'))?.meta).toEqual(meta);
    const reader = await backend.openObject('AUTH_p1', 'meta', 'o');
    expect(reader?.info.meta).toEqual(meta);
    await reader?.close();
    const c = await backend.updateContainer('AUTH_p1', 'meta', { set: meta, remove: [] });
    expect(c.meta).toEqual(meta);
    expect((await backend.updateAccount('AUTH_p1', { set: meta, remove: [] })).meta).toEqual(meta);
    const { 'ünï': _u, 'sys:delete-at': _d, ...rest } = meta;
    expect((await backend.updateAccount('AUTH_p1', { set: {}, remove: ['ünï', 'sys:delete-at'] })).meta).toEqual(rest);
    // Upstream, only Cairn's marked, escaped names: `X-Account-Meta-C-Sys%3Adelete-At`, never `X-Delete-At`.
    const up = await upstream();
    const names = [...(await up.raw('HEAD', `${prefix()}p1/meta/o`)).headers.keys()].filter((h) => h.startsWith('x-object-meta-'));
    expect(names.sort()).toEqual(['x-object-meta-c-a%5fb', 'x-object-meta-c-a-b', 'x-object-meta-c-empty', 'x-object-meta-c-percent', 'x-object-meta-c-spaces', 'x-object-meta-c-sys%3adelete-at', 'x-object-meta-c-sys%3aobject-manifest', 'x-object-meta-c-tab', 'x-object-meta-c-%c3%bcn%c3%af'].sort());
  });

  test('metadata never reaches upstream middlewares: no expiry, large objects, quotas or ACLs upstream', async () => {
    await backend.putContainer('AUTH_p1', 'mw', { set: { 'quota-bytes': '1', 'quota-count': '0', 'sys:container-read': '.r:*', 'web-index': 'index.html' }, remove: [] });
    await put('mw', 'segments/1', 'segment-one');
    // A DLO manifest header upstream would make this object's GET return the segments instead.
    await put('mw', 'manifest', 'own bytes', { 'sys:object-manifest': 'mw/segments/', 'sys:delete-at': '1' });
    const up = await upstream();
    const got = await up.raw('GET', `${prefix()}p1/mw/manifest`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('own bytes');
    expect(got.headers.get('x-object-manifest')).toBeNull();
    expect(got.headers.get('x-delete-at')).toBeNull();
    const cont = await up.raw('HEAD', `${prefix()}p1/mw`);
    expect(cont.headers.get('x-container-read')).toBeNull();
    expect(cont.headers.get('x-container-meta-quota-bytes')).toBeNull();
    // Without a token the upstream container stays private, whatever Cairn's ACL says.
    expect((await fetch(`${up.base}/${prefix()}p1/mw/manifest`)).status).toBe(401);
    const upd = await backend.updateObject('AUTH_p1', 'mw', 'manifest', { meta: { color: 'blue' }, keep: ['sys:object-manifest'] });
    expect(upd.meta).toEqual({ color: 'blue', 'sys:object-manifest': 'mw/segments/' });
  });

  test('object names a URL parser would rewrite reach upstream unchanged', async () => {
    await backend.putContainer('AUTH_p1', 'names', none);
    const names = ['a/../b', './x', 'a//b', 'dir/', '..', 'q?x=1#f', '100%', 'sp ace+plus', 'é/🙂'];
    for (const n of names) await put('names', n, n);
    const listed = (await backend.listObjects('AUTH_p1', 'names', { limit: 100 })).map((e) => (e.kind === 'item' ? e.item.name : e.subdir));
    expect(listed).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    for (const n of names) expect((await backend.headObject('AUTH_p1', 'names', n))?.bytes).toBe(Buffer.byteLength(n));
    expect(await backend.headObject('AUTH_p1', 'names', 'b')).toBeUndefined();
    const prefixed = await backend.listObjects('AUTH_p1', 'names', { limit: 100, prefix: 'sp ace+', delimiter: '/' });
    expect(prefixed).toEqual([{ kind: 'item', item: expect.objectContaining({ name: 'sp ace+plus' }) }]);
  });

  test('refused chunked uploads (too large mid-stream, wrong MD5) never replace the stored version upstream', async () => {
    await backend.putContainer('AUTH_p1', 'big', none);
    await put('big', 'o', 'previous');
    const chunked = (n: number) => Readable.from(Array.from({ length: n }, () => Buffer.alloc(256 * 1024, 7)));
    const opts = { contentType: 'x', meta: {}, maxBytes: 1 << 30 };
    expect(await codeOf(backend.putObject('AUTH_p1', 'big', 'o', chunked(12), { ...opts, maxBytes: 1 << 20 }))).toEqual({ code: 'storage.too_large', status: 413 });
    expect(await codeOf(backend.putObject('AUTH_p1', 'big', 'o', chunked(8), { ...opts, expectedEtag: 'd41d8cd98f00b204e9800998ecf8427e' }))).toEqual({ code: 'storage.etag_mismatch', status: 422 });
    const up = await upstream();
    expect(await (await up.raw('GET', `${prefix()}p1/big/o`)).text()).toBe('previous');
    const ok = await backend.putObject('AUTH_p1', 'big', 'o', chunked(8), opts);
    expect(ok.bytes).toBe(2 << 20);
    expect((await backend.headContainer('AUTH_p1', 'big'))?.bytesUsed).toBe(2 << 20);
  });

  test('a ranged read of an object overwritten since it was opened fails rather than mix versions', async () => {
    await backend.putContainer('AUTH_p1', 'rng', none);
    await put('rng', 'o', 'first version');
    const reader = (await backend.openObject('AUTH_p1', 'rng', 'o'))!;
    const read = async (r: Readable) => {
      const chunks: Buffer[] = [];
      for await (const c of r) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString();
    };
    expect(await read(reader.stream({ start: 0, end: 4 }))).toBe('first');
    await put('rng', 'o', 'other content');
    expect(await read(reader.stream({ start: 6, end: 12 })).catch((e: CairnError) => e.code)).toBe('unavailable');
    await reader.close();
  });

  test('an expired token is renewed once, transparently', async () => {
    await backend.putContainer('AUTH_p1', 'auth', none);
    const before = await upstream();
    // tempauth keeps its tokens in memcached: emptying it expires every token for real.
    await memcachedFlush(swiftTestSettings().memcache);
    expect((await before.raw('HEAD', `${prefix()}p1/auth`)).status).toBe(401);
    expect(await backend.headContainer('AUTH_p1', 'auth')).toMatchObject({ name: 'auth', objectCount: 0 });
    await memcachedFlush(swiftTestSettings().memcache);
    // An upload after expiry: the 401 comes before the body is read, so the retry can send it.
    expect(await put('auth', 'after-expiry', 'still works')).toMatchObject({ bytes: 11 });
  });

  test('wrong credentials and a dead upstream are 503 storage.upstream_unavailable', async () => {
    const wrong = createObjectBackend(loadConfig({}, { ...env, CAIRN_SWIFT_KEY: 'not-the-key', CAIRN_DATA_DIR: os.tmpdir() }), db);
    expect(await codeOf(wrong.headAccount('AUTH_p1'))).toEqual({ code: 'storage.upstream_unavailable', status: 503 });
    await wrong.close();
    const port = await closedPort();
    const dead = createObjectBackend(loadConfig({}, { ...env, CAIRN_SWIFT_AUTH_URL: `http://127.0.0.1:${port}/auth/v1.0`, CAIRN_DATA_DIR: os.tmpdir() }), db);
    expect(await codeOf(dead.headAccount('AUTH_p1'))).toEqual({ code: 'storage.upstream_unavailable', status: 503 });
    expect(await codeOf(dead.putObject('AUTH_p1', 'c', 'o', Readable.from([Buffer.from('x')]), { contentType: 'x', meta: {}, contentLength: 1, maxBytes: 10 }))).toEqual({
      code: 'storage.upstream_unavailable',
      status: 503,
    });
    await dead.close();
  });

  test('Keystone v3 password auth takes the storage URL from the catalog (mocked Keystone, real Swift)', async () => {
    const up = await upstream();
    let seen: any;
    // Stands in for Keystone only: answers with a real tempauth token and the real proxy's URL.
    const keystone = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen = { path: req.url, body: JSON.parse(body) };
        const doc = { token: { expires_at: new Date(Date.now() + 3_600_000).toISOString(), catalog: [{ type: 'object-store', endpoints: [{ interface: 'public', url: `${up.base}/AUTH_admin` }] }] } };
        res.writeHead(201, { 'X-Subject-Token': up.token, 'Content-Type': 'application/json' }).end(JSON.stringify(doc));
      });
    });
    await new Promise<void>((r) => keystone.listen(0, '127.0.0.1', r));
    const ksUrl = `http://127.0.0.1:${(keystone.address() as net.AddressInfo).port}/v3`;
    const v3 = new SwiftBackend({ authUrl: ksUrl, authVersion: '3', user: 'admin', key: 'secret', projectName: 'service', domainName: 'Default', accountPrefix: prefix() });
    try {
      await v3.putContainer('AUTH_p1', 'v3', none);
      expect((await backend.headContainer('AUTH_p1', 'v3'))?.name).toBe('v3');
      expect(seen.path).toBe('/v3/auth/tokens');
      expect(seen.body.auth.identity.password.user).toEqual({ name: 'admin', password: 'secret', domain: { name: 'Default' } });
      expect(seen.body.auth.scope.project).toEqual({ name: 'service', domain: { name: 'Default' } });
    } finally {
      await v3.close();
      keystone.close();
    }
  });
});

function memcachedFlush(hostPort: string): Promise<void> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), host, () => sock.write('flush_all\r\n'));
    sock.on('data', (d) => {
      if (d.toString().startsWith('OK')) {
        sock.end();
        resolve();
      } else reject(new Error(`memcached said ${d.toString()}`));
    });
    sock.on('error', reject);
  });
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}
