// Container sync: the owner-only X-Container-Sync-To/-Key headers (Swift's
// test_protected_container_sync walk), Swift's 400s for bad destinations, /info, the receiving side
// (sync key, realm signature, last writer wins by X-Timestamp) and the sync pass pushing from a
// container of project A to one of project B on the same server, addressed by full URL.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { realmSignature } from '../../../../services/api/storage/container-sync';
import { createContainerSync, type SyncPassReport } from '../../../../services/api/storage/container-sync-daemon';
import { loadConfig } from '../../../../services/core/config';
import { PROJECT_A, PROJECT_B, TOKEN_B, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;
let realmsDir: string;
const asB = (): { token: string } => ({ token: TOKEN_B });
const bUrl = (p: string): string => `${h.base}/v1/AUTH_${PROJECT_B}/${p}`;
const lines: string[] = [];
const pass = (config = h.config): Promise<SyncPassReport> => createContainerSync({ config, db: h.db, backend: h.backend, log: (l) => lines.push(l) }).runPass();
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

beforeAll(async () => {
  realmsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sync-realms-'));
  // The receiving side only needs the realm's keys; its cluster endpoint is never dialled here.
  const realms = path.join(realmsDir, 'server.json');
  fs.writeFileSync(realms, JSON.stringify({ test: { key: 'realm-key', key2: 'realm-key-2', clusters: { c1: 'http://127.0.0.1:1/v1/' } } }));
  h = await startStorage({ env: { CAIRN_CONTAINER_SYNC_REALMS: realms } });
});
afterAll(async () => {
  await h?.stop();
  fs.rmSync(realmsDir, { recursive: true, force: true });
});

test("sync headers are the owner's: an ACL user neither sees nor changes them (Swift's test_protected_container_sync)", async () => {
  expect((await h.req('PUT', 'prot')).status).toBe(201);
  expect((await h.req('POST', 'prot', { headers: { 'X-Container-Sync-Key': 'secret', 'X-Container-Meta-Test': 'v1' } })).status).toBe(204);
  let r = await h.req('HEAD', 'prot');
  expect(r.headers.get('x-container-sync-key')).toBe('secret');
  expect(r.headers.get('x-container-meta-test')).toBe('v1');
  const me = 'other:alice';
  const setAcl = (level: string): ReturnType<StorageHarness['req']> => h.req('POST', '', { headers: { 'X-Account-Access-Control': JSON.stringify({ [level]: [me] }) } });

  expect((await setAcl('read-only')).status).toBe(204);
  r = await h.req('HEAD', `${h.accountUrl}/prot`, asB());
  expect([r.status, r.headers.get('x-container-meta-test'), r.headers.get('x-container-sync-key')]).toEqual([204, 'v1', null]);
  expect((await h.req('POST', `${h.accountUrl}/prot`, { ...asB(), headers: { 'X-Container-Sync-Key': 'other' } })).status).toBe(403);

  expect((await setAcl('read-write')).status).toBe(204);
  r = await h.req('GET', `${h.accountUrl}/prot`, asB());
  expect([r.status, r.headers.get('x-container-sync-key')]).toEqual([204, null]);
  // Accepted for the metadata; the key (and a removal of it) is dropped silently.
  r = await h.req('POST', `${h.accountUrl}/prot`, { ...asB(), headers: { 'X-Container-Sync-Key': 'stolen', 'X-Container-Meta-Test': 'v2' } });
  expect(r.status).toBe(204);
  expect((await h.req('POST', `${h.accountUrl}/prot`, { ...asB(), headers: { 'X-Remove-Container-Sync-Key': 'x' } })).status).toBe(204);
  r = await h.req('GET', 'prot');
  expect([r.headers.get('x-container-meta-test'), r.headers.get('x-container-sync-key')]).toEqual(['v2', 'secret']);

  // An account admin is the owner's equal: sees and changes the key.
  expect((await setAcl('admin')).status).toBe(204);
  r = await h.req('GET', `${h.accountUrl}/prot`, asB());
  expect(r.headers.get('x-container-sync-key')).toBe('secret');
  expect((await h.req('POST', `${h.accountUrl}/prot`, { ...asB(), headers: { 'X-Container-Sync-Key': 'new-secret' } })).status).toBe(204);
  expect((await h.req('HEAD', `${h.accountUrl}/prot`, asB())).headers.get('x-container-sync-key')).toBe('new-secret');
  expect((await h.req('POST', '', { headers: { 'X-Account-Access-Control': '{}' } })).status).toBe(204);

  // Sync-To too, on PUT as on POST; an empty value and X-Remove-… clear them.
  const to = `http://127.0.0.1:9/v1/AUTH_${PROJECT_B}/elsewhere`;
  expect((await h.req('PUT', 'prot', { headers: { 'X-Container-Sync-To': to } })).status).toBe(202);
  expect((await h.req('HEAD', 'prot')).headers.get('x-container-sync-to')).toBe(to);
  expect((await h.req('POST', 'prot', { headers: { 'X-Container-Sync-To': '', 'X-Remove-Container-Sync-Key': '1' } })).status).toBe(204);
  r = await h.req('HEAD', 'prot');
  expect([r.headers.get('x-container-sync-to'), r.headers.get('x-container-sync-key')]).toEqual([null, null]);
});

test("a bad X-Container-Sync-To is 400 with Swift's text, and nothing is stored", async () => {
  expect((await h.req('PUT', 'bad')).status).toBe(201);
  for (const [value, text] of [
    ['http://example.com/v1/AUTH_x/c', "Invalid host 'example.com' in X-Container-Sync-To"],
    ['http://127.0.0.1', 'Path required in X-Container-Sync-To'],
    ['ftp://127.0.0.1/v1/a/c', 'Invalid scheme \'ftp\' in X-Container-Sync-To, must be "//", "http", or "https".'],
    ['http://127.0.0.1/v1/a/c?x=1', 'Params, queries, and fragments not allowed in X-Container-Sync-To'],
    ['//test/c1/AUTH_x', "Invalid X-Container-Sync-To format '//test/c1/AUTH_x'"],
    ['//nope/c1/AUTH_x/c', "No realm key for 'nope'"],
    ['//test/c9/AUTH_x/c', "No cluster endpoint for 'test' 'c9'"],
  ]) {
    const r = await h.req('POST', 'bad', { headers: { 'X-Container-Sync-To': value, 'X-Container-Meta-Color': 'red' } });
    expect([value, r.status, r.text]).toEqual([value, 400, text]);
    expect((await h.req('PUT', 'bad2', { headers: { 'X-Container-Sync-To': value } })).status).toBe(400);
  }
  const r = await h.req('HEAD', 'bad');
  expect([r.headers.get('x-container-sync-to'), r.headers.get('x-container-meta-color')]).toEqual([null, null]);
  expect((await h.req('HEAD', 'bad2')).status).toBe(404);
  // The allowed forms are stored as given.
  expect((await h.req('POST', 'bad', { headers: { 'X-Container-Sync-To': '//TEST/C1/AUTH_x/c' } })).status).toBe(204);
  expect((await h.req('HEAD', 'bad')).headers.get('x-container-sync-to')).toBe('//TEST/C1/AUTH_x/c');
});

test('/info advertises container_sync with the realms and their clusters, no secrets', async () => {
  const info = JSON.parse((await h.req('GET', '/info', { token: null })).text) as Record<string, unknown>;
  expect(info.container_sync).toEqual({ realms: { TEST: { clusters: { C1: {} } } } });
  expect(JSON.stringify(info)).not.toContain('realm-key');
});

describe('receiving side', () => {
  beforeAll(async () => {
    expect((await h.req('PUT', bUrl('inbox'), { ...asB(), headers: { 'X-Container-Sync-Key': 'inbox-key' } })).status).toBe(201);
  });
  const put = (name: string, headers: Record<string, string>, body = 'x'): ReturnType<StorageHarness['req']> => h.req('PUT', bUrl(`inbox/${name}`), { token: null, headers, body });

  test("the container's key with an X-Timestamp writes without a token; a wrong key is 401", async () => {
    const ts = (Date.now() / 1000 - 100).toFixed(5);
    expect((await put('k', { 'X-Container-Sync-Key': 'inbox-key', 'X-Timestamp': ts, 'X-Object-Meta-Color': 'blue' }, 'synced')).status).toBe(201);
    const r = await h.req('GET', bUrl('inbox/k'), asB());
    expect([r.status, r.text, r.headers.get('x-object-meta-color')]).toEqual([200, 'synced', 'blue']);
    expect((await put('k2', { 'X-Container-Sync-Key': 'wrong', 'X-Timestamp': ts })).status).toBe(401);
    // The key alone (no X-Timestamp) is not a sync request; nor does it reach other containers or reads.
    expect((await put('k2', { 'X-Container-Sync-Key': 'inbox-key' })).status).toBe(401);
    expect((await h.req('GET', bUrl('inbox/k'), { token: null, headers: { 'X-Container-Sync-Key': 'inbox-key', 'X-Timestamp': ts } })).status).toBe(401);
    expect((await h.req('PUT', bUrl('other/k'), { token: null, headers: { 'X-Container-Sync-Key': 'inbox-key', 'X-Timestamp': ts }, body: 'x' })).status).toBe(401);
    expect((await put('k2', { 'X-Container-Sync-Key': 'inbox-key', 'X-Timestamp': 'soon' })).status).toBe(400);
  });

  test('last writer wins by X-Timestamp: an older PUT is accepted and dropped, an older DELETE is 409', async () => {
    const t = Date.now() / 1000;
    expect((await put('w', { 'X-Container-Sync-Key': 'inbox-key', 'X-Timestamp': (t - 10).toFixed(5) }, 'newer')).status).toBe(201);
    expect((await put('w', { 'X-Container-Sync-Key': 'inbox-key', 'X-Timestamp': (t - 20).toFixed(5) }, 'older')).status).toBe(202);
    expect((await h.req('GET', bUrl('inbox/w'), asB())).text).toBe('newer');
    const del = (stamp: number): Promise<number> => h.req('DELETE', bUrl('inbox/w'), { token: null, headers: { 'X-Container-Sync-Key': 'inbox-key', 'X-Timestamp': stamp.toFixed(5) } }).then((r) => r.status);
    expect(await del(t - 15)).toBe(409);
    expect((await h.req('GET', bUrl('inbox/w'), asB())).status).toBe(200);
    expect(await del(t - 5)).toBe(204);
    expect((await h.req('GET', bUrl('inbox/w'), asB())).status).toBe(404);
    // An object written directly (no sync timestamp) counts with its own time.
    expect((await h.req('PUT', bUrl('inbox/direct'), { ...asB(), body: 'mine' })).status).toBe(201);
    expect((await put('direct', { 'X-Container-Sync-Key': 'inbox-key', 'X-Timestamp': (t - 60).toFixed(5) }, 'theirs')).status).toBe(202);
    expect((await h.req('GET', bUrl('inbox/direct'), asB())).text).toBe('mine');
  });

  test('a realm signature (either realm key) authorizes; a bad one is 401 SwiftContainerSync', async () => {
    const ts = (Date.now() / 1000).toFixed(5);
    const p = `/v1/AUTH_${PROJECT_B}/inbox/realm obj`;
    const signed = (key: string, nonce = randomBytes(8).toString('hex')): string => `TEST ${nonce} ${realmSignature('PUT', encodeURI(p), ts, nonce, key, 'inbox-key')}`;
    expect((await put('realm%20obj', { 'X-Container-Sync-Auth': signed('realm-key'), 'X-Timestamp': ts }, 'one')).status).toBe(201);
    const ts2 = (Date.now() / 1000 + 1).toFixed(5);
    const nonce = 'n2';
    const sig2 = realmSignature('PUT', encodeURI(p), ts2, nonce, 'realm-key-2', 'inbox-key');
    expect((await put('realm%20obj', { 'X-Container-Sync-Auth': `TEST ${nonce} ${sig2}`, 'X-Timestamp': ts2 }, 'two')).status).toBe(201);
    expect((await h.req('GET', bUrl('inbox/realm%20obj'), asB())).text).toBe('two');
    for (const auth of [signed('wrong-key'), 'TEST only-two', `NOPE n ${sig2}`]) {
      const r = await put('realm%20obj', { 'X-Container-Sync-Auth': auth, 'X-Timestamp': ts2 }, 'three');
      expect([r.status, r.text, r.headers.get('www-authenticate')]).toEqual([401, 'X-Container-Sync-Auth header not valid; contact cluster operator for support.', `SwiftContainerSync realm="AUTH_${PROJECT_B}"`]);
    }
  });
});

describe('sync pass', () => {
  const src = (p: string): string => `${h.accountUrl}/${p}`;
  const dest = (c: string): string => `http://127.0.0.1:${new URL(h.base).port}/v1/AUTH_${PROJECT_B}/${c}`;

  test('pushes new objects with their metadata, updates changed ones, propagates deletes, leaves the destination’s own objects alone', async () => {
    expect((await h.req('PUT', bUrl('to'), { ...asB(), headers: { 'X-Container-Sync-Key': 'k-to' } })).status).toBe(201);
    expect((await h.req('PUT', src('from'), { headers: { 'X-Container-Sync-To': dest('to'), 'X-Container-Sync-Key': 'k-to' } })).status).toBe(201);
    await h.req('PUT', src('from/a.txt'), { body: 'alpha', headers: { 'Content-Type': 'text/x-alpha', 'X-Object-Meta-Color': 'red' } });
    await h.req('PUT', src('from/dir/b'), { body: 'beta' });
    await h.req('PUT', bUrl('to/theirs'), { ...asB(), body: 'not from the source' });

    let report = await pass();
    expect(report.failures).toEqual([]);
    let r = await h.req('GET', bUrl('to/a.txt'), asB());
    expect([r.status, r.text, r.headers.get('content-type'), r.headers.get('x-object-meta-color'), r.headers.get('etag')]).toEqual([200, 'alpha', 'text/x-alpha', 'red', md5('alpha')]);
    expect((await h.req('GET', bUrl('to/dir/b'), asB())).text).toBe('beta');

    // Nothing changed: nothing is pushed again.
    expect((await pass()).puts).toBe(0);

    // A new body and a metadata-only change are both pushed; a delete propagates.
    await h.req('PUT', src('from/dir/b'), { body: 'beta v2' });
    expect((await h.req('POST', src('from/a.txt'), { headers: { 'X-Object-Meta-Color': 'green' } })).status).toBe(202);
    await h.req('PUT', src('from/c'), { body: 'gamma' });
    expect((await h.req('DELETE', src('from/c'))).status).toBe(204);
    await h.req('PUT', src('from/gone'), { body: 'soon gone' });
    report = await pass();
    expect(report.failures).toEqual([]);
    expect((await h.req('GET', bUrl('to/gone'), asB())).status).toBe(200);
    expect((await h.req('DELETE', src('from/gone'))).status).toBe(204);
    report = await pass();
    expect([report.failures, report.deletes]).toEqual([[], 1]);
    expect((await h.req('GET', bUrl('to/dir/b'), asB())).text).toBe('beta v2');
    expect((await h.req('HEAD', bUrl('to/a.txt'), asB())).headers.get('x-object-meta-color')).toBe('green');
    expect((await h.req('GET', bUrl('to/gone'), asB())).status).toBe(404);
    expect((await h.req('GET', bUrl('to/c'), asB())).status).toBe(404);
    r = await h.req('GET', bUrl('to'), asB());
    expect(r.text.split('\n').filter(Boolean).sort()).toEqual(['a.txt', 'dir/b', 'theirs']);
    expect((await h.req('GET', bUrl('to/theirs'), asB())).text).toBe('not from the source');
  });

  test('a destination that is down or refuses the key fails that container alone, which catches up later', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect((await h.req('PUT', bUrl('fine'), { ...asB(), headers: { 'X-Container-Sync-Key': 'k-fine' } })).status).toBe(201);
    expect((await h.req('PUT', bUrl('locked'), { ...asB(), headers: { 'X-Container-Sync-Key': 'other-key' } })).status).toBe(201);
    expect((await h.req('PUT', src('a-down'), { headers: { 'X-Container-Sync-To': `http://127.0.0.1:${deadPort}/v1/AUTH_${PROJECT_B}/x`, 'X-Container-Sync-Key': 'k' } })).status).toBe(201);
    expect((await h.req('PUT', src('b-locked'), { headers: { 'X-Container-Sync-To': dest('locked'), 'X-Container-Sync-Key': 'k-locked' } })).status).toBe(201);
    expect((await h.req('PUT', src('c-fine'), { headers: { 'X-Container-Sync-To': dest('fine'), 'X-Container-Sync-Key': 'k-fine' } })).status).toBe(201);
    for (const c of ['a-down', 'b-locked', 'c-fine']) await h.req('PUT', src(`${c}/obj`), { body: c });

    const report = await pass();
    expect(report.failures.some((f) => f.startsWith(`AUTH_${PROJECT_A}/a-down:`))).toBe(true);
    expect(report.failures.some((f) => f.startsWith(`AUTH_${PROJECT_A}/b-locked:`) && f.includes('401'))).toBe(true);
    expect(lines.some((l) => l.includes('a-down failed, retrying at the next pass'))).toBe(true);
    expect((await h.req('GET', bUrl('fine/obj'), asB())).text).toBe('c-fine');
    expect((await h.req('GET', bUrl('locked/obj'), asB())).status).toBe(404);

    // The destination's owner fixes the key: the next pass catches up.
    expect((await h.req('POST', bUrl('locked'), { ...asB(), headers: { 'X-Container-Sync-Key': 'k-locked' } })).status).toBe(204);
    const again = await pass();
    expect(again.failures.some((f) => f.includes('b-locked'))).toBe(false);
    expect((await h.req('GET', bUrl('locked/obj'), asB())).text).toBe('b-locked');
    // Stop retrying the dead one for the remaining tests.
    expect((await h.req('POST', src('a-down'), { headers: { 'X-Remove-Container-Sync-To': '1' } })).status).toBe(204);
  });

  test('a realm destination is signed with the realm key; concurrent passes do not overlap', async () => {
    const realms = path.join(realmsDir, 'daemon.json');
    fs.writeFileSync(realms, JSON.stringify({ test: { key: 'realm-key', clusters: { c1: `${h.base}/v1/` } } }));
    const config = loadConfig({}, { CAIRN_CONTAINER_SYNC_REALMS: realms });
    expect((await h.req('PUT', bUrl('realm-to'), { ...asB(), headers: { 'X-Container-Sync-Key': 'k-realm' } })).status).toBe(201);
    expect((await h.req('PUT', src('realm-from'), { headers: { 'X-Container-Sync-To': `//test/c1/AUTH_${PROJECT_B}/realm-to`, 'X-Container-Sync-Key': 'k-realm' } })).status).toBe(201);
    await h.req('PUT', src('realm-from/o 1'), { body: 'via realm' });
    const sync = createContainerSync({ config, db: h.db, backend: h.backend, log: (l) => lines.push(l) });
    const [one, two] = [sync.runPass(), sync.runPass()];
    expect(one).toBe(two);
    const report = await one;
    expect(report.failures).toEqual([]);
    expect((await h.req('GET', bUrl('realm-to/o%201'), asB())).text).toBe('via realm');
  });

  test('large objects sync as manifests', async () => {
    expect((await h.req('PUT', bUrl('lo-to'), { ...asB(), headers: { 'X-Container-Sync-Key': 'k-lo' } })).status).toBe(201);
    expect((await h.req('PUT', bUrl('segs'), asB())).status).toBe(201);
    expect((await h.req('PUT', src('lo-from'), { headers: { 'X-Container-Sync-To': dest('lo-to'), 'X-Container-Sync-Key': 'k-lo' } })).status).toBe(201);
    expect((await h.req('PUT', src('segs'))).status).toBe(201);
    for (const [n, body] of [['s1', 'aaaa'], ['s2', 'bbbb']]) await h.req('PUT', src(`segs/${n}`), { body });
    const manifest = JSON.stringify([{ path: 'segs/s1' }, { path: 'segs/s2' }]);
    expect((await h.req('PUT', src('lo-from/slo?multipart-manifest=put'), { body: manifest })).status).toBe(201);
    expect((await h.req('PUT', src('lo-from/dlo'), { headers: { 'X-Object-Manifest': 'segs/s' }, body: '' })).status).toBe(201);

    // The segments are not at the destination yet: the SLO waits, the DLO (a plain header) goes.
    let report = await pass();
    expect(report.failures.some((f) => f.includes('lo-from/slo'))).toBe(true);
    let r = await h.req('GET', bUrl('lo-to/dlo'), asB());
    expect([r.status, r.headers.get('x-object-manifest')]).toEqual([200, 'segs/s']);

    // Once the segments are there (synced with their own container, or written), the SLO follows.
    for (const [n, body] of [['s1', 'aaaa'], ['s2', 'bbbb']]) await h.req('PUT', bUrl(`segs/${n}`), { ...asB(), body });
    report = await pass();
    expect(report.failures).toEqual([]);
    r = await h.req('GET', bUrl('lo-to/slo'), asB());
    expect([r.status, r.text, r.headers.get('x-static-large-object')]).toEqual([200, 'aaaabbbb', 'True']);
    expect((await h.req('GET', bUrl('lo-to/dlo'), asB())).text).toBe('aaaabbbb');
  });
});

