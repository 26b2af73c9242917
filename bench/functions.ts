// Function invocation through the HTTP API, as users call it: warm and cold latency for Python
// and Node hello-world functions, and sustained throughput at a few concurrencies. The
// executor-only figures (in-process, no HTTP, no database) show where the time goes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../services/core/config';
import type { RuntimeKind } from '../services/core/execution';
import { startPlatform, type Platform } from '../services/platform';
import { makeZip } from '../test/helpers/zip';
import { BenchClient } from './client';
import { ms, summarize, type Summary } from './stats';

export interface FunctionBenchOptions {
  /** `postgres://…` to run against a real PostgreSQL (a fresh schema) instead of embedded PGlite. */
  databaseUrl?: string;
  /** Only warm latency and throughput (the figures the database changes). */
  warmOnly?: boolean;
  warmCalls: number;
  coldSamples: number;
  throughputSeconds: number;
  concurrencies: number[];
}

export interface FunctionBenchResult {
  warm: Record<RuntimeKind, Summary>;
  executorOnlyWarm: Record<RuntimeKind, Summary>;
  coldPoolReady: Record<RuntimeKind, Summary>;
  coldNoPool: Record<RuntimeKind, Summary>;
  throughput: { concurrency: number; perSecond: number; latency: Summary; errors: number }[];
}

const SOURCES: Record<RuntimeKind, (tag: string) => Record<string, string>> = {
  python3: (tag) => ({ 'hello.py': `# ${tag}\ndef main(name='World', **kwargs):\n    return 'Hello, %s' % name\n` }),
  nodejs: (tag) => ({ 'hello.js': `// ${tag}\nexports.main = async (context, input) => 'Hello, ' + ((input && input.name) || 'World');\n` }),
};
const ENTRY: Record<RuntimeKind, string> = { python3: 'hello.main', nodejs: 'hello.main' };

class Session {
  constructor(readonly platform: Platform, readonly client: BenchClient, readonly runtimes: Record<string, string>) {}

