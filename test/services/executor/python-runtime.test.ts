// The python3 runtime in real bubblewrap sandboxes: call shapes, context, logs, failures, limits
// and isolation.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Config } from '../../../services/core/config';
import { RUN_MESSAGES } from '../../../services/core/execution';
import { SandboxExecutor } from '../../../services/executor/sandbox-executor';
import { fnSpec, makeZip, request, testConfig } from './fixtures';

const SOURCES: Record<string, Record<string, string>> = {
  hello: { 'main.py': 'def main(name="World", **kwargs):\n    print("Hello from", name)\n    return "Hello, %s" % name\n' },
  raw: { 'main.py': 'def main(raw=None, **kwargs):\n    return {"raw": raw, "kwargs": sorted(kwargs)}\n' },
  ctx: { 'main.py': 'def main(context, **kwargs):\n    return {"token": context["token"], "project": context["project_id"], "endpoints": context["endpoints"], "session": type(context["os_session"]).__name__}\n' },
  swift: {
    'main.py':
      'import swiftclient\n' +
      'def main(context, **kwargs):\n' +
      '    conn = swiftclient.Connection(session=context["os_session"], os_options={"region_name": "RegionOne"})\n' +
      '    headers, containers = conn.get_account()\n' +
      '    return [c["name"] for c in containers]\n',
  },
  pkgmod: { 'pkg/__init__.py': '', 'pkg/handler.py': 'def run(**kwargs):\n    return "nested"\n' },
  sleepy: { 'main.py': 'import time\ndef main(**kwargs):\n    print("before the sleep")\n    time.sleep(30)\n' },
  syntax: { 'main.py': 'def main(**kwargs)\n    return 1\n' },
  raises: { 'main.py': 'import sys, subprocess\ndef main(**kwargs):\n    sys.stderr.write("to stderr\\n")\n    subprocess.run(["/bin/echo", "from a subprocess"])\n    raise ValueError("bad input value")\n' },
  notjson: { 'main.py': 'def main(**kwargs):\n    return object()\n' },
  spawner: { 'main.py': 'import subprocess\ndef main(**kwargs):\n    return [subprocess.Popen(["/bin/sleep", "30"]).pid for _ in range(300)]\n' },
  leaver: {
    'main.py':
      'import os, subprocess\n' +
      'def main(**kwargs):\n' +
      '    alive = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())\n' +
      '    subprocess.Popen(["/bin/sleep", "30"])\n' +
      '    return alive\n',
  },
  forkbomb: { 'main.py': 'import os\ndef main(**kwargs):\n    while True:\n        os.fork()\n' },
  hog: { 'main.py': 'def main(**kwargs):\n    chunks = []\n    while True:\n        chunks.append(b"x" * (4 * 1024 * 1024))\n' },
  chatty: { 'main.py': 'def main(**kwargs):\n    line = "y" * 1000\n    while True:\n        print(line)\n' },
  escape: {
    'main.py':
      'import socket\n' +
      'def attempt(f):\n' +
      '    try:\n        f()\n        return "ok"\n    except Exception as e:\n        return type(e).__name__\n' +
      'def main(**kwargs):\n' +
      '    def pg():\n        s = socket.create_connection(("127.0.0.1", 5432), timeout=1)\n        s.close()\n' +
      '    return {"shadow": attempt(lambda: open("/etc/shadow").read()), "repo": attempt(lambda: open("/work/main/package.json").read()),\n' +
      '            "root": attempt(lambda: open("/root/.bashrc").read()), "pg": attempt(pg), "write_usr": attempt(lambda: open("/usr/x", "w")), "tmp": attempt(lambda: open("/tmp/x", "w").write("1")), "uid": __import__("os").getuid(), "nofile": __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)}\n',
  },
};

