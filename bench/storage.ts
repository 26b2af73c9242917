// The object store and code next to the data, through the Swift API as clients use it:
// - /work/shared/tools/swift-bench.py (small-object PUT/GET/DELETE rates, MB/s for one large
//   object) against Cairn and, side by side, a real Swift (SAIO) started on this machine;
// - a storlet (identity) over a plain GET of the same object, at three sizes, with the input handed
//   to the sandbox as the object's own file and, for comparison, streamed through the api;
// - one ZeroCloud wildcard job over many CSV objects (one node per object).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { useFileHandOff } from '../services/api/storage/run-input';
import { loadConfig } from '../services/core/config';
import { startPlatform } from '../services/platform';
import { BenchClient } from './client';
import { summarize, type Summary } from './stats';

const run = promisify(execFile);

const TOOLS = '/work/shared/tools';
const SWIFT_BENCH = path.join(TOOLS, 'swift-bench.py');
const SAIO_START = path.join(TOOLS, 'swift-saio.sh');
const SAIO_STOP = path.join(TOOLS, 'swift-saio-stop.sh');
/** Ports and directory of the bench's own SAIO, clear of a developer's default instance. */
const SAIO_ENV = {
  SAIO_SKIP_INSTALL: '1',
  SAIO_DIR: '/tmp/saio-bench',
  SAIO_PROXY_PORT: '8093',
  SAIO_OBJ_PORT: '6330',
  SAIO_CONT_PORT: '6331',
  SAIO_ACC_PORT: '6332',
  SAIO_MEMCACHE_PORT: '11431',
};

export interface StorageBenchOptions {
  /** swift-bench.py: small objects per phase, client threads, large object size and repeats. */
  smallCount: number;
  concurrency: number;
  bigMiB: number;
  bigRepeat: number;
  /** Storlet calls (and plain GETs) per size: small, medium, large. */
  storletSamples: [number, number, number];
  /** Objects in the ZeroCloud job, and how many times it runs. */
  zerocloudObjects: number;
  zerocloudRepeat: number;
}

/** One swift-bench.py phase, as it reports it in --json. */
export interface SwiftPhase {
  op: string;
  ops_per_s?: number;
  p50_ms?: number;
  p99_ms?: number;
  errors?: number;
  median_MBps?: number;
  best_MBps?: number;
}

export interface StorletSize {
  bytes: number;
  plain: Summary;
  storlet: Summary;
  /** The same storlet with the input streamed through the api (the path of non-fs backends). */
  streamed?: Summary;
}

export interface StorageBenchResult {
  cairn: SwiftPhase[];
  /** A real Swift's figures, or why there are none. */
  swift: SwiftPhase[] | string;
  /** The disk under Cairn's data directory, written without Cairn: MB/s of a large file + fdatasync (median). */
  diskWriteMBps: number;
  /** MD5 over the same bytes on one core (every PUT computes it: Swift's ETag), MB/s (median). */
  md5MBps: number;
  storlet: StorletSize[];
  zerocloud: { objects: number; objectBytes: number; totalMs: Summary; nodesOk: boolean };
  options: StorageBenchOptions;
}

const SIZES: [number, number, number] = [64 * 1024, 1024 * 1024, 16 * 1024 * 1024];

const IDENTITY_STORLET = `
class IdentityStorlet(object):
    def __init__(self, logger):
        self.logger = logger

    def __call__(self, in_files, out_files, params):
        out_files[0].set_metadata({})
        while True:
            chunk = in_files[0].read(1 << 20)
            if not chunk:
                break
            out_files[0].write(chunk)
        in_files[0].close()
        out_files[0].close()
`;

/** Counts the data lines of its CSV input. */
const CSV_NODE = 'print(sum(1 for _ in open("/dev/input")) - 1)';

