// Warm pools as policies: warm reuse, per-function concurrency, FIFO queue, 429 past the queue,
// release after an update, idle expiry, and nothing left behind by stop().
import * as fs from 'node:fs';
import type { Config } from '../../../services/core/config';
import { CairnError } from '../../../services/core/errors';
import { SandboxExecutor } from '../../../services/executor/sandbox-executor';
import { fnSpec, makeZip, request, testConfig } from './fixtures';

describe('warm pools', () => {
  let config: Config;
  let executor: SandboxExecutor;
  const codes: Record<string, Buffer> = {};
  let fetches = 0;

  beforeAll(async () => {
    codes.hello = await makeZip({ 'main.js': 'exports.main = () => "hi";' });
    codes.slow = await makeZip({ 'main.js': 'exports.main = (ctx, input) => new Promise((r) => setTimeout(() => r(input), 300));' });
    codes.idle = await makeZip({ 'main.js': 'exports.main = () => "idle";' });
    config = testConfig({ CAIRN_MAX_WORKERS_PER_FUNCTION: '2', CAIRN_QUEUE_LIMIT: '2', CAIRN_IDLE_SECONDS: '1', CAIRN_MAX_SANDBOXES: '6' });
    executor = new SandboxExecutor(config, {
      fetchCode: async (fn) => {
        fetches += 1;
        return codes[fn.codeKey];
      },
      apiSocketPath: '',
      apiPort: 8080,
    });
    await executor.start();
  });

  afterAll(async () => {
    await executor?.stop();
    fs.rmSync(config.dataDir, { recursive: true, force: true });
  });

  it('keeps generic sandboxes ready per runtime', async () => {
    for (let i = 0; i < 100 && (executor.poolStatus('nodejs').available < 1 || executor.poolStatus('python3').available < 1); i++) await new Promise((r) => setTimeout(r, 50));
    expect(executor.poolStatus('nodejs')).toEqual({ total: 1, available: 1 });
    expect(executor.poolStatus('python3')).toEqual({ total: 1, available: 1 });
  });

  it('serves the second call of a function warm and extracts its code once', async () => {
    const before = fetches;
    const cold = await executor.run(request(fnSpec('nodejs', 'hello')));
    const warm = await executor.run(request(fnSpec('nodejs', 'hello')));
    expect([cold.warm, warm.warm]).toEqual([false, true]);
    expect(warm.output).toBe('hi');
    expect(fetches - before).toBe(1);
    expect(executor.workers('fn-hello')).toEqual([{ functionId: 'fn-hello', version: 0, name: expect.any(String) }]);
  });

  it('runs up to maxWorkersPerFunction at once, queues FIFO up to queueLimit, and answers 429 beyond', async () => {
    const fn = fnSpec('nodejs', 'slow');
    const calls = [1, 2, 3, 4, 5].map((i) => executor.run(request(fn, { kind: 'raw', value: String(i) })).then((r) => r, (e: unknown) => e));
    const results = await Promise.all(calls);
    const rejected = results.filter((r) => r instanceof CairnError) as CairnError[];
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ code: 'execution.queue_full', status: 429 });
    expect(results[4]).toBe(rejected[0]); // the last caller is the one turned away
    expect(results.slice(0, 4).map((r) => (r as { output: unknown }).output)).toEqual(['1', '2', '3', '4']);
    expect(executor.workers('fn-slow')).toHaveLength(2);
  });

  it('drops a function\'s warm sandboxes on release', async () => {
    executor.release('fn-slow');
    expect(executor.workers('fn-slow')).toHaveLength(0);
    expect((await executor.run(request(fnSpec('nodejs', 'slow')))).warm).toBe(false);
  });

  it('stops sandboxes left idle longer than idleSeconds', async () => {
    await executor.run(request(fnSpec('nodejs', 'idle')));
    expect(executor.workers('fn-idle')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1600));
    expect(executor.workers('fn-idle')).toHaveLength(0);
  });

  it('leaves no process and no cgroup behind after stop()', async () => {
    const other = new SandboxExecutor(testConfig(), { fetchCode: async () => codes.hello, apiSocketPath: '', apiPort: 8080 });
    await other.start();
    await other.run(request(fnSpec('nodejs', 'hello')));
    const groups = fs.readdirSync('/sys/fs/cgroup/pids').filter((d) => d.startsWith(`cairn-${process.pid}-`)).map((d) => `/sys/fs/cgroup/pids/${d}`);
    expect(groups).toHaveLength(2);
    const pids = groups.flatMap((group) =>
      fs
        .readdirSync(group)
        .filter((d) => d.startsWith('sb-'))
        .flatMap((d) => fs.readFileSync(`${group}/${d}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number)),
    );
    expect(pids.length).toBeGreaterThan(0);
    await executor.stop();
    await other.stop();
    for (const group of groups) expect(fs.existsSync(group)).toBe(false);
    const alive = pids.filter((pid) => fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')));
    expect(alive).toEqual([]);
    await expect(executor.run(request(fnSpec('nodejs', 'hello')))).rejects.toMatchObject({ code: 'executor.stopped' });
  });
});

describe('a full sandbox budget', () => {
  it('evicts the least recently used idle warm sandbox to keep a generic one ready', async () => {
    const config = testConfig({ CAIRN_MAX_SANDBOXES: '3', CAIRN_POOL_SIZE: '1', CAIRN_IDLE_SECONDS: '600' });
    const codes: Record<string, Buffer> = {};
    for (const name of ['a', 'b', 'c']) codes[name] = await makeZip({ 'main.js': `exports.main = () => ${JSON.stringify(name)};` });
    const executor = new SandboxExecutor(config, { fetchCode: async (fn) => codes[fn.codeKey], apiSocketPath: '', apiPort: 8080 });
    await executor.start();
    const ready = async () => {
      for (let i = 0; i < 200 && executor.poolStatus('nodejs').available < 1; i++) await new Promise((r) => setTimeout(r, 25));
      return executor.poolStatus('nodejs').available;
    };
    try {
      // Three functions use the whole budget (one python generic sandbox holds a slot too).
      for (const name of ['a', 'b', 'c']) {
        expect(await ready()).toBe(1);
        const r = await executor.run(request(fnSpec('nodejs', name, { codeKey: name, entry: 'main.main' })));
        expect(r).toMatchObject({ status: 'success', output: name });
      }
      // The pool still has a generic Node sandbox ready, made room for by evicting the oldest idle one.
      expect(await ready()).toBe(1);
      expect(executor.workers('fn-a')).toEqual([]);
      expect(executor.workers('fn-c')).toHaveLength(1);
    } finally {
      await executor.stop();
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
