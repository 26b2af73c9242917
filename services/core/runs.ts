// The one execution contract for code next to the data (DESIGN.md §4): both front-ends, ZeroCloud
// jobs and Storlets, compile what a request asks for into Runs; the executor's run module executes
// them in bwrap sandboxes with no network. Devices are files: the front-end stages inputs into a
// per-job directory and names where each appears inside the sandbox; the executor writes outputs
// into files of the same directory, and the front-end commits them to the store only on success.
// Paths are host paths, so a Run is only meaningful on the machine that staged it (local mode).

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
}
