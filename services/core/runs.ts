// The one execution contract for code next to the data (DESIGN.md §4): both front-ends, ZeroCloud
// jobs and Storlets, compile what a request asks for into Runs; the executor's run module executes
// them in bwrap sandboxes with no network. Devices are files: the front-end stages inputs into a
// per-job directory and names where each appears inside the sandbox; the executor writes outputs
// into files of the same directory, and the front-end commits them to the store only on success.
// Paths are host paths, so a Run is only meaningful on the machine that staged it; in the
// distributed mode core/run-wire.ts carries a plan and its files to the executor and back.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** How one device appears inside the sandbox. */
export type DeviceBinding =
  /** A host file bound read-only (input, script, image members, extra resources). */
  | { kind: 'read'; hostPath: string; sandboxPath: string }
  /** A host file (created empty by the executor) bound writable (output, log, metadata out). */
  | { kind: 'write'; hostPath: string; sandboxPath: string }
  /** A named pipe between two runs of one plan (`connect`); the executor creates it. */
  | { kind: 'pipe'; pipe: string; end: 'read' | 'write'; sandboxPath: string };

export interface RunLimits {
  /** Wall-clock limit; the whole sandbox is killed past it. */
  timeoutMs: number;
  /** cgroup memory limit (address-space rlimit when cgroups are unavailable). */
  memoryBytes: number;
  /** Most processes in the sandbox. */
  processes: number;
  /** Largest file the program may write (stdout, stderr and writable devices each). */
  maxWriteBytes: number;
}

/** One program in one sandbox. */
export interface Run {
  /** Unique within a plan; e.g. a ZeroCloud node name (`map-2`). */
  name: string;
  /** Absolute path of the program inside the sandbox (e.g. /usr/bin/python3). */
  program: string;
  /** Arguments after the program. */
  args: string[];
  env: Record<string, string>;
  /** Working directory inside the sandbox. @default / */
  cwd?: string;
  /** Host directory whose top-level entries appear read-only at `/` (ZeroCloud's image root). */
  imageDir?: string;
  /** Host file fed as stdin; /dev/null when unset. */
  stdinPath?: string;
  /** Host files receiving stdout and stderr (always captured). */
  stdoutPath: string;
  stderrPath: string;
  devices: DeviceBinding[];
  limits: RunLimits;
}

/** How a run ended; only `ok` runs have their outputs committed. */
export type RunStatus = 'ok' | 'timeout' | 'oom' | 'output-too-long' | 'killed' | 'error';

export interface RunResult {
  name: string;
  status: RunStatus;
  /** The program's exit code; null when it died of a signal. */
  exitCode: number | null;
  signal: string | null;
  wallMs: number;
  /** Why the sandbox could not start or what killed it, for error bodies. */
  detail?: string;
}

/** Several runs started together; pipes named in their devices connect them. */
export interface RunPlan {
  runs: Run[];
  /** One deadline for the whole plan. */
  timeoutMs: number;
}

/** What the api needs from the executor to run code next to the data. */
export interface RunExecutor {
  /** Starts every run of the plan at once and resolves when all have ended, in plan order. */
  execute(plan: RunPlan): Promise<RunResult[]>;
  /** A scratch directory for one job's staged devices; removed by `release`. */
  workDir(label: string): Promise<string>;
  release(dir: string): Promise<void>;
  /**
   * A warm storlet worker for this exact storlet version, started if needed; undefined when warm
   * workers are off or every slot is busy (the caller then runs the call cold).
   */
  storletWorker?(spec: StorletWorkerSpec): Promise<StorletWorkerLease | undefined>;
}

/** Which storlet a warm worker serves and how it is started. */
export interface StorletWorkerSpec {
  /** Workers are never shared across accounts. */
  account: string;
  /** Everything that makes one storlet version: name, ETag, timestamp, language, dependency versions. */
  version: string;
  /** The interpreter and the shim in serving mode (functions-runtime/storlets/). */
  program: string;
  args: string[];
  /** Extra read-only binds (a Node.js outside /usr). */
  devices: DeviceBinding[];
  /** Fills the worker's code directory, mounted read-only at /storlet; called once per worker. */
  stageCode(dir: string): Promise<void>;
  memoryBytes: number;
  processes: number;
}

/** One call's request, as the serving shim reads it (paths are inside the sandbox). */
export interface StorletCall {
  input: string;
  /** Inclusive byte ranges of `input` to feed, one after the other. */
  ranges?: [number, number][];
  meta: Record<string, string>;
  params: Record<string, string>;
  extras: { path: string; meta: Record<string, string> }[];
}

/** What a warm call produced; `code` follows the shims' exit codes (0 done, 1 raised, 3 no metadata). */
export interface StorletCallResult {
  status: RunStatus;
  code: number | null;
  detail?: string;
  /** The output metadata exactly as the storlet set it (JSON text); undefined when never set. */
  metadata?: Buffer;
  log: Buffer;
  stderr: Buffer;
  outputBytes: number;
  /** The output, when small enough to stay in memory; undefined when it was written to `outPath`. */
  output?: Buffer[];
}

/** A worker held for one call; `release` clears its inbox and returns it (or discards it). */
export interface StorletWorkerLease {
  /** Host directory bound read-only at `sandboxInbox`; the caller stages inputs here. */
  inbox: string;
  sandboxInbox: string;
  /** Host file (unique to this lease, outside the worker) receiving a large output; the caller removes it. */
  spillPath: string;
  /** Runs the call; a large output is written to `spillPath`, a small one kept in memory. */
  call(call: StorletCall, opts: { timeoutMs: number; maxOutputBytes: number }): Promise<StorletCallResult>;
  release(): Promise<void>;
}

/** A fresh job directory under `root` (a run executor's `runs/`), named after `label`. */
export async function makeRunDir(root: string, label: string): Promise<string> {
  await fsp.mkdir(root, { recursive: true });
  return fsp.mkdtemp(path.join(root, `${label.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32)}-`));
}