test('configuration: defaults, and a realms file that is not what it should be is refused naming the problem', () => {
  const c = loadConfig({}, {}).containerSync;
  expect(c).toEqual({ allowedHosts: ['127.0.0.1', 'localhost'], realms: {}, intervalSeconds: 300 });
  expect(loadConfig({}, { CAIRN_CONTAINER_SYNC_HOSTS: ' a.example , b.example ', CAIRN_CONTAINER_SYNC_INTERVAL: '0' }).containerSync).toMatchObject({ allowedHosts: ['a.example', 'b.example'], intervalSeconds: 0 });
  const file = path.join(realmsDir, 'bad.json');
  for (const [content, why] of [
    ['not json', 'expected a readable JSON file'],
    ['[]', 'expected a JSON object of realms'],
    ['{"r": {"clusters": {}}}', 'realm r: "key" must be a non-empty string'],
    ['{"r": {"key": "k", "clusters": {"c": "http://host/"}}}', 'realm r: cluster c: expected an endpoint http(s)://host[:port]/…/v1/'],
  ]) {
    fs.writeFileSync(file, content);
    expect(() => loadConfig({}, { CAIRN_CONTAINER_SYNC_REALMS: file })).toThrow(why);
  }
  expect(() => loadConfig({}, { CAIRN_CONTAINER_SYNC_REALMS: path.join(realmsDir, 'missing.json') })).toThrow('CAIRN_CONTAINER_SYNC_REALMS=');
  expect(() => loadConfig({}, { CAIRN_CONTAINER_SYNC_INTERVAL: '-1' })).toThrow('CAIRN_CONTAINER_SYNC_INTERVAL=-1');
});
