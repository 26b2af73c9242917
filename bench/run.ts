// `npm run bench`: measures the platform through its HTTP API and writes the figures, with the
// command and the machine, into docs/benchmarks.md (each benchmark owns one marked section).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchFunctions, type FunctionBenchResult } from './functions';
import { ms } from './stats';
import { benchStorage } from './storage';
import { storageSection } from './storage-report';

const DOC = path.join(__dirname, '../docs/benchmarks.md');

/** Parts run by `npm run bench -- <part> …`; all of them when none is named. */
const PARTS = ['functions', 'storage'] as const;

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const named = PARTS.filter((p) => process.argv.slice(2).includes(p));
  const parts = named.length ? named : [...PARTS];
  const flags = [...named, ...(quick ? ['--quick'] : [])];
  const command = `npm run bench${flags.length ? ` -- ${flags.join(' ')}` : ''}`;
  if (parts.includes('functions')) await mainFunctions(quick, command);
  if (parts.includes('storage')) {
    const started = Date.now();
    const r = await benchStorage(
      quick
        ? { smallCount: 200, concurrency: 4, bigMiB: 16, bigRepeat: 1, storletSamples: [5, 4, 3], zerocloudObjects: 20, zerocloudRepeat: 1 }
        : { smallCount: 3000, concurrency: 4, bigMiB: 64, bigRepeat: 5, storletSamples: [40, 20, 10], zerocloudObjects: 100, zerocloudRepeat: 3 },
      (line) => console.log(line),
    );
    const section = storageSection(r, command, (Date.now() - started) / 1000, machine());
    // Goals next to the figures, on the console as in the doc.
    console.log(`\n${section}\n`);
    writeSection('storage', section);
    console.log(`Wrote ${path.relative(process.cwd(), DOC)}`);
  }
}

async function mainFunctions(quick: boolean, command: string): Promise<void> {
  const opts = quick
    ? { warmCalls: 300, coldSamples: 5, throughputSeconds: 2, concurrencies: [1, 8] }
    : { warmCalls: 2000, coldSamples: 20, throughputSeconds: 5, concurrencies: [1, 4, 16] };
  const started = Date.now();
  const r = await benchFunctions(opts, (line) => console.log(line));
  // The same warm path against a real PostgreSQL server shows what the embedded database costs.
  const pgUrl = argValue('--postgres') ?? 'postgres://postgres@127.0.0.1:5432/test';
  const pg = await benchFunctions({ ...opts, databaseUrl: pgUrl, warmOnly: true }, (line) => console.log(`[postgres] ${line}`)).catch((err: Error) => {
    console.warn(`PostgreSQL at ${new URL(pgUrl).host} not measured: ${err.message}`);
    return undefined;
  });
  writeSection('functions', functionsSection(r, pg, command, (Date.now() - started) / 1000));
  console.log(`Wrote ${path.relative(process.cwd(), DOC)}`);
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

function functionsSection(r: FunctionBenchResult, pg: FunctionBenchResult | undefined, command: string, seconds: number): string {
  const row = (what: string, goal: string, py: { p50: number; p99: number }, node: { p50: number; p99: number }) =>
    `| ${what} | ${goal} | ${ms(py.p50)} / ${ms(py.p99)} | ${ms(node.p50)} / ${ms(node.p99)} |`;
  return [
    '## Function invocation',
    '',
    `Command: \`${command}\` (${seconds.toFixed(0)} s) · ${new Date().toISOString().slice(0, 10)} · ${machine()}`,
    '',
    'Sync executions of hello-world functions through the HTTP API (`POST /function/v1/executions` with a',
    'token, keep-alive), embedded PGlite, bwrap sandboxes with cgroup limits. Latency in ms, p50 / p99.',
    '',
    '| what | goal (DESIGN §9) | Python 3 | Node.js |',
    '|---|---|---|---|',
    row('warm invocation', 'p50 ≤ 1, p99 ≤ 5', r.warm.python3, r.warm.nodejs),
    ...(pg ? [row('warm invocation, PostgreSQL server instead of PGlite', 'p50 ≤ 1, p99 ≤ 5', pg.warm.python3, pg.warm.nodejs)] : []),
    row('  of which the executor alone (in-process, no HTTP, no SQL)', '', r.executorOnlyWarm.python3, r.executorOnlyWarm.nodejs),
    row('cold start, a generic pool sandbox ready', 'p50 ≤ 10', r.coldPoolReady.python3, r.coldPoolReady.nodejs),
    row('cold start, no pool sandbox (pool size 0)', 'p50 ≤ 40', r.coldNoPool.python3, r.coldNoPool.nodejs),
    '',
    'Sustained warm throughput (one Python and one Node function, 0.3 CPU each, up to 4 sandboxes per function):',
    '',
    '| concurrency | invocations/s | p50 ms | p99 ms | errors |',
    '|---|---|---|---|---|',
    ...r.throughput.map((t) => `| ${t.concurrency} | ${t.perSecond.toFixed(0)} | ${ms(t.latency.p50)} | ${ms(t.latency.p99)} | ${t.errors} |`),
    ...(pg ? ['', 'The same with a PostgreSQL 15 server on 127.0.0.1:5432 instead of PGlite:', '', '| concurrency | invocations/s | p50 ms | p99 ms | errors |', '|---|---|---|---|---|',
      ...pg.throughput.map((t) => `| ${t.concurrency} | ${t.perSecond.toFixed(0)} | ${ms(t.latency.p50)} | ${ms(t.latency.p99)} | ${t.errors} |`)] : []),
  ].join('\n');
}

function writeSection(name: string, body: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let doc = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '# Benchmarks\n\nFigures written by `npm run bench`; each section names the command that produced it.\n';
  const block = `${start}\n${body}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(DOC, doc);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
