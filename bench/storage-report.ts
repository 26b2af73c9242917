// The storage section of docs/benchmarks.md, from one benchStorage() result: goals (DESIGN §9)
// next to what was measured.
import { ms } from './stats';
import type { StorageBenchResult, SwiftPhase } from './storage';

const MB = 1e6;

function phase(phases: SwiftPhase[] | string, op: string): SwiftPhase | undefined {
  return typeof phases === 'string' ? undefined : phases.find((p) => p.op === op);
}

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;
}

const rate = (v: number): string => (v < 10 ? v.toFixed(1) : v.toFixed(0));

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? '–' : ok ? 'met' : 'not met';
}

export function storageSection(r: StorageBenchResult, command: string, seconds: number, machine: string): string {
  const o = r.options;
  const small = `${o.smallCount} objects of 4 KiB per phase, ${o.concurrency} threads`;
  const swiftRows = [
    ...['PUT 4KiB', 'GET 4KiB', 'DELETE 4KiB'].map((op) => {
      const c = phase(r.cairn, op)?.ops_per_s;
      const s = phase(r.swift, op)?.ops_per_s;
      const ratio = c && s ? c / s : undefined;
      return `| ${op} | ${c?.toFixed(0) ?? '–'} /s | ${s?.toFixed(0) ?? '–'} /s | ${ratio ? `${ratio.toFixed(1)}×` : '–'} | ≥ 5× | ${verdict(ratio === undefined ? undefined : ratio >= 5)} |`;
    }),
    ...['PUT', 'GET'].map((m) => {
      const op = `${m} ${o.bigMiB}MiB`;
      const c = phase(r.cairn, op)?.median_MBps;
      const s = phase(r.swift, op)?.median_MBps;
      const ratio = c && s ? c / s : undefined;
      // "Near disk speed" is judged for the write, the one a disk bounds (a GET reads the page cache),
      // against the slower of the disk and the MD5 every PUT must compute.
      const bound = Math.min(r.diskWriteMBps, r.md5MBps);
      const nearDisk = m === 'PUT' && c !== undefined && bound > 0 ? c >= 0.8 * bound : undefined;
      const goal = m === 'PUT' ? `≥ 5×, or near disk speed (≥ 80 % of ${bound.toFixed(0)} MB/s)` : '≥ 5×';
      return `| ${op} (median of ${o.bigRepeat}) | ${c?.toFixed(0) ?? '–'} MB/s | ${s?.toFixed(0) ?? '–'} MB/s | ${ratio ? `${ratio.toFixed(1)}×` : '–'} | ${goal} | ${verdict(ratio === undefined && nearDisk === undefined ? undefined : (ratio ?? 0) >= 5 || nearDisk === true)} |`;
    }),
  ];
  const storletRows = r.storlet.flatMap((s, i) => {
    const plainRate = s.bytes / (s.plain.p50 / 1000) / MB;
    const row = (label: string, run: typeof s.storlet, goal: string, ok: boolean | undefined) => {
      const runRate = s.bytes / (run.p50 / 1000) / MB;
      return `| ${size(s.bytes)}${label} | ${ms(s.plain.p50)} | ${ms(run.p50)} | ${run.p50 >= s.plain.p50 ? '+' : '−'}${ms(Math.abs(run.p50 - s.plain.p50))} | ${rate(plainRate)} | ${rate(runRate)} (${((runRate / plainRate) * 100).toFixed(0)} %) | ${goal} | ${verdict(ok)} |`;
    };
    const last = i === r.storlet.length - 1;
    const goal = i === 0 ? '≤ +0.5 ms' : last ? '≥ 80 % of plain' : '';
    const ok = (run: typeof s.storlet): boolean | undefined =>
      i === 0 ? run.p50 - s.plain.p50 <= 0.5 : last ? s.bytes / run.p50 >= 0.8 * (s.bytes / s.plain.p50) : undefined;
    return [row('', s.storlet, goal, ok(s.storlet)), ...(s.streamed ? [row(', input streamed through the api (non-fs backends)', s.streamed, goal, ok(s.streamed))] : [])];
  });
  const z = r.zerocloud;
  return [
    '## Object storage, storlets and ZeroCloud',
    '',
    `Command: \`${command}\` (${seconds.toFixed(0)} s) · ${new Date().toISOString().slice(0, 10)} · ${machine}`,
    '',
    `\`/work/shared/tools/swift-bench.py\` (${small}, keep-alive; one ${o.bigMiB} MiB object, PUT then GET) against`,
    'Cairn (`npm start`-style single process, fs backend, PGlite) and against a real Swift 2.30 SAIO on the',
    'same machine (one replica, one proxy worker, tempauth; `swift-saio.sh`). Disk speed: a file of the',
    `large object's size written in 1 MiB writes and \`fdatasync\`ed in the same directory, without Cairn: ${r.diskWriteMBps.toFixed(0)} MB/s`,
    `(median of the same number of runs). A PUT gives the same durability and must also compute the MD5 ETag, which runs at`,
    `${r.md5MBps.toFixed(0)} MB/s on one core here: a large PUT is "near disk speed" at 80 % of the slower of the two.`,
    ...(typeof r.swift === 'string' ? ['', `Swift: ${r.swift}.`] : []),
    '',
    '| what | Cairn | Swift | Cairn ÷ Swift | goal (DESIGN §9) | |',
    '|---|---|---|---|---|---|',
    ...swiftRows,
    '',
    'Storlet overhead: `GET` with `X-Run-Storlet` of an identity storlet (Python, a warm storlet worker:',
    'one bwrap sandbox per storlet version and account, reused across calls) against a plain `GET` of the',
    "same object; p50 latency in ms, MB/s = size ÷ p50. On the fs backend the storlet's input is the",
    "object's own data file (hard-linked into the worker's inbox, read-only); the streamed row copies it",
    'through the api first, as other backends do.',
    '',
    '| size | plain GET p50 | storlet p50 | overhead | plain MB/s | storlet MB/s | goal (DESIGN §9) | |',
    '|---|---|---|---|---|---|---|---|',
    ...storletRows,
    '',
    `ZeroCloud: one wildcard job over ${z.objects} CSV objects of ${z.objectBytes} bytes (\`swift://~/csv/part-*.csv\`, one Python`,
    `node per object, each writing its line count to \`swift://~/out/count-*.txt\`), ${z.totalMs.n} run(s):`,
    `total p50 ${z.totalMs.p50.toFixed(0)} ms (${(z.totalMs.p50 / z.objects).toFixed(1)} ms per node), all nodes \`ok.\`: ${z.nodesOk ? 'yes' : 'no'}. No goal in DESIGN §9.`,
  ].join('\n');
}
