// The nodejs runtime in real bubblewrap sandboxes.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Config } from '../../../services/core/config';
import { RUN_MESSAGES } from '../../../services/core/execution';
import { SandboxExecutor } from '../../../services/executor/sandbox-executor';
import { fnSpec, makeZip, request, testConfig } from './fixtures';

const SOURCES: Record<string, Record<string, string>> = {
  hello: { 'main.js': 'exports.main = async (context, input) => { console.log("got", JSON.stringify(input)); return { input: input === undefined ? "none" : input }; };' },
  entry: { 'lib.js': 'exports.handler = { nested: () => "unused" };\nexports.go = () => 42;' },
  ctx: { 'main.js': 'exports.main = (context) => ({ token: context.token, store: context.endpoints["object-store"] });' },
  api: {
    'main.js':
      'const http = require("http");\n' +
      'exports.main = (context) => new Promise((resolve, reject) => {\n' +
      '  http.get(context.endpoints.identity + "/", { headers: { "x-auth-token": context.token } }, (res) => {\n' +
      '    let body = ""; res.on("data", (d) => body += d); res.on("end", () => resolve({ status: res.statusCode, body }));\n' +
      '  }).on("error", reject);\n' +
      '});',
  },
  throws: { 'main.js': 'exports.main = async () => { console.error("about to fail"); throw new Error("widget not found"); };' },
  spin: { 'main.js': 'exports.main = () => { console.log("spinning"); for (;;) {} };' },
  broken: { 'main.js': 'exports.main = () => {' },
  escape: {
    'main.js':
      'const fs = require("fs"), net = require("net");\n' +
      'const attempt = (f) => { try { f(); return "ok"; } catch (e) { return e.code; } };\n' +
      'exports.main = () => new Promise((resolve) => {\n' +
      '  const out = { shadow: attempt(() => fs.readFileSync("/etc/shadow")), repo: attempt(() => fs.readFileSync("/work/main/package.json")) };\n' +
      '  const s = net.connect(5432, "127.0.0.1");\n' +
      '  s.on("connect", () => { out.pg = "ok"; s.destroy(); resolve(out); });\n' +
      '  s.on("error", (e) => { out.pg = e.code; resolve(out); });\n' +
      '});',
  },
};

describe('nodejs runtime', () => {
  let config: Config;
  let executor: SandboxExecutor;
  let api: http.Server;
  const codes: Record<string, Buffer> = {};

  beforeAll(async () => {
    for (const [name, files] of Object.entries(SOURCES)) codes[name] = await makeZip(files);
    config = testConfig({ CAIRN_POOL_SIZE: '2' });
    const socketPath = path.join(config.dataDir, 'api.sock');
    api = http.createServer((req, res) => res.end(`identity saw ${req.url} with ${req.headers['x-auth-token']}`));
    await new Promise<void>((r) => api.listen(socketPath, r));
    executor = new SandboxExecutor(config, { fetchCode: async (fn) => codes[fn.codeKey], apiSocketPath: socketPath, apiPort: 18080 });
    await executor.start();
  });

  // stop() waits until every sandbox's cgroup is empty; after the fork-bomb test that can take
  // seconds on a loaded machine (it is bounded by the executor's own stop grace).
  afterAll(async () => {
    await executor?.stop();
    await new Promise((r) => api.close(r));
    fs.rmSync(config.dataDir, { recursive: true, force: true });
  }, 30_000);

  it('calls handler(context, input) with an object, a raw string or nothing, capturing console output', async () => {
    const req = request(fnSpec('nodejs', 'hello'), { kind: 'object', value: { name: 'foo' } });
    const r = await executor.run(req);
    expect(r).toMatchObject({ status: 'success', output: { input: { name: 'foo' } }, warm: false });
    expect(r.log).toBe(`Start execution: ${req.executionId}\ngot {"name":"foo"}\nFinished execution: ${req.executionId}\n`);
    expect(await executor.run(request(fnSpec('nodejs', 'hello'), { kind: 'raw', value: 'Qinling' }))).toMatchObject({ output: { input: 'Qinling' }, warm: true });
    expect(await executor.run(request(fnSpec('nodejs', 'hello')))).toMatchObject({ output: { input: 'none' }, warm: true });
  });

  it('splits the entry on the first dot', async () => {
    expect(await executor.run(request(fnSpec('nodejs', 'entry', { entry: 'lib.go' })))).toMatchObject({ status: 'success', output: 42 });
  });

  it('gives the caller token and endpoints in context and reaches the API through the forwarder', async () => {
    expect((await executor.run(request(fnSpec('nodejs', 'ctx')))).output).toEqual({ token: 'tok-123', store: 'http://127.0.0.1:18080/v1/AUTH_proj' });
    const r = await executor.run(request(fnSpec('nodejs', 'api')));
    expect(r.output).toEqual({ status: 200, body: 'identity saw /identity/v3/ with tok-123' });
  });

  it('reports a thrown error by its message, stack in the log', async () => {
    const r = await executor.run(request(fnSpec('nodejs', 'throws')));
    expect(r).toMatchObject({ status: 'failed', output: 'widget not found' });
    expect(r.log).toContain('about to fail');
    expect(r.log).toContain('Error: widget not found');
  });

  it('fails clearly on a missing module, a missing handler and a syntax error', async () => {
    expect(await executor.run(request(fnSpec('nodejs', 'hello', { entry: 'nothere.main' })))).toMatchObject({
      status: 'failed',
      output: expect.stringMatching(/^Failed to load module 'nothere' of entry nothere.main: Error: Cannot find module/),
    });
    expect(await executor.run(request(fnSpec('nodejs', 'entry', { entry: 'lib.missing' })))).toMatchObject({ status: 'failed', output: "Function 'missing' not found in module 'lib' (entry lib.missing)" });
    const broken = await executor.run(request(fnSpec('nodejs', 'broken')));
    expect(broken).toMatchObject({ status: 'failed', output: expect.stringContaining("Failed to load module 'main' of entry main.main: SyntaxError") });
  });

  it('enforces the timeout on a busy loop and measures duration in milliseconds', async () => {
    const r = await executor.run(request(fnSpec('nodejs', 'spin', { timeoutSeconds: 1 })));
    expect(r).toMatchObject({ status: 'failed', output: RUN_MESSAGES.timeout });
    expect(r.log).toContain('spinning');
    expect(r.duration).toBeGreaterThanOrEqual(0.99);
    expect(await executor.run(request(fnSpec('nodejs', 'hello')))).toMatchObject({ status: 'success' });
  });

  it('sees no host files and no host network', async () => {
    expect((await executor.run(request(fnSpec('nodejs', 'escape')))).output).toEqual({ shadow: 'ENOENT', repo: 'ENOENT', pg: 'ECONNREFUSED' });
  });
});
