// Storlets and ZeroCloud jobs in the distributed mode: the api stages the objects and sends each
// plan, or each warm storlet call, to the executor (core/run-wire.ts), which runs it in its
// sandboxes and warm workers. The api here is given a bubblewrap that does not exist, so anything
// it ran itself would fail; every answer is compared byte for byte with a one-process platform's.
// A second api with warm workers off sends storlet calls as cold plans. Last, the executor stops:
// 503 executor.unavailable.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../services/core/config';
import { INTERNAL_PATHS, INTERNAL_TOKEN_HEADER } from '../../services/core/internal-api';
import { frameHeader, RUN_FRAMES_TYPE } from '../../services/core/run-wire';
import type { Run } from '../../services/core/runs';
import { startExecutorProcess, type ExecutorProcess } from '../../services/executor-process';
import { freePort } from '../helpers/process';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';
import { RAISER, SLEEPER } from '../helpers/storlet-sources';

jest.setTimeout(120_000);

const TOKEN = 'split-runs-internal-token-0123456789';
const SETTINGS = { CAIRN_POOL_SIZE: '0', CAIRN_STORLET_TIMEOUT: '1' };
const dirs: string[] = [];
const tmpDir = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-split-runs-'));
  dirs.push(d);
  return d;
};

const UPPER = `
import os

class UpperStorlet(object):
    def __init__(self, logger):
        self.logger = logger

    def __call__(self, in_files, out_files, params):
        meta = in_files[0].get_metadata()
        meta['transformed'] = 'upper'
        with open(os.path.join(params['storlet_execution_path'], 'greeting.txt')) as f:
            greeting = f.read().strip()
        out_files[0].set_metadata(meta)
        data = in_files[0].read()
        out_files[0].write(greeting.encode() + b' ' + data.upper() + params.get('suffix', '').encode() + params.get('mode', '').encode())
        out_files[0].close()
`;

// Module state survives between the calls a warm worker serves, and only there.
const COUNTER = `
calls = 0

class Counter(object):
    def __init__(self, logger):
        pass

    def __call__(self, in_files, out_files, params):
        global calls
        calls += 1
        out_files[0].set_metadata({'calls': str(calls)})
        out_files[0].write(str(calls))
        out_files[0].close()
`;

