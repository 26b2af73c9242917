// Warm storlet workers (services/executor/runs/storlet-workers.ts), through real HTTP and real
// sandboxes. Reuse is observed through module state: the storlets below count their calls in a
// module-level variable, which only a reused worker remembers. Also: redeploys and other accounts
// get their own workers, inputs and /tmp do not outlive a call, failures discard the worker,
// idle workers expire and make room (LRU), and with warm workers off every call runs cold.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startStorage, PROJECT_B, TOKEN_B, type StorageHarness } from './harness';
import { NO_METADATA } from '../../../helpers/storlet-sources';

const HEADERS = (language: string, main: string): Record<string, string> => ({
  'Content-Type': 'application/octet-stream',
  'X-Object-Meta-Storlet-Language': language,
  'X-Object-Meta-Storlet-Interface-Version': '1.0',
  'X-Object-Meta-Storlet-Object-Metadata': 'no',
  'X-Object-Meta-Storlet-Main': main,
});

/** Counts its calls; `fail=1` raises, `sleep=1` outlives the timeout, `hog=1` outgrows the memory limit; reports what it sees. */
const COUNTER = `
import os, time

calls = 0

class Counter(object):
    def __init__(self, logger):
        pass

    def __call__(self, in_files, out_files, params):
        global calls
        calls += 1
        if params.get('fail') == '1':
            raise ValueError('asked to fail')
        if params.get('sleep') == '1':
            time.sleep(60)
        if params.get('hog') == '1':
            hog = bytearray(512 << 20)
        tmp_before = sorted(os.listdir('/tmp'))
        with open('/tmp/leftover', 'w') as f:
            f.write('x')
        data = in_files[0].read()
        out_files[0].set_metadata({'calls': str(calls)})
        out_files[0].write(('%d %s tmp=%s inbox=%s' % (calls, data.decode(), ','.join(tmp_before), ','.join(sorted(os.listdir('/inbox') if os.path.isdir('/inbox') else [])))).encode())
        out_files[0].close()
`;

const NODE_COUNTER = `
let calls = 0;
exports.count = async (inFiles, outFiles) => {
  calls += 1;
  const data = await inFiles[0].readAll();
  outFiles[0].setMetadata({ calls: String(calls) });
  outFiles[0].end(calls + ' ' + data.toString());
};
`;

/** Pipes without awaiting: the worker must still see the call end, call after call. */
const NODE_PIPER = `
let calls = 0;
exports.pipe = (inFiles, outFiles) => {
  calls += 1;
  outFiles[0].setMetadata({ calls: String(calls) });
  inFiles[0].pipe(outFiles[0]);
};
`;

const CONCAT = `
class Concat(object):
    def __init__(self, logger):
        pass

    def __call__(self, in_files, out_files, params):
        out_files[0].set_metadata({'colors': ','.join(f.get_metadata().get('color', '-') for f in in_files)})
        for f in in_files:
            out_files[0].write(f.read())
        out_files[0].close()
`;


/** Bypasses the shim: writes a data frame straight to the worker's socket, before any metadata. */
const FORGER = `
import os, struct

class Forger(object):
    def __init__(self, logger):
        pass

    def __call__(self, in_files, out_files, params):
        os.write(3, struct.pack('>cI', b'D', 3) + b'abc')
        out_files[0].set_metadata({})
        out_files[0].close()
`;

async function setUp(h: StorageHarness, token?: string, account?: string): Promise<void> {
  const url = (p: string): string => (account ? `/v1/AUTH_${account}/${p}` : p);
  const opts = token ? { token } : {};
  expect((await h.req('POST', account ? `/v1/AUTH_${account}` : '', { ...opts, headers: { 'X-Account-Meta-Storlet-Enabled': 'True' } })).status).toBe(204);
  for (const c of ['storlet', 'data']) expect((await h.req('PUT', url(c), opts)).status).toBe(201);
  const deploy = async (name: string, language: string, main: string, code: string): Promise<void> =>
    expect((await h.req('PUT', url(`storlet/${name}`), { ...opts, headers: HEADERS(language, main), body: code })).status).toBe(201);
  await deploy('counter.py', 'Python', 'counter.Counter', COUNTER);
  await deploy('other.py', 'Python', 'other.Counter', COUNTER);
  await deploy('counter.js', 'nodejs', 'counter.count', NODE_COUNTER);
  await deploy('piper.js', 'nodejs', 'piper.pipe', NODE_PIPER);
  await deploy('concat.py', 'Python', 'concat.Concat', CONCAT);
  await deploy('nometa.py', 'Python', 'nometa.NoMeta', NO_METADATA);
  await deploy('forger.py', 'Python', 'forger.Forger', FORGER);
  expect((await h.req('PUT', url('data/doc.txt'), { ...opts, headers: { 'X-Object-Meta-Color': 'blue' }, body: 'hello' })).status).toBe(201);
  expect((await h.req('PUT', url('data/second.txt'), { ...opts, headers: { 'X-Object-Meta-Color': 'red' }, body: '+second' })).status).toBe(201);
}

