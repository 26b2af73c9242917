// How one storlet call is executed: in a warm worker for its version (services/executor/runs/
// storlet-workers.ts) or, as the fallback, as one cold Run whose devices are files in the call's
// directory (functions-runtime/CONTRACT.md, storlet shims); and how either ending becomes the
// output's metadata or the call's error. storlet.ts decides what the call reads and where its
// output goes.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '../../core/errors';
import type { ByteRange, Metadata, ObjectInfo } from '../../core/objectstore/backend';
import type { DeviceBinding, RunExecutor, StorletWorkerSpec } from '../../core/runs';
import { SWIFT_CONSTRAINTS } from './constraints';
import type { StorletDeps } from './storlet';
import { dependencyList, dependencyMode, STORLET_CONTAINERS, storletLanguage } from './storlet-deploy';

/** Storlets' cap on the output metadata, serialized. */
const MAX_OUTPUT_METADATA_BYTES = 4096;
/** Largest input a storlet reads (an object or an upload). */
export const MAX_INPUT_BYTES = SWIFT_CONSTRAINTS.max_file_size;
/** Shim exit code for "never called set_metadata" (functions-runtime/storlets/shim.py and shim.js). */
const EXIT_NO_METADATA = 3;
/** Where the shim's directory appears inside the sandbox. */
const SHIM_DIR = '/cairn-storlets';
/** Most processes in a storlet's sandbox. */
const STORLET_PROCESSES = 64;

/** An input staged next to the main one (an extra resource): its file name and user metadata. */
export interface StagedInput {
  file: string;
  meta: Metadata;
}

/** How a call ended, warm or cold, in the shims' terms (exit code 0 done, 1 raised, 3 no metadata). */
export interface Ended {
  status: string;
  code: number | null;
  detail?: string;
  metadata: Buffer;
  log: Buffer;
  stderr: Buffer;
}

/** One cold Run in a fresh sandbox: the fallback when no warm worker is to be had. */
export async function runCold(
  deps: StorletDeps,
  runs: RunExecutor,
  workDir: string,
  name: string,
  codeMeta: Metadata,
  params: Record<string, string>,
  inputMeta: Metadata,
  inputPath: string,
  shimRanges: ByteRange[] | undefined,
  extras: StagedInput[],
  account: string,
  outPath: string,
): Promise<Ended> {
  const codeRoot = path.join(workDir, 'root');
  await stageCode(deps, account, name, codeMeta, path.join(codeRoot, 'storlet'));
  const dev = path.join(workDir, 'dev');
  await fsp.mkdir(dev);
  await fsp.writeFile(path.join(dev, 'params'), JSON.stringify(params));
  await fsp.writeFile(path.join(dev, 'meta-in'), JSON.stringify(inputMeta));
  const rangeDevices: DeviceBinding[] = [];
  if (shimRanges) {
    await fsp.writeFile(path.join(dev, 'range'), JSON.stringify(shimRanges.map((r) => [r.start, r.end])));
    rangeDevices.push({ kind: 'read', hostPath: path.join(dev, 'range'), sandboxPath: '/dev/storlet/range' });
  }
  const extraDevices: DeviceBinding[] = [];
  for (const e of extras) {
    await fsp.writeFile(path.join(dev, `${e.file}.meta`), JSON.stringify(e.meta));
    extraDevices.push(
      { kind: 'read', hostPath: path.join(workDir, e.file), sandboxPath: `/dev/storlet/${e.file}` },
      { kind: 'read', hostPath: path.join(dev, `${e.file}.meta`), sandboxPath: `/dev/storlet/${e.file}.meta` },
    );
  }
  const interpreter = shimCommand(deps, codeMeta);
  const [result] = await runs.execute({
    timeoutMs: deps.config.runs.storletTimeoutSeconds * 1000 + 1000,
    runs: [
      {
        name,
        program: interpreter.program,
        args: interpreter.args,
        env: {},
        cwd: '/tmp',
        imageDir: codeRoot,
        stdinPath: inputPath,
        stdoutPath: path.join(workDir, 'stdout'),
        stderrPath: path.join(workDir, 'stderr'),
        devices: [
          { kind: 'read', hostPath: path.join(deps.config.executor.runtimeDir, 'storlets'), sandboxPath: SHIM_DIR },
          { kind: 'read', hostPath: path.join(dev, 'params'), sandboxPath: '/dev/storlet/params' },
          { kind: 'read', hostPath: path.join(dev, 'meta-in'), sandboxPath: '/dev/storlet/meta-in' },
          { kind: 'write', hostPath: outPath, sandboxPath: '/dev/storlet/out' },
          { kind: 'write', hostPath: path.join(dev, 'meta-out'), sandboxPath: '/dev/storlet/meta-out' },
          { kind: 'write', hostPath: path.join(dev, 'log'), sandboxPath: '/dev/storlet/log' },
          ...interpreter.devices,
          ...rangeDevices,
          ...extraDevices,
        ],
        limits: { timeoutMs: deps.config.runs.storletTimeoutSeconds * 1000, memoryBytes: deps.config.runs.memoryBytes, processes: STORLET_PROCESSES, maxWriteBytes: MAX_INPUT_BYTES },
      },
    ],
  });
  const read = (file: string): Promise<Buffer> => fsp.readFile(file).catch(() => Buffer.alloc(0));
  return {
    status: result.status,
    code: result.exitCode,
    detail: result.status === 'ok' ? (result.signal ?? undefined) : result.detail,
    metadata: await read(path.join(dev, 'meta-out')),
    log: await read(path.join(dev, 'log')),
    stderr: await read(path.join(workDir, 'stderr')),
  };
}

