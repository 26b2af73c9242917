// The function API over real HTTP on loopback, with real identity, PGlite and bwrap sandboxes:
// the create/update/delete rules and every bad input the issue lists.
import { createHash } from 'node:crypto';
import { startTestPlatform, type TestPlatform } from '../../../helpers/platform';
import { makeZip, makeZipWithRawNames } from '../../../helpers/zip';

jest.setTimeout(120_000);

let t: TestPlatform;
let demo: string;
let admin: string;
let pythonRuntime: string;

beforeAll(async () => {
  t = await startTestPlatform({ CAIRN_PACKAGE_MAX_BYTES: String(2 * 1024 * 1024), CAIRN_UNPACKED_MAX_BYTES: String(8 * 1024 * 1024) });
  demo = await t.login('demo');
  admin = await t.login('admin');
  const runtimes = (await t.request('GET', '/function/v1/runtimes', { token: demo })).json().runtimes as { id: string; name: string }[];
  pythonRuntime = runtimes.find((r) => r.name === 'python3')!.id;
});

afterAll(async () => {
  await t?.stop();
});

/** A create request shaped as python-qinlingclient sends it: multipart, `code` as JSON text. */
async function createFunction(token: string, fields: Record<string, string>, pkg?: Buffer) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (pkg) form.append('package', new Blob([pkg]), 'pkg.zip');
  const res = await fetch(`${t.platform.baseUrl}/function/v1/functions`, { method: 'POST', headers: { 'X-Auth-Token': token }, body: form });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const HELLO = "def main(name='World', **kwargs):\n    return 'Hello, %s' % name\n";

async function helloPackage() {
  return makeZip({ 'hello.py': HELLO });
}

describe('create', () => {
  test('a package function: 201 with every column, md5 of the zip, defaults applied', async () => {
    const pkg = await helloPackage();
    const md5 = createHash('md5').update(pkg).digest('hex');
    const res = await createFunction(demo, { runtime_id: pythonRuntime, code: JSON.stringify({ source: 'package', md5sum: md5 }), name: 'hello', entry: 'hello.main', timeout: '5' }, pkg);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'hello', code: { source: 'package', md5sum: md5 }, count: 0, cpu: 100, memory_size: 33554432, timeout: 5, latest_version: 0, entry: 'hello.main', description: null, updated_at: null });
    expect(Object.keys(res.body).sort()).toEqual(['code', 'count', 'cpu', 'created_at', 'description', 'entry', 'id', 'latest_version', 'memory_size', 'name', 'project_id', 'runtime_id', 'timeout', 'updated_at']);
    const list = (await t.request('GET', '/function/v1/functions', { token: demo })).json();
    const listed = list.functions.find((f: { id: string }) => f.id === res.body.id);
    expect(typeof listed.code).toBe('string');
    const dl = await fetch(`${t.platform.baseUrl}/function/v1/functions/${res.body.id}?download=true`, { headers: { 'X-Auth-Token': demo } });
    expect(dl.headers.get('content-type')).toBe('application/zip');
    expect(Buffer.from(await dl.arrayBuffer()).equals(pkg)).toBe(true);
  });

  test.each([
    ['no code', {}, 400, "Required param is missing. Required: {'code'}"],
    ['code that is not JSON', { code: '{nope' }, 400, 'Invalid code specified'],
    ['an unknown source', { code: '{"source": "ftp"}' }, 400, 'Invalid code source specified, available sources: package, swift, image'],
    ['no runtime', { code: '{"source": "package"}' }, 400, '"runtime_id" must be specified.'],
    ['an unknown runtime', { code: '{"source": "package"}', runtime_id: '00000000-0000-0000-0000-000000000000' }, 404, 'Runtime not found [id=00000000-0000-0000-0000-000000000000]'],
    ['timeout over the range', { code: '{"source": "image", "image": "x"}', timeout: '301' }, 400, 'timeout resource limitation not within the allowable range: 1 ~ 300(seconds).'],
    ['timeout not an integer', { code: '{"source": "image", "image": "x"}', timeout: 'ten' }, 400, 'Invalid timeout resource specified. An integer is required.'],
    ['cpu under the range', { code: '{"source": "image", "image": "x"}', cpu: '50' }, 400, 'cpu resource limitation not within the allowable range: 100 ~ 300(millicpu).'],
    ['memory over the range', { code: '{"source": "image", "image": "x"}', memory_size: String(1 << 30) }, 400, 'memory resource limitation not within the allowable range: 33554432 ~ 134217728(bytes).'],
    ['a bad entry', { code: '{"source": "image", "image": "x"}', entry: '../etc' }, 400, 'Invalid entry ../etc'],
    ['swift source without object', { code: '{"source": "swift", "swift": {"container": "c"}}', runtime_id: 'RT' }, 400, 'Both container and object must be provided for swift type function.'],
    ['swift source naming a missing object', { code: '{"source": "swift", "swift": {"container": "c", "object": "o"}}', runtime_id: 'RT' }, 400, 'Failed to validate object in Swift.'],
  ])('%s → %i', async (_name, fields, status, message) => {
    const f = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v === 'RT' ? pythonRuntime : v]));
    const before = (await t.request('GET', '/function/v1/functions', { token: demo })).json().functions.length;
    const res = await createFunction(demo, f);
    expect(res.status).toBe(status);
    expect(res.body.faultstring).toContain(message);
    expect(typeof res.body.code).toBe('string');
    expect((await t.request('GET', '/function/v1/functions', { token: demo })).json().functions.length).toBe(before);
  });

  test.each([
    ['not a zip', async () => Buffer.from('just some text, not a zip'), 400, 'Package is not a valid ZIP package.'],
    ['a truncated zip', async () => (await helloPackage()).subarray(0, 40), 400, 'Package is not a valid ZIP package.'],
    ['a zip with ../ paths', async () => makeZipWithRawNames({ 'hello.py': HELLO, '../evil.py': 'x' }), 400, '../evil.py'],
    ['a zip with an absolute path', async () => makeZipWithRawNames({ '/etc/evil.py': 'x' }), 400, 'is not allowed'],
    ['a zip bomb', async () => makeZip({ 'hello.py': HELLO, 'zeros.bin': Buffer.alloc(16 * 1024 * 1024) }), 413, 'Package unpacks to more than'],
    ['an oversized package', async () => makeZip({ 'noise.bin': require('node:crypto').randomBytes(3 * 1024 * 1024) }, { compress: false }), 413, 'Package is larger than'],
  ])('a package that is %s is refused', async (_name, make, status, message) => {
    const pkg = await make();
    const res = await createFunction(demo, { runtime_id: pythonRuntime, code: '{"source": "package"}', entry: 'hello.main' }, pkg);
    expect(res.status).toBe(status);
    expect(res.body.faultstring).toContain(message);
  });

  test('md5 mismatch is refused', async () => {
    const res = await createFunction(demo, { runtime_id: pythonRuntime, code: '{"source": "package", "md5sum": "00000000000000000000000000000000"}', entry: 'hello.main' }, await helloPackage());
    expect(res).toMatchObject({ status: 400, body: { faultstring: 'Package md5 mismatch.' } });
  });
});