async function swiftBench(auth: string, user: string, key: string, o: StorageBenchOptions, log: (l: string) => void): Promise<SwiftPhase[]> {
  const out = path.join(os.tmpdir(), `cairn-swift-bench-${process.pid}-${Date.now()}.json`);
  try {
    const args = [SWIFT_BENCH, '--auth', auth, '--user', user, '--key', key, '--count', String(o.smallCount), '--concurrency', String(o.concurrency), '--big-mib', String(o.bigMiB), '--big-repeat', String(o.bigRepeat), '--warmup', '50', '--json', out];
    const { stdout } = await run('/usr/bin/python3', args, { maxBuffer: 1 << 20, timeout: 180_000 });
    for (const line of stdout.trim().split('\n')) log(`  ${line}`);
    return (JSON.parse(fs.readFileSync(out, 'utf8')) as { phases: SwiftPhase[] }).phases;
  } finally {
    fs.rmSync(out, { force: true });
  }
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function benchStorage(o: StorageBenchOptions, log: (line: string) => void): Promise<StorageBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-storage-'));
  const platform = await startPlatform(loadConfig({}, { CAIRN_PORT: '0', CAIRN_DATA_DIR: dir, CAIRN_POOL_SIZE: '0' }));
  const demo = platform.credentials.demo;
  const authUrl = `${platform.baseUrl}/auth/v1.0`;
  const result = { options: o } as StorageBenchResult;
  const client = new BenchClient(new URL(platform.baseUrl));
  try {
    if (fs.existsSync(SWIFT_BENCH)) {
      log('swift-bench.py against Cairn (fs backend, PGlite):');
      result.cairn = await swiftBench(authUrl, `${demo.projectName}:${demo.userName}`, demo.password, o, log);
    } else {
      log(`${SWIFT_BENCH} not found: object rates not measured`);
      result.cairn = [];
    }

    const login = await client.request('GET', '/auth/v1.0', undefined, { 'X-Auth-User': `${demo.projectName}:${demo.userName}`, 'X-Auth-Key': demo.password });
    client.setToken(String(login.headers['x-auth-token']));
    const acct = new URL(String(login.headers['x-storage-url'])).pathname;
    const must = async (method: string, p: string, body?: Buffer | string, headers: Record<string, string> = {}, want = [200, 201, 202, 204]): Promise<void> => {
      const r = await client.request(method, `${acct}${p}`, body, headers);
      if (!want.includes(r.status)) throw new Error(`${method} ${p}: ${r.status} ${r.body.toString().slice(0, 200)}`);
    };
    await must('POST', '', undefined, { 'X-Account-Meta-Storlet-Enabled': 'True' });
    for (const c of ['storlet', 'data', 'csv', 'out']) await must('PUT', `/${c}`);
    await must('PUT', '/storlet/identity.py', IDENTITY_STORLET, {
      'Content-Type': 'application/octet-stream',
      'X-Object-Meta-Storlet-Language': 'Python',
      'X-Object-Meta-Storlet-Interface-Version': '1.0',
      'X-Object-Meta-Storlet-Object-Metadata': 'no',
      'X-Object-Meta-Storlet-Main': 'identity.IdentityStorlet',
    });

    result.storlet = [];
    for (const [i, bytes] of SIZES.entries()) {
      const data = Buffer.alloc(bytes, 'cairn storlet bench ');
      await must('PUT', `/data/o${bytes}`, data);
      const get = async (headers: Record<string, string>): Promise<number> =>
        timed(async () => {
          const r = await client.request('GET', `${acct}/data/o${bytes}`, undefined, headers);
          if (r.status !== 200 || r.body.length !== bytes) throw new Error(`GET ${bytes} B (${JSON.stringify(headers)}): ${r.status}, ${r.body.length} B`);
        });
      const storlet = { 'X-Run-Storlet': 'identity.py' };
      const streamedGet = async (): Promise<number> => {
        useFileHandOff(false);
        try {
          return await get(storlet);
        } finally {
          useFileHandOff(true);
        }
      };
      // Rounds of (4 plain GETs, one storlet call[, one streamed call]), so the variants share
      // whatever else the machine is doing while they are measured.
      const withStreamed = i === SIZES.length - 1;
      await get({});
      await get(storlet);
      const plain: number[] = [];
      const linked: number[] = [];
      const streamed: number[] = [];
      for (let k = 0; k < o.storletSamples[i]; k++) {
        for (let p = 0; p < 4; p++) plain.push(await get({}));
        linked.push(await get(storlet));
        if (withStreamed) streamed.push(await streamedGet());
      }
      const entry: StorletSize = { bytes, plain: summarize(plain), storlet: summarize(linked), ...(withStreamed ? { streamed: summarize(streamed) } : {}) };
      result.storlet.push(entry);
      log(`storlet ${bytes} B: plain GET p50 ${entry.plain.p50.toFixed(2)} ms, storlet p50 ${entry.storlet.p50.toFixed(2)} ms${entry.streamed ? `, storlet with the input streamed p50 ${entry.streamed.p50.toFixed(2)} ms` : ''}`);
    }

    // Small CSV objects, one ZeroCloud node each; the job's reply is every node's line count.
    const rows = Array.from({ length: 200 }, (_, k) => `${k},name-${k},${(k * 7) % 100}`).join('\n');
    const csv = `id,name,score\n${rows}\n`;
    await Promise.all(Array.from({ length: o.zerocloudObjects }, (_, k) => must('PUT', `/csv/part-${String(k).padStart(4, '0')}.csv`, csv, { 'Content-Type': 'text/csv' })));
    const job = JSON.stringify([
      {
        name: 'count',
        exec: { path: 'file://python3:python', args: `-c '${CSV_NODE}'` },
        devices: [{ name: 'python3' }, { name: 'input', path: 'swift://~/csv/part-*.csv' }, { name: 'stdout', path: 'swift://~/out/count-*.txt', content_type: 'text/plain' }],
      },
    ]);
    const totals: number[] = [];
    let nodesOk = true;
    for (let k = 0; k < o.zerocloudRepeat; k++) {
      totals.push(
        await timed(async () => {
          const r = await client.request('POST', acct, job, { 'X-Zerovm-Execute': '1.0', 'Content-Type': 'application/json' });
          const statuses = String(r.headers['x-nexe-status'] ?? '').split(',');
          if (r.status !== 200 || statuses.length !== o.zerocloudObjects || statuses.some((s) => s !== 'ok.')) {
            nodesOk = false;
            throw new Error(`ZeroCloud job: ${r.status} ${r.body.toString().slice(0, 300)}`);
          }
        }),
      );
    }
    const sampleOut = await client.request('GET', `${acct}/out/count-0000.txt`);
    if (sampleOut.body.toString() !== '200\n') throw new Error(`ZeroCloud job output: ${JSON.stringify(sampleOut.body.toString())}`);
    result.zerocloud = { objects: o.zerocloudObjects, objectBytes: Buffer.byteLength(csv), totalMs: summarize(totals), nodesOk };
    log(`ZeroCloud job over ${o.zerocloudObjects} CSV objects: p50 ${result.zerocloud.totalMs.p50.toFixed(0)} ms`);
  } finally {
    client.close();
    await platform.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  result.diskWriteMBps = await diskWriteSpeed(os.tmpdir(), o.bigMiB, o.bigRepeat);
  result.md5MBps = md5Speed(o.bigMiB, o.bigRepeat);
  log(`disk under the data directory: ${result.diskWriteMBps.toFixed(0)} MB/s (${o.bigMiB} MiB written + fdatasync); MD5 ${result.md5MBps.toFixed(0)} MB/s`);
  result.swift = await benchSaio(o, log);
  return result;
}

/** MD5 of `mib` MiB in 1 MiB updates, median MB/s: no PUT of a Swift API can beat it. */
function md5Speed(mib: number, repeat: number): number {
  const chunk = Buffer.alloc(1024 * 1024, 'cairn md5 baseline ');
  const rates: number[] = [];
  for (let k = 0; k < repeat; k++) {
    const t0 = process.hrtime.bigint();
    const h = createHash('md5');
    for (let i = 0; i < mib; i++) h.update(chunk);
    h.digest();
    rates.push((mib * chunk.length) / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)];
}

/**
 * What "near disk speed" is measured against: a file of `mib` MiB written in 1 MiB writes and
 * fdatasync'ed, in the directory Cairn's data lives in (the durability a PUT gives), median MB/s.
 */
async function diskWriteSpeed(dir: string, mib: number, repeat: number): Promise<number> {
  const file = path.join(dir, `cairn-bench-disk-${process.pid}`);
  const chunk = Buffer.alloc(1024 * 1024, 'cairn disk baseline ');
  const rates: number[] = [];
  try {
    for (let k = 0; k < repeat; k++) {
      const t0 = process.hrtime.bigint();
      const fh = await fs.promises.open(file, 'w');
      try {
        for (let i = 0; i < mib; i++) await fh.write(chunk);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      rates.push((mib * chunk.length) / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9));
      fs.rmSync(file, { force: true });
    }
  } finally {
    fs.rmSync(file, { force: true });
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)];
}