describe('python3 runtime', () => {
  let config: Config;
  let executor: SandboxExecutor;
  let api: http.Server;
  const seen: { url?: string; token?: string } = {};
  const codes: Record<string, Buffer> = {};

  beforeAll(async () => {
    for (const [name, files] of Object.entries(SOURCES)) codes[name] = await makeZip(files);
    config = testConfig({ CAIRN_LOG_MAX_BYTES: String(64 * 1024), CAIRN_MAX_SANDBOXES: '8' });
    const socketPath = path.join(config.dataDir, 'api.sock');
    // Stands in for the platform API on its unix socket: an account listing, like Swift's.
    api = http.createServer((req, res) => {
      seen.url = req.url;
      seen.token = req.headers['x-auth-token'] as string;
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-account-container-count': '2' });
      res.end(JSON.stringify([{ name: 'photos', count: 1, bytes: 3 }, { name: 'thumbs', count: 0, bytes: 0 }]));
    });
    await new Promise<void>((r) => api.listen(socketPath, r));
    executor = new SandboxExecutor(config, { fetchCode: async (fn) => codes[fn.codeKey], apiSocketPath: socketPath, apiPort: 8080 });
    expect(executor.checkHost()).toEqual([]);
    await executor.start();
  });

  // stop() waits until every sandbox's cgroup is empty; after the fork-bomb test that can take
  // seconds on a loaded machine (it is bounded by the executor's own stop grace).
  afterAll(async () => {
    await executor?.stop();
    await new Promise((r) => api.close(r));
    fs.rmSync(config.dataDir, { recursive: true, force: true });
  }, 30_000);

  it('says hello with keyword input, logs what it printed, then serves warm', async () => {
    const req = request(fnSpec('python3', 'hello'), { kind: 'object', value: { name: 'foo' } });
    const r = await executor.run(req);
    expect(r).toMatchObject({ status: 'success', output: 'Hello, foo', warm: false });
    expect(r.log).toBe(`Start execution: ${req.executionId}\nHello from foo\nFinished execution: ${req.executionId}\n`);
    expect(r.duration).toBeGreaterThanOrEqual(0);
    expect(Number.isInteger(Math.round(r.duration * 1000))).toBe(true);
    const again = await executor.run(request(fnSpec('python3', 'hello')));
    expect(again).toMatchObject({ status: 'success', output: 'Hello, World', warm: true });
  });

  it('passes raw input as one positional argument, and context always as a keyword', async () => {
    expect((await executor.run(request(fnSpec('python3', 'raw'), { kind: 'raw', value: '[1, 2]' }))).output).toEqual({ raw: '[1, 2]', kwargs: ['context'] });
    expect((await executor.run(request(fnSpec('python3', 'raw')))).output).toEqual({ raw: null, kwargs: ['context'] });
  });

  it('gives the caller token, project and endpoints in context', async () => {
    const r = await executor.run(request(fnSpec('python3', 'ctx')));
    expect(r.output).toEqual({
      token: 'tok-123',
      project: 'proj',
      session: 'Session',
      endpoints: {
        'object-store': 'http://127.0.0.1:8080/v1/AUTH_proj',
        'function-engine': 'http://127.0.0.1:8080/function',
        identity: 'http://127.0.0.1:8080/identity/v3',
      },
    });
  });

  it('reaches the platform API with swiftclient over os_session through the in-sandbox forwarder', async () => {
    const r = await executor.run(request(fnSpec('python3', 'swift')));
    expect(r).toMatchObject({ status: 'success', output: ['photos', 'thumbs'] });
    expect(seen.token).toBe('tok-123');
    expect(seen.url).toMatch(/^\/v1\/AUTH_proj\?format=json/);
  });

  it('splits the entry at the last dot', async () => {
    const r = await executor.run(request(fnSpec('python3', 'pkgmod', { entry: 'pkg.handler.run' })));
    expect(r).toMatchObject({ status: 'success', output: 'nested' });
  });

  it('times out: kills the sandbox, keeps the log printed before, and still writes the finish line', async () => {
    const req = request(fnSpec('python3', 'sleepy', { timeoutSeconds: 1 }));
    const r = await executor.run(req);
    expect(r.status).toBe('failed');
    expect(r.output).toBe(RUN_MESSAGES.timeout);
    expect(r.duration).toBeGreaterThanOrEqual(0.99);
    expect(r.duration).toBeLessThan(1.5);
    expect(r.log).toContain('before the sleep\n');
    expect(r.log.trimEnd().endsWith(`Finished execution: ${req.executionId}`)).toBe(true);
  });

  it('fails on a syntax error with the traceback in the log', async () => {
    const r = await executor.run(request(fnSpec('python3', 'syntax')));
    expect(r.status).toBe('failed');
    expect(r.output).toMatch(/Failed to load module 'main' of entry main.main: SyntaxError/);
    expect(r.log).toContain('Traceback');
    expect(r.log).toContain('SyntaxError');
  });

  it('fails clearly on a missing module or function', async () => {
    const noModule = await executor.run(request(fnSpec('python3', 'hello', { entry: 'nothere.main', codeKey: 'hello' })));
    expect(noModule).toMatchObject({ status: 'failed', output: expect.stringContaining("No module named 'nothere'") });
    const noFunction = await executor.run(request(fnSpec('python3', 'raw', { entry: 'main.nope', codeKey: 'raw' })));
    expect(noFunction).toMatchObject({ status: 'failed', output: "Function 'nope' not found in module 'main' (entry main.nope)" });
  });

  it('reports an exception by its message, with stderr, subprocess output and traceback in the log', async () => {
    const r = await executor.run(request(fnSpec('python3', 'raises')));
    expect(r).toMatchObject({ status: 'failed', output: 'bad input value' });
    expect(r.log).toContain('to stderr');
    expect(r.log).toContain('from a subprocess');
    expect(r.log).toContain('ValueError: bad input value');
  });

  it('fails with a clear message when the return value is not JSON', async () => {
    const r = await executor.run(request(fnSpec('python3', 'notjson')));
    expect(r).toMatchObject({ status: 'failed', output: expect.stringContaining('not JSON serialisable') });
  });

  it('sees no host files, no host network, writes only /tmp, runs as nobody with the open-files limit', async () => {
    const r = await executor.run(request(fnSpec('python3', 'escape')));
    expect(r.output).toEqual({ shadow: 'FileNotFoundError', repo: 'FileNotFoundError', root: 'FileNotFoundError', pg: 'ConnectionRefusedError', write_usr: 'OSError', tmp: 'ok', uid: 65534, nofile: [1024, 1024] });
  });

  it('contains a fork bomb and keeps serving', async () => {
    const r = await executor.run(request(fnSpec('python3', 'forkbomb', { timeoutSeconds: 2 })));
    expect(r.status).toBe('failed');
    // Under its CPU quota the bomb may not reach the pids limit before the timeout kills it.
    expect([RUN_MESSAGES.resources, RUN_MESSAGES.timeout]).toContain(r.output);
    expect(await executor.run(request(fnSpec('python3', 'hello')))).toMatchObject({ status: 'success', output: 'Hello, World' });
  }, 15_000);

  it('stops a function at the process limit with the resources message', async () => {
    const r = await executor.run(request(fnSpec('python3', 'spawner')));
    expect(r).toMatchObject({ status: 'failed', output: RUN_MESSAGES.resources });
    expect(r.log).toContain('Resource temporarily unavailable');
  }, 15_000);

  it('kills what a call left running before the next warm call', async () => {
    const first = await executor.run(request(fnSpec('python3', 'leaver')));
    const second = await executor.run(request(fnSpec('python3', 'leaver')));
    expect(second).toMatchObject({ status: 'success', warm: true });
    // The same processes as before the first call: its sleep was killed, nothing else was.
    expect(second.output).toEqual(first.output);
  }, 15_000);

  it('contains unbounded allocation with the resources message', async () => {
    const r = await executor.run(request(fnSpec('python3', 'hog', { timeoutSeconds: 10 })));
    expect(r).toMatchObject({ status: 'failed', output: RUN_MESSAGES.resources });
    expect(r.log).toContain('memory');
  }, 15_000);

  it('caps an unbounded log with a marker', async () => {
    const req = request(fnSpec('python3', 'chatty', { timeoutSeconds: 1 }));
    const r = await executor.run(req);
    expect(r.output).toBe(RUN_MESSAGES.timeout);
    expect(r.log).toContain('[log truncated: more than 65536 bytes were printed]');
    expect(Buffer.byteLength(r.log)).toBeLessThan(64 * 1024 + 200);
  }, 15_000);
});