/** The number of calls the serving worker has seen (the first word of the counter's output). */
async function calls(h: StorageHarness, storlet = 'counter.py', opts: { token?: string; account?: string; query?: string } = {}): Promise<number> {
  const p = `${opts.account ? `/v1/AUTH_${opts.account}/` : ''}data/doc.txt${opts.query ?? ''}`;
  const r = await h.req('GET', p, { ...(opts.token ? { token: opts.token } : {}), headers: { 'X-Run-Storlet': storlet } });
  expect(r.status).toBe(200);
  expect(r.headers.get('x-object-meta-calls')).toBe(r.text.split(' ')[0]);
  return Number(r.text.split(' ')[0]);
}

/** Every worker inbox on the host (runs/workers/<pool>/<worker>/inbox), with what it holds. */
function inboxes(h: StorageHarness): string[][] {
  const root = path.join(h.dataDir, 'runs', 'workers');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .flatMap((pool) => fs.readdirSync(path.join(root, pool)).map((w) => path.join(root, pool, w, 'inbox')))
    .filter((inbox) => fs.existsSync(inbox))
    .map((inbox) => fs.readdirSync(inbox));
}

describe('warm workers (default settings)', () => {
  let h: StorageHarness;
  beforeAll(async () => {
    h = await startStorage({ runs: true, env: { CAIRN_STORLET_TIMEOUT: '1' } });
    await setUp(h);
    await setUp(h, TOKEN_B, PROJECT_B);
  });
  afterAll(() => h.stop());

  test('a storlet PUT is warm too: the upload is received first, then linked into the inbox', async () => {
    expect((await h.req('PUT', 'data/up.txt', { headers: { 'X-Run-Storlet': 'concat.py', 'X-Object-Meta-Color': 'green' }, body: 'abc' })).status).toBe(201);
    const stored = await h.req('GET', 'data/up.txt');
    expect(stored.text).toBe('abc');
    expect(stored.headers.get('x-object-meta-colors')).toBe('green');
    // One worker was started for it, and its inbox is empty again.
    expect(inboxes(h)).toEqual([[]]);
  });

  test('a second call reuses the worker: module state survives, inputs and /tmp do not', async () => {
    const first = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'counter.py' } });
    expect(first.text).toBe('1 hello tmp= inbox=input');
    // The input was hard-linked into the inbox for the call and is gone afterwards.
    expect(inboxes(h)).toEqual([[], []]);
    const second = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'counter.py' } });
    expect(second.text).toBe('2 hello tmp= inbox=input');
    expect(inboxes(h)).toEqual([[], []]);
  });

  test('a redeploy (even of the same bytes) gets a fresh worker', async () => {
    const before = await calls(h);
    expect(before).toBeGreaterThan(1);
    expect((await h.req('PUT', 'storlet/counter.py', { headers: HEADERS('Python', 'counter.Counter'), body: COUNTER })).status).toBe(201);
    expect(await calls(h)).toBe(1);
    expect(await calls(h)).toBe(2);
  });

  test('two accounts with the same storlet never share a worker; neither do two storlets', async () => {
    const a = await calls(h);
    expect(await calls(h, 'counter.py', { token: TOKEN_B, account: PROJECT_B })).toBe(1);
    expect(await calls(h, 'counter.py', { token: TOKEN_B, account: PROJECT_B })).toBe(2);
    expect(await calls(h, 'other.py')).toBe(1);
    expect(await calls(h)).toBe(a + 1);
  });

  test('a raise, a timeout or a memory kill discards the worker; the next call gets a fresh one', async () => {
    await calls(h, 'other.py');
    expect(await calls(h, 'other.py')).toBeGreaterThan(1);
    const raised = await h.req('GET', 'data/doc.txt?fail=1', { headers: { 'X-Run-Storlet': 'other.py' } });
    expect(raised.status).toBe(500);
    expect(raised.text).toBe('Storlet execution failed: ValueError: asked to fail\n');
    expect(await calls(h, 'other.py')).toBe(1);
    const slow = await h.req('GET', 'data/doc.txt?sleep=1', { headers: { 'X-Run-Storlet': 'other.py' } });
    expect(slow.status).toBe(500);
    expect(slow.text).toBe('Storlet execution timed out\n');
    expect(await calls(h, 'other.py')).toBe(1);
    const hog = await h.req('GET', 'data/doc.txt?hog=1', { headers: { 'X-Run-Storlet': 'other.py' } });
    expect(hog.status).toBe(500);
    // A cgroup memory kill where cgroups are writable, else MemoryError under the address-space rlimit.
    expect(hog.text).toMatch(/^Storlet execution failed: (killed for using more than \d+ bytes of memory|MemoryError)/);
    expect(await calls(h, 'other.py')).toBe(1);
    expect(inboxes(h).flat()).toEqual([]);
  });

  test('data sent around the shim before the metadata fails the call', async () => {
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'forger.py' } });
    expect(r.status).toBe(500);
    expect(r.text).toBe('Storlet execution failed: output data arrived before its metadata\n');
  });

  test('Node.js storlets are warm too', async () => {
    expect(await calls(h, 'counter.js')).toBe(1);
    expect(await calls(h, 'counter.js')).toBe(2);
    expect((await h.req('PUT', 'storlet/counter.js', { headers: HEADERS('nodejs', 'counter.count'), body: NODE_COUNTER })).status).toBe(201);
    expect(await calls(h, 'counter.js')).toBe(1);
    for (const n of [1, 2]) {
      const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'piper.js' } });
      expect(r.text).toBe('hello');
      expect(r.headers.get('x-object-meta-calls')).toBe(String(n));
    }
  });
});

