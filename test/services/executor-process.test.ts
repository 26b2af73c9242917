// The distributed mode in one test process: an executor role (real bwrap sandboxes, its internal
// API on loopback) and an api role pointed at it, each configured through CAIRN_* settings as
// their bundles would be. Executions cross the internal HTTP API; function code reaches the api's
// object store back through the executor's relay.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../services/core/config';
import { INTERNAL_PATHS, INTERNAL_TOKEN_HEADER } from '../../services/core/internal-api';
import { startExecutorProcess, type ExecutorProcess } from '../../services/executor-process';
import { freePort } from '../helpers/process';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';
import { makeZip } from '../helpers/zip';

jest.setTimeout(120_000);

const TOKEN = 'split-test-internal-token-0123456789';
const dirs: string[] = [];
const tmpDir = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-split-'));
  dirs.push(d);
  return d;
};

let executor: ExecutorProcess;
let api: TestPlatform;
let demo: string;

beforeAll(async () => {
  // The api's port must be known before the executor starts (its relay points there).
  const apiPort = await freePort();
  executor = await startExecutorProcess(
    loadConfig({}, { CAIRN_ROLE: 'executor', CAIRN_PORT: '0', CAIRN_DATA_DIR: tmpDir(), CAIRN_POOL_SIZE: '0', CAIRN_INTERNAL_TOKEN: TOKEN, CAIRN_API_URL: `http://127.0.0.1:${apiPort}` }),
  );
  api = await startTestPlatform({ CAIRN_ROLE: 'api', CAIRN_PORT: String(apiPort), CAIRN_INTERNAL_TOKEN: TOKEN, CAIRN_EXECUTOR_URL: executor.baseUrl }, tmpDir());
  demo = await api.login('demo');
});

afterAll(async () => {
  await api?.stop();
  await executor?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function createFunction(t: TestPlatform, token: string, files: Record<string, string>, entry: string): Promise<string> {
  const runtimes = (await t.request('GET', '/function/v1/runtimes', { token })).json().runtimes as { id: string; name: string }[];
  const form = new FormData();
  form.append('runtime_id', runtimes.find((r) => r.name === 'python3')!.id);
  form.append('code', '{"source": "package"}');
  form.append('entry', entry);
  form.append('package', new Blob([await makeZip(files)]), 'p.zip');
  const res = await fetch(`${t.platform.baseUrl}/function/v1/functions`, { method: 'POST', headers: { 'X-Auth-Token': token }, body: form });
  const body = (await res.json()) as { id: string };
  if (res.status !== 201) throw new Error(JSON.stringify(body));
  return body.id;
}

test('an execution through the split: the api records it, the executor runs it, the code calls the object store back', async () => {
  const code = [
    'import urllib.request',
    'def main(name, context=None, **kwargs):',
    "    req = urllib.request.Request(context['endpoints']['object-store'], headers={'X-Auth-Token': context['token']})",
    "    status = urllib.request.urlopen(req).status",
    "    print('account answered', status)",
    "    return 'Hello, %s (%d)' % (name, status)",
    '',
  ].join('\n');
  const id = await createFunction(api, demo, { 'hello.py': code }, 'hello.main');
  const res = await api.request('POST', '/function/v1/executions', { token: demo, json: { function_id: id, sync: true, input: '{"name": "split"}' } });
  expect(res.status).toBe(201);
  const e = res.json();
  expect([e.status, JSON.parse(e.result).output]).toEqual(['success', 'Hello, split (204)']);
  const log = await api.request('GET', `/function/v1/executions/${e.id}/log`, { token: demo });
  expect(log.text).toContain('account answered 204');
  // The pool views come from the executor.
  const admin = await api.login('admin');
  const workers = await api.request('GET', `/function/v1/functions/${id}/workers`, { token: admin });
  expect(workers.json().workers).toHaveLength(1);
});

test('a wrong internal token gets 401 internal.unauthorized from the executor and from the api', async () => {
  const run = await fetch(`${executor.baseUrl}${INTERNAL_PATHS.runs}`, { method: 'POST', headers: { [INTERNAL_TOKEN_HEADER]: 'not-the-token-at-all-xx', 'content-type': 'application/json' }, body: '{}' });
  expect([run.status, ((await run.json()) as { error: { code: string } }).error.code]).toEqual([401, 'internal.unauthorized']);
  const pool = await fetch(`${executor.baseUrl}${INTERNAL_PATHS.pool('python3')}`);
  expect(pool.status).toBe(401);
  const code = await fetch(`${api.platform.baseUrl}${INTERNAL_PATHS.code('package:x:y')}`, { headers: { [INTERNAL_TOKEN_HEADER]: 'wrong' } });
  expect([code.status, ((await code.json()) as { error: { code: string } }).error.code]).toEqual([401, 'internal.unauthorized']);
  // With the token, the executor answers.
  const ok = await fetch(`${executor.baseUrl}${INTERNAL_PATHS.pool('python3')}`, { headers: { [INTERNAL_TOKEN_HEADER]: TOKEN } });
  expect(ok.status).toBe(200);
});

test('with the executor down, the function API answers 503 executor.unavailable and records nothing', async () => {
  const nobody = await freePort();
  const lonely = await startTestPlatform({ CAIRN_ROLE: 'api', CAIRN_INTERNAL_TOKEN: TOKEN, CAIRN_EXECUTOR_URL: `http://127.0.0.1:${nobody}` }, tmpDir());
  try {
    const token = await lonely.login('demo');
    const id = await createFunction(lonely, token, { 'hello.py': 'def main(**kw):\n    return 1\n' }, 'hello.main');
    const res = await lonely.request('POST', '/function/v1/executions', { token, json: { function_id: id, sync: true } });
    expect([res.status, res.json().code]).toEqual([503, 'executor.unavailable']);
    expect(res.json().faultstring).toMatch(/executor cannot be reached/);
    const list = await lonely.request('GET', '/function/v1/executions', { token });
    expect(list.json().executions).toEqual([]);
  } finally {
    await lonely.stop();
  }
});