describe('authentication and tenancy', () => {
  test('no token, a forged token, an expired token → 401, JSON faultstring each time', async () => {
    const c = t.platform.credentials.demo;
    const issuedAt = new Date(Date.now() - 3 * 3600_000);
    const expired = (await t.platform.identity.issueToken({ userId: c.userId, projectId: c.projectId, issuedAt, expiresAt: new Date(issuedAt.getTime() + 60_000) })).token;
    for (const token of [undefined, 'gAAAAAnot-a-token', expired]) {
      const res = await t.request('GET', '/function/v1/functions', { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(res.json().faultstring).toBeTruthy();
    }
  });

  test("another project's function is 404; all_projects is admin-only", async () => {
    const created = await createFunction(admin, { runtime_id: pythonRuntime, code: '{"source": "package"}', entry: 'hello.main', name: 'admins' }, await helloPackage());
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await t.request('GET', `/function/v1/functions/${id}`, { token: demo })).status).toBe(404);
    expect((await t.request('PUT', `/function/v1/functions/${id}`, { token: demo, body: 'name=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })).status).toBe(404);
    expect((await t.request('DELETE', `/function/v1/functions/${id}`, { token: demo })).status).toBe(404);
    const run = await t.request('POST', '/function/v1/executions', { token: demo, json: { function_id: id } });
    expect(run.status).toBe(404);
    const demoList = (await t.request('GET', '/function/v1/functions', { token: demo })).json().functions;
    expect(demoList.some((f: { id: string }) => f.id === id)).toBe(false);
    expect((await t.request('GET', '/function/v1/functions?all_projects=true', { token: demo })).status).toBe(403);
    const all = (await t.request('GET', '/function/v1/functions?all_projects=true', { token: admin })).json().functions;
    expect(all.some((f: { id: string }) => f.id === id)).toBe(true);
  });

  test('an oversized JSON body → 413 and nothing stored', async () => {
    const res = await t.request('POST', '/function/v1/executions', { token: demo, body: JSON.stringify({ function_id: 'x', input: 'a'.repeat(2 * 1024 * 1024) }), headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(res.json().faultstring).toContain('larger than');
  });

  test('runtime management is admin-only; an unknown image is refused', async () => {
    expect((await t.request('POST', '/function/v1/runtimes', { token: demo, json: { image: 'python3', name: 'mine' } })).status).toBe(403);
    expect((await t.request('POST', '/function/v1/runtimes', { token: admin, json: { image: 'no/such-image' } })).status).toBe(400);
    const rt = await t.request('POST', '/function/v1/runtimes', { token: admin, json: { image: 'openstackqinling/python3-runtime', name: 'py3-qinling', is_public: true, trusted: true } });
    expect(rt.status).toBe(201);
    expect(rt.json()).toMatchObject({ image: 'openstackqinling/python3-runtime', status: 'available', is_public: true });
    const pool = await t.request('GET', `/function/v1/runtimes/${rt.json().id}/pool`, { token: admin });
    expect(pool.json()).toMatchObject({ name: rt.json().id, capacity: { total: expect.any(Number), available: expect.any(Number) } });
    expect((await t.request('DELETE', `/function/v1/runtimes/${rt.json().id}`, { token: admin })).status).toBe(204);
    // A runtime that functions use cannot go.
    expect((await createFunction(demo, { runtime_id: pythonRuntime, code: '{"source": "package"}', entry: 'hello.main' }, await helloPackage())).status).toBe(201);
    const inUse = await t.request('DELETE', `/function/v1/runtimes/${pythonRuntime}`, { token: admin });
    expect(inUse.status).toBe(403);
    expect(inUse.json().faultstring).toBe(`Runtime ${pythonRuntime} is still in use.`);
  });
});

describe('update and delete', () => {
  test('timeout-only update; code update needs a new checksum; image code cannot change', async () => {
    const pkg = await helloPackage();
    const created = (await createFunction(demo, { runtime_id: pythonRuntime, code: '{"source": "package"}', entry: 'hello.main' }, pkg)).body;
    const upd = await t.request('PUT', `/function/v1/functions/${created.id}`, { token: demo, body: 'timeout=15', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(upd.status).toBe(200);
    expect(upd.json()).toMatchObject({ timeout: 15, updated_at: expect.any(String) });
    const bad = await t.request('PUT', `/function/v1/functions/${created.id}`, { token: demo, body: 'timeout=0', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(bad.status).toBe(400);

    const same = new FormData();
    same.append('code', JSON.stringify({ source: 'package', md5sum: created.code.md5sum }));
    same.append('package', new Blob([pkg]), 'p.zip');
    const r1 = await fetch(`${t.platform.baseUrl}/function/v1/functions/${created.id}`, { method: 'PUT', headers: { 'X-Auth-Token': demo }, body: same });
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { faultstring: string }).faultstring).toBe('The function code checksum is not changed.');

    // python-qinlingclient 5.1.1's shape: source=package plus the file, no md5.
    const next = await makeZip({ 'hello.py': HELLO.replace('Hello', 'Hi') });
    const cli = new FormData();
    cli.append('source', 'package');
    cli.append('package', new Blob([next]), 'p.zip');
    const r2 = await fetch(`${t.platform.baseUrl}/function/v1/functions/${created.id}`, { method: 'PUT', headers: { 'X-Auth-Token': demo }, body: cli });
    expect(r2.status).toBe(200);
    expect(((await r2.json()) as { code: { md5sum: string } }).code.md5sum).toBe(createHash('md5').update(next).digest('hex'));
    const run = (await t.request('POST', '/function/v1/executions', { token: demo, json: { function_id: created.id } })).json();
    expect(JSON.parse(run.result).output).toBe('Hi, World');

    const img = (await createFunction(demo, { code: '{"source": "image", "image": "busybox"}', name: 'img' })).body;
    expect(img).toMatchObject({ runtime_id: null, entry: null });
    const r3 = await t.request('PUT', `/function/v1/functions/${img.id}`, { token: demo, body: 'cpu=200', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(r3.json().faultstring).toBe('The image type function code can not be changed.');
    const dl = await t.request('GET', `/function/v1/functions/${img.id}?download=true`, { token: demo });
    expect(dl.status).toBe(405);

    expect((await t.request('DELETE', `/function/v1/functions/${created.id}`, { token: demo })).status).toBe(204);
    expect((await t.request('GET', `/function/v1/functions/${created.id}`, { token: demo })).status).toBe(404);
  });
});