describe('pool limits: one worker at most, 1 s idle', () => {
  let h: StorageHarness;
  beforeAll(async () => {
    h = await startStorage({ runs: true, env: { CAIRN_STORLET_WORKERS: '1', CAIRN_STORLET_IDLE_SECONDS: '1' } });
    await setUp(h);
  });
  afterAll(() => h.stop());

  test('a new storlet evicts the least recently used idle worker; an idle worker expires', async () => {
    expect(await calls(h)).toBe(1);
    expect(await calls(h)).toBe(2);
    expect(await calls(h, 'other.py')).toBe(1);
    expect(await calls(h)).toBe(1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await calls(h)).toBe(1);
  });

  test('with the one worker busy, concurrent calls run cold and still answer', async () => {
    const counts = await Promise.all([calls(h), calls(h), calls(h, 'counter.js')]);
    expect(counts.every((n) => n >= 1)).toBe(true);
    expect(inboxes(h).flat()).toEqual([]);
  });
});

describe('warm workers off (CAIRN_STORLET_WORKERS=0): every call is a cold Run', () => {
  let h: StorageHarness;
  beforeAll(async () => {
    h = await startStorage({ runs: true, env: { CAIRN_STORLET_WORKERS: '0' } });
    await setUp(h);
  });
  afterAll(() => h.stop());

  test('each call starts from scratch, with the same replies as warm calls', async () => {
    expect(await calls(h)).toBe(1);
    expect(await calls(h)).toBe(1);
    expect(await calls(h, 'counter.js')).toBe(1);
    const extra = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'concat.py', 'X-Storlet-Extra-Resources': 'data/second.txt', 'X-Storlet-Range': 'bytes=1-2' } });
    expect(extra.text).toBe('el+second');
    expect(extra.headers.get('x-object-meta-colors')).toBe('blue,red');
    const raised = await h.req('GET', 'data/doc.txt?fail=1', { headers: { 'X-Run-Storlet': 'counter.py' } });
    expect(raised.status).toBe(500);
    expect(raised.text).toBe('Storlet execution failed: ValueError: asked to fail\n');
    expect((await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'nometa.py' } })).status).toBe(503);
    expect((await h.req('PUT', 'data/up.txt', { headers: { 'X-Run-Storlet': 'counter.py' }, body: 'abc' })).status).toBe(201);
    expect((await h.req('GET', 'data/up.txt')).text).toBe('1 abc tmp= inbox=');
    expect(fs.existsSync(path.join(h.dataDir, 'runs', 'workers'))).toBe(false);
  });
});