/** The same swift-bench.py run against a throw-away SAIO, stopped afterwards whatever happens. */
async function benchSaio(o: StorageBenchOptions, log: (line: string) => void): Promise<SwiftPhase[] | string> {
  if (!fs.existsSync(SAIO_START) || !fs.existsSync(SWIFT_BENCH)) {
    const why = `${SAIO_START} not found: Cairn measured alone`;
    log(why);
    return why;
  }
  const env = { ...process.env, ...SAIO_ENV };
  try {
    log('starting a Swift SAIO (swift-saio.sh) …');
    await run('bash', [SAIO_START], { env, timeout: 120_000, maxBuffer: 1 << 20 });
    log('swift-bench.py against Swift (SAIO, one replica, tempauth):');
    return await swiftBench(`http://127.0.0.1:${SAIO_ENV.SAIO_PROXY_PORT}/auth/v1.0`, 'test:tester', 'testing', o, log);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    const why = `Swift SAIO not measured: ${(e.stderr || e.message).trim().split('\n').slice(-1)[0]}`;
    log(why);
    return why;
  } finally {
    await run('bash', [SAIO_STOP], { env: { ...env, SAIO_PURGE: '1' }, timeout: 60_000 }).catch((err: Error) => log(`swift-saio-stop.sh: ${err.message}`));
  }
}