/** One platform seen as a storage client of its demo account. */
interface Side {
  t: TestPlatform;
  token: string;
  account: string;
  req(method: string, p: string, opts?: { headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: Headers; text: string }>;
}

let executor: ExecutorProcess;
let split: Side;
/** The split api with warm storlet workers off: every storlet call is a cold plan. */
let cold: Side;
let local: Side;

async function side(t: TestPlatform): Promise<Side> {
  const token = await t.login('demo');
  const account = `/v1/AUTH_${t.platform.credentials.demo.projectId}`;
  const s: Side = { t, token, account, req: (method, p, opts = {}) => t.request(method, p ? `${account}/${p}` : account, { token, headers: opts.headers, body: opts.body }) };
  const ok = async (method: string, p: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<void> => {
    const r = await s.req(method, p, opts);
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
  };
  for (const c of ['storlet', 'dependency', 'data', 'logs', 'out']) await ok('PUT', c);
  await ok('POST', '', { headers: { 'X-Account-Meta-Storlet-Enabled': 'True' } });
  await ok('PUT', 'dependency/greeting.txt', { headers: { 'X-Object-Meta-Storlet-Dependency-Version': '1' }, body: 'hi' });
  const deploy = (name: string, main: string, code: string, extra: Record<string, string> = {}): Promise<void> =>
    ok('PUT', `storlet/${name}`, {
      headers: { 'Content-Type': 'application/octet-stream', 'X-Object-Meta-Storlet-Language': 'Python', 'X-Object-Meta-Storlet-Interface-Version': '1.0', 'X-Object-Meta-Storlet-Object-Metadata': 'no', 'X-Object-Meta-Storlet-Main': main, ...extra },
      body: code,
    });
  await deploy('upper.py', 'upper.UpperStorlet', UPPER, { 'X-Object-Meta-Storlet-Dependency': 'greeting.txt' });
  await deploy('raiser.py', 'raiser.Raiser', RAISER);
  await deploy('sleeper.py', 'sleeper.Sleeper', SLEEPER);
  await deploy('counter.py', 'counter.Counter', COUNTER);
  await ok('PUT', 'data/doc.txt', { headers: { 'X-Object-Meta-Color': 'blue', 'Content-Type': 'text/plain' }, body: 'hello world' });
  for (let i = 1; i <= 3; i++) await ok('PUT', `logs/log_${i}.txt`, { body: `c\nb\na${i}\n` });
  return s;
}

beforeAll(async () => {
  const apiPort = await freePort();
  executor = await startExecutorProcess(
    loadConfig({}, { ...SETTINGS, CAIRN_ROLE: 'executor', CAIRN_PORT: '0', CAIRN_DATA_DIR: tmpDir(), CAIRN_INTERNAL_TOKEN: TOKEN, CAIRN_API_URL: `http://127.0.0.1:${apiPort}` }),
  );
  const api = { ...SETTINGS, CAIRN_ROLE: 'api', CAIRN_INTERNAL_TOKEN: TOKEN, CAIRN_EXECUTOR_URL: executor.baseUrl, CAIRN_BWRAP: '/nonexistent/bwrap' };
  const [a, b, c] = await Promise.all([
    startTestPlatform({ ...api, CAIRN_PORT: String(apiPort) }, tmpDir()),
    // The executor's relay points at the first api; storlet calls never need it.
    startTestPlatform({ ...api, CAIRN_STORLET_WORKERS: '0' }, tmpDir()),
    startTestPlatform(SETTINGS, tmpDir()),
  ]);
  [split, cold, local] = await Promise.all([side(a), side(b), side(c)]);
});

afterAll(async () => {
  await split?.t.stop();
  await cold?.t.stop();
  await local?.t.stop();
  await executor?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Status, body and the headers a run decides, which must not depend on where it ran. */
async function both(method: string, p: string, opts: { headers?: Record<string, string>; body?: string } = {}, headers: string[] = [], sides = [split, local]) {
  const view = async (s: Side) => {
    const r = await s.req(method, p, opts);
    return { status: r.status, text: r.text, headers: Object.fromEntries(headers.map((h) => [h, r.headers.get(h)])) };
  };
  const a = await view(sides[0]);
  for (const s of sides.slice(1)) expect(await view(s)).toEqual(a);
  return a;
}

/** The storlet cases: warm in the executor, cold in the executor, and in one process. */
const storletSides = (): Side[] => [split, cold, local];

test('a storlet GET with parameters: metadata then data, as in one process', async () => {
  const r = await both('GET', 'data/doc.txt?suffix=!', { headers: { 'X-Run-Storlet': 'upper.py', 'X-Storlet-Parameter-1': 'mode:%20fast' } }, [
    'content-length',
    'content-type',
    'x-object-meta-transformed',
    'x-object-meta-color',
  ], storletSides());
  expect(r).toEqual({ status: 200, text: 'hi HELLO WORLD! fast', headers: { 'content-length': '20', 'content-type': 'text/plain', 'x-object-meta-transformed': 'upper', 'x-object-meta-color': 'blue' } });
  // The api's own work directories are gone once the call answered.
  for (const s of [split, cold]) expect(fs.readdirSync(path.join(s.t.dataDir, 'runs'))).toEqual([]);
});

test("warm workers live in the executor: a storlet's module state carries over to its next call", async () => {
  const get = () => both('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'counter.py' } }, ['x-object-meta-calls']);
  expect(await get()).toEqual({ status: 200, text: '1', headers: { 'x-object-meta-calls': '1' } });
  expect(await get()).toEqual({ status: 200, text: '2', headers: { 'x-object-meta-calls': '2' } });
  // Cold, every call is the first.
  expect((await cold.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'counter.py' } })).text).toBe('1');
});

test('a storlet that raises or runs past its timeout answers as in one process', async () => {
  const raised = await both('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'raiser.py' } }, [], storletSides());
  expect(raised.status).toBe(500);
  expect(raised.text).toContain('cannot handle this object');
  const slow = await both('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'sleeper.py' } }, [], storletSides());
  expect(slow.status).toBe(500);
  expect(slow.text).toContain('Storlet execution timed out');
});

test("the ZeroCloud guide's Python script POST", async () => {
  const script = '#!file://python2.7:python\nimport sys\nprint("Hello from ZeroVM!")\nprint("sys.platform is \'%s\'" % sys.platform)\n';
  const r = await both('POST', '', { headers: { 'X-Zerovm-Execute': '1.0', 'Content-Type': 'application/python' }, body: script }, [
    'content-type',
    'x-nexe-system',
    'x-nexe-status',
    'x-nexe-retcode',
  ]);
  expect(r.status).toBe(200);
  expect(r.text).toBe("Hello from ZeroVM!\nsys.platform is 'linux'\n");
  expect(r.headers['x-nexe-status']).toBe('ok.');
});

test('a wildcard job: one node per object, outputs committed by the api', async () => {
  const job = [
    {
      name: 'sort',
      exec: { path: 'file://python3:python', args: `-c 'import sys; data = open("/dev/input").read().split(); sys.stdout.write("\\n".join(sorted(data)) + "\\n")'` },
      devices: [{ name: 'python3' }, { name: 'input', path: 'swift://~/logs/log_*.txt' }, { name: 'stdout', path: 'swift://~/out/sorted_*.txt', content_type: 'text/plain' }],
    },
  ];
  const r = await both('POST', '', { headers: { 'X-Zerovm-Execute': '1.0', 'Content-Type': 'application/json' }, body: JSON.stringify(job) }, ['x-nexe-system', 'x-nexe-status', 'x-nexe-retcode']);
  expect(r.status).toBe(200);
  expect(r.headers).toEqual({ 'x-nexe-system': 'sort-1,sort-2,sort-3', 'x-nexe-status': 'ok.,ok.,ok.', 'x-nexe-retcode': '0,0,0' });
  for (let i = 1; i <= 3; i++) {
    const o = await both('GET', `out/sorted_${i}.txt`, {}, ['content-type']);
    expect(o).toEqual({ status: 200, text: `a${i}\nb\nc\n`, headers: { 'content-type': 'text/plain' } });
  }
});

test('the executor runs only what is in the job directory, and the platform files, read-only', async () => {
  const run = (over: Partial<Run>): Run => ({
    name: 'n',
    program: '/usr/bin/true',
    args: [],
    env: {},
    stdoutPath: 'job/stdout',
    stderrPath: 'job/stderr',
    devices: [],
    limits: { timeoutMs: 1000, memoryBytes: 64 << 20, processes: 4, maxWriteBytes: 1024 },
    ...over,
  });
  const post = async (r: Run) => {
    const body = Buffer.concat([frameHeader({ t: 'plan', plan: { timeoutMs: 1000, runs: [r] } }), frameHeader({ t: 'end' })]);
    const res = await fetch(`${executor.baseUrl}${INTERNAL_PATHS.runPlans}`, { method: 'POST', headers: { [INTERNAL_TOKEN_HEADER]: TOKEN, 'content-type': RUN_FRAMES_TYPE }, body });
    return { status: res.status, body: res.headers.get('content-type') === 'application/json' ? ((await res.json()) as { error: { code: string; message: string } }) : undefined };
  };
  for (const bad of [
    run({ devices: [{ kind: 'read', hostPath: '/etc/passwd', sandboxPath: '/dev/input' }] }),
    run({ stdoutPath: '/tmp/out' }),
    run({ devices: [{ kind: 'write', hostPath: '../../escape', sandboxPath: '/dev/output' }] }),
    run({ imageDir: '/usr' }),
  ]) {
    const r = await post(bad);
    expect([r.status, r.body?.error.code]).toEqual([400, 'request.invalid_param']);
  }
  // The shims' directory is a platform file: that plan runs.
  const ok = await post(run({ devices: [{ kind: 'read', hostPath: executor.config.executor.runtimeDir, sandboxPath: '/cairn' }] }));
  expect(ok.status).toBe(200);
});

test('with the executor down, storlets and ZeroCloud jobs answer 503 executor.unavailable', async () => {
  await executor.stop();
  for (const s of [split, cold]) {
    const storlet = await s.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.py' } });
    expect(storlet.status).toBe(503);
    expect(storlet.text).toMatch(/executor cannot be reached/);
  }
  const job = await split.req('POST', '', { headers: { 'X-Zerovm-Execute': '1.0', 'Content-Type': 'application/python' }, body: '#!file://python2.7:python\nprint(1)\n' });
  expect(job.status).toBe(503);
  expect(job.text).toMatch(/executor cannot be reached/);
});