/**
 * What a warm worker is keyed by: the account, and everything that makes this storlet version
 * (ETag and timestamp of the code, language and Main, each dependency's ETag, timestamp and mode),
 * so a redeploy never meets a worker that imported the old code.
 */
export async function workerSpec(deps: StorletDeps, account: string, name: string, code: ObjectInfo): Promise<StorletWorkerSpec> {
  const depVersions: string[][] = [];
  for (const d of dependencyList(code.meta)) {
    const info = d.includes('/') ? undefined : await deps.backend.headObject(account, STORLET_CONTAINERS.dependency, d);
    depVersions.push(info ? [d, info.etag, String(info.modifiedAt), dependencyMode(info.meta).toString(8)] : [d]);
  }
  const interpreter = shimCommand(deps, code.meta);
  const args = [...interpreter.args];
  args.splice(args.length - 1, 0, '--serve');
  return {
    account,
    version: JSON.stringify([name, code.etag, String(code.modifiedAt), storletLanguage(code.meta) ?? 'python', code.meta['storlet-main'], depVersions]),
    program: interpreter.program,
    args,
    devices: [{ kind: 'read', hostPath: path.join(deps.config.executor.runtimeDir, 'storlets'), sandboxPath: SHIM_DIR }, ...interpreter.devices],
    stageCode: (dir) => stageCode(deps, account, name, code.meta, dir),
    memoryBytes: deps.config.runs.memoryBytes,
    processes: STORLET_PROCESSES,
  };
}

/** The interpreter and shim for the storlet's language (validated when it was deployed). */
function shimCommand(deps: StorletDeps, meta: Metadata): { program: string; args: string[]; devices: DeviceBinding[] } {
  const main = meta['storlet-main'];
  if (storletLanguage(meta) !== 'nodejs') return { program: '/usr/bin/python3', args: ['-B', '-s', '-E', `${SHIM_DIR}/shim.py`, main], devices: [] };
  const node = deps.config.executor.nodePath;
  // A Node.js outside /usr (e.g. under /opt) is mounted at its own path, as for functions.
  const devices: DeviceBinding[] = node.startsWith('/usr/') ? [] : [{ kind: 'read', hostPath: node, sandboxPath: node }];
  // V8's heap stays under the sandbox's memory limit, so a greedy storlet fails with a JavaScript
  // heap error in its log rather than an OOM kill.
  const heapMiB = Math.max(16, Math.floor((deps.config.runs.memoryBytes * 0.75) / 2 ** 20));
  return { program: node, args: [`--max-old-space-size=${heapMiB}`, `${SHIM_DIR}/shim.js`, main], devices };
}

/** The storlet module and its dependencies, in the directory mounted at /storlet. */
async function stageCode(deps: StorletDeps, account: string, name: string, meta: Metadata, dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const copy = async (container: string, object: string, mode: number): Promise<void> => {
    const reader = await deps.backend.openObject(account, container, object);
    if (!reader) throw new CairnError('storlet.no_access', { name: object });
    try {
      await pipeline(reader.stream(), fs.createWriteStream(path.join(dir, object), { mode }));
      await fsp.chmod(path.join(dir, object), mode);
    } finally {
      await reader.close();
    }
  };
  await copy(STORLET_CONTAINERS.storlet, name, 0o644);
  for (const d of dependencyList(meta)) {
    if (d.includes('/')) throw new CairnError('storlet.bad_request', { reason: `Dependency name ${d} may not contain /` });
    const info = await deps.backend.headObject(account, STORLET_CONTAINERS.dependency, d);
    if (!info) throw new CairnError('storlet.failed', { reason: `dependency ${d} is not in the ${STORLET_CONTAINERS.dependency} container` });
    await copy(STORLET_CONTAINERS.dependency, d, dependencyMode(info.meta));
  }
}

/** The last line of stderr: the exception's message, for the error body. */
function lastLine(stderr: Buffer): string {
  const lines = stderr.toString('utf8').trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 512);
}

/** Fails the call unless the storlet ended well and set valid metadata; returns that metadata. */
export function outcome(ended: Ended, name: string): Metadata {
  if (ended.status === 'timeout') throw new CairnError('storlet.timed_out');
  if (ended.status !== 'ok') throw new CairnError('storlet.failed', { reason: ended.detail ?? ended.status });
  if (ended.code === EXIT_NO_METADATA) throw new CairnError('storlet.no_metadata', { name });
  if (ended.code !== 0) throw new CairnError('storlet.failed', { reason: lastLine(ended.stderr) || `exit code ${ended.code ?? ended.detail}` });
  // The metadata was written inside the sandbox, so it is checked like any other input.
  const raw = ended.metadata;
  if (raw.length === 0) throw new CairnError('storlet.no_metadata', { name });
  if (raw.length > MAX_OUTPUT_METADATA_BYTES) throw new CairnError('storlet.failed', { reason: `output metadata is larger than ${MAX_OUTPUT_METADATA_BYTES} bytes` });
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new CairnError('storlet.failed', { reason: 'output metadata is not JSON' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CairnError('storlet.failed', { reason: 'output metadata is not an object' });
  const meta: Metadata = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9_-]+$/.test(k)) throw new CairnError('storlet.failed', { reason: `output metadata entry ${k} is not a header-safe string` });
    meta[k.toLowerCase()] = v;
  }
  return meta;
}