  static async open(env: Record<string, string>): Promise<Session> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-'));
    const platform = await startPlatform(loadConfig({}, { CAIRN_PORT: '0', CAIRN_DATA_DIR: dir, ...env }));
    const client = new BenchClient(new URL(platform.baseUrl));
    const c = platform.credentials.demo;
    const auth = await client.request(
      'POST',
      '/identity/v3/auth/tokens',
      JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: c.userName, password: c.password, domain: { name: 'Default' } } } },
          scope: { project: { name: c.projectName, domain: { name: 'Default' } } },
        },
      }),
      { 'Content-Type': 'application/json' },
    );
    client.setToken(String(auth.headers['x-subject-token']));
    const list = (await client.json<{ runtimes: { id: string; name: string }[] }>('GET', '/function/v1/runtimes')).body.runtimes;
    return new Session(platform, client, Object.fromEntries(list.map((r) => [r.name, r.id])));
  }

  async createFunction(runtime: RuntimeKind, tag: string, cpu = 100): Promise<string> {
    const zip = await makeZip(SOURCES[runtime](tag));
    const boundary = `----cairnbench${Date.now()}`;
    const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const body = Buffer.concat([
      Buffer.from(field('runtime_id', this.runtimes[runtime]) + field('code', '{"source": "package"}') + field('entry', ENTRY[runtime]) + field('cpu', String(cpu))),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="package"; filename="p.zip"\r\n\r\n`),
      zip,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await this.client.request('POST', '/function/v1/functions', body, { 'Content-Type': `multipart/form-data; boundary=${boundary}` });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.body}`);
    return JSON.parse(res.body.toString()).id;
  }

  /** One sync execution; returns its latency in ms. */
  async invoke(functionId: string): Promise<number> {
    const t0 = process.hrtime.bigint();
    const res = await this.client.json<{ status: string }>('POST', '/function/v1/executions', { function_id: functionId, input: '{"name": "bench"}' });
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.status !== 201 || res.body.status !== 'success') throw new Error(`invoke failed: ${res.status} ${JSON.stringify(res.body)}`);
    return elapsed;
  }

  async waitForPool(runtime: RuntimeKind, available: number): Promise<void> {
    for (let i = 0; i < 400 && this.platform.executor!.poolStatus(runtime).available < available; i++) await sleep(25);
  }

  async close(): Promise<void> {
    this.client.close();
    await this.platform.stop();
    fs.rmSync(this.platform.config.dataDir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchFunctions(opts: FunctionBenchOptions, log: (line: string) => void): Promise<FunctionBenchResult> {
  const runtimes: RuntimeKind[] = ['python3', 'nodejs'];
  const result = { warm: {}, executorOnlyWarm: {}, coldPoolReady: {}, coldNoPool: {}, throughput: [] } as unknown as FunctionBenchResult;

  const db = opts.databaseUrl ? await freshSchema(opts.databaseUrl) : undefined;
  const s = await Session.open({ CAIRN_POOL_SIZE: '2', ...(db ? { CAIRN_DATABASE_URL: db.url } : {}) });
  try {
    for (const rt of runtimes) {
      const id = await s.createFunction(rt, 'warm', 300);
      for (let i = 0; i < 100; i++) await s.invoke(id);
      const samples: number[] = [];
      for (let i = 0; i < opts.warmCalls; i++) samples.push(await s.invoke(id));
      result.warm[rt] = summarize(samples);
      log(`warm ${rt}: p50 ${ms(result.warm[rt].p50)} ms, p99 ${ms(result.warm[rt].p99)} ms`);

      // The executor alone, in-process: what the sandbox round trip costs without HTTP and SQL.
      const [f] = await s.platform.db.query<{ package_key: string; code: { md5sum: string } }>('SELECT * FROM functions WHERE id = $1', [id]);
      const spec = { functionId: id, version: 0, projectId: s.platform.credentials.demo.projectId, kind: 'package' as const, runtime: rt, entry: ENTRY[rt], codeKey: `pkg:${id}:${f.code.md5sum}`, timeoutSeconds: 5, cpuMillis: 300, memoryBytes: 32 * 1024 * 1024 };
      const direct: number[] = [];
      for (let i = 0; i < opts.warmCalls; i++) {
        const t0 = process.hrtime.bigint();
        await s.platform.executor!.run({ executionId: `bench-${i}`, fn: spec, input: { kind: 'object', value: { name: 'bench' } }, caller: { token: 't', projectId: spec.projectId, userId: 'u', region: 'RegionOne' } });
        direct.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      result.executorOnlyWarm[rt] = summarize(direct);
      log(`executor-only warm ${rt}: p50 ${ms(result.executorOnlyWarm[rt].p50)} ms`);

      if (opts.warmOnly) continue;
      const cold: number[] = [];
      for (let i = 0; i < opts.coldSamples; i++) {
        const fid = await s.createFunction(rt, `cold-${i}`);
        await s.waitForPool(rt, 1);
        await sleep(50);
        cold.push(await s.invoke(fid));
      }
      result.coldPoolReady[rt] = summarize(cold);
      log(`cold (pool sandbox ready) ${rt}: p50 ${ms(result.coldPoolReady[rt].p50)} ms`);
    }

    const ids = await Promise.all([s.createFunction('python3', 'tp', 300), s.createFunction('nodejs', 'tp', 300)]);
    for (const c of opts.concurrencies) {
      // Let the pool scale to this concurrency first: sandbox start-up is measured as cold start above.
      const warmUntil = Date.now() + 2000;
      await Promise.all(Array.from({ length: c }, async (_, w) => {
        while (Date.now() < warmUntil) await s.invoke(ids[w % ids.length]).catch(() => undefined);
      }));
      const samples: number[] = [];
      let errors = 0;
      const until = Date.now() + opts.throughputSeconds * 1000;
      await Promise.all(
        Array.from({ length: c }, async (_, w) => {
          const id = ids[w % ids.length];
          while (Date.now() < until) {
            try {
              samples.push(await s.invoke(id));
            } catch {
              errors++;
            }
          }
        }),
      );
      const entry = { concurrency: c, perSecond: samples.length / opts.throughputSeconds, latency: summarize(samples), errors };
      result.throughput.push(entry);
      log(`throughput c=${c}: ${entry.perSecond.toFixed(0)}/s, p50 ${ms(entry.latency.p50)} ms, errors ${errors}`);
    }
  } finally {
    await s.close();
    await db?.drop();
  }
  if (opts.warmOnly) return result;

  const none = await Session.open({ CAIRN_POOL_SIZE: '0' });
  try {
    for (const rt of runtimes) {
      const cold: number[] = [];
      for (let i = 0; i < opts.coldSamples; i++) cold.push(await none.invoke(await none.createFunction(rt, `nopool-${i}`)));
      result.coldNoPool[rt] = summarize(cold);
      log(`cold (no pool) ${rt}: p50 ${ms(result.coldNoPool[rt].p50)} ms`);
    }
  } finally {
    await none.close();
  }
  return result;
}

/** A fresh schema on a PostgreSQL server, dropped after the run. */
async function freshSchema(base: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { Client } = await import('pg');
  const schema = `cairn_bench_${Date.now()}`;
  const run = async (sql: string) => {
    const c = new Client({ connectionString: base });
    await c.connect();
    await c.query(sql);
    await c.end();
  };
  await run(`CREATE SCHEMA ${schema}`);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString(), drop: () => run(`DROP SCHEMA ${schema} CASCADE`) };
}
