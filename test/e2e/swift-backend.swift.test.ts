// The platform started with CAIRN_OBJECT_STORE=swift (a real Swift upstream, settings in
// test/helpers/swift.ts) serving the real `swift` CLI, and running a function whose package the
// SystemStore keeps in that upstream. Part of the `swift` jest project, not of `npm test`.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';
import { swiftBackendEnv, swiftTestSettings } from '../helpers/swift';
import { makeZip } from '../helpers/zip';
import { runCli } from './cli';

jest.setTimeout(180_000);

let t: TestPlatform;
let env: Record<string, string>;
let token: string;
let projectId: string;
let work: string;

beforeAll(async () => {
  env = swiftBackendEnv();
  t = await startTestPlatform(env);
  token = await t.login('demo');
  projectId = t.platform.credentials.demo.projectId;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-swift-e2e-'));
});
afterAll(async () => {
  await t?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const swift = (args: string[]) =>
  runCli('swift', ['--os-storage-url', `${t.platform.baseUrl}/v1/AUTH_${projectId}`, '--os-auth-token', token, ...args], { HOME: work }, { cwd: work });
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** GET straight from the upstream Swift with the reseller-admin credential. */
async function upstreamGet(accountSuffix: string, rest: string): Promise<Response> {
  const s = swiftTestSettings();
  const auth = await fetch(s.authUrl, { headers: { 'X-Auth-User': s.user, 'X-Auth-Key': s.key } });
  const base = auth.headers.get('x-storage-url')!.replace(/\/[^/]*$/, '');
  return fetch(`${base}/${encodeURIComponent(env.CAIRN_SWIFT_ACCOUNT_PREFIX + accountSuffix)}/${rest}`, { headers: { 'X-Auth-Token': auth.headers.get('x-auth-token')! } });
}

test('swift CLI: upload a file and a directory, list with prefix, download byte-identical, post, delete', async () => {
  const data = randomBytes(2 * 1024 * 1024 + 3);
  fs.writeFileSync(path.join(work, 'blob.bin'), data);
  let r = await swift(['upload', 'photos', 'blob.bin']);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('blob.bin');
  fs.mkdirSync(path.join(work, 'tree/a'), { recursive: true });
  fs.writeFileSync(path.join(work, 'tree/a/one.txt'), 'one\n');
  fs.writeFileSync(path.join(work, 'tree/two.txt'), 'two\n');
  r = await swift(['upload', 'photos', 'tree']);
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['tree/a/one.txt', 'tree/two.txt']);

  expect((await swift(['list', 'photos'])).stdout).toBe('blob.bin\ntree/a/one.txt\ntree/two.txt\n');
  expect((await swift(['list', 'photos', '--prefix', 'tree/', '-d', '/'])).stdout).toBe('tree/a/\ntree/two.txt\n');
  expect((await swift(['stat'])).stdout).toMatch(/Objects: 3/);

  r = await swift(['download', 'photos', 'blob.bin', '-o', 'back.bin']);
  expect(r.code).toBe(0);
  expect(md5(fs.readFileSync(path.join(work, 'back.bin')))).toBe(md5(data));
  // The bytes really live upstream, in the project's account.
  const up = await upstreamGet(projectId, 'photos/blob.bin');
  expect(md5(Buffer.from(await up.arrayBuffer()))).toBe(md5(data));

  r = await swift(['post', 'photos', 'tree/two.txt', '-m', 'Color:blue']);
  expect(r.code).toBe(0);
  expect((await swift(['stat', 'photos', 'tree/two.txt'])).stdout).toMatch(/Meta Color: blue/);

  r = await swift(['delete', 'photos', 'tree/two.txt']);
  expect(r.stdout.trim()).toBe('tree/two.txt');
  r = await swift(['delete', 'photos']);
  expect(r.code).toBe(0);
  expect((await swift(['list'])).stdout).toBe('');
  expect((await upstreamGet(projectId, 'photos')).status).toBe(404);
});

test('a function whose package the SystemStore keeps upstream runs', async () => {
  const runtimes = (await t.request('GET', '/function/v1/runtimes', { token })).json().runtimes as { id: string; name: string }[];
  const form = new FormData();
  form.append('runtime_id', runtimes.find((x) => x.name === 'python3')!.id);
  form.append('code', '{"source": "package"}');
  form.append('entry', 'hello.main');
  form.append('package', new Blob([await makeZip({ 'hello.py': "def main(name='World', **kwargs):\n    return 'Hello, %s' % name\n" })]), 'p.zip');
  const created = await fetch(`${t.platform.baseUrl}/function/v1/functions`, { method: 'POST', headers: { 'X-Auth-Token': token }, body: form });
  const fn = (await created.json()) as { id: string };
  expect(created.status).toBe(201);

  const listing = (await (await upstreamGet('_.cairn', 'system?format=json')).json()) as { name: string }[];
  expect(listing.some((o) => o.name.includes(fn.id))).toBe(true);

  const res = await t.request('POST', '/function/v1/executions', { token, json: { function_id: fn.id, sync: true, input: '{"name": "Swift"}' } });
  expect(res.status).toBe(201);
  const e = res.json();
  expect(e.status).toBe('success');
  expect(JSON.parse(e.result).output).toBe('Hello, Swift');
});
