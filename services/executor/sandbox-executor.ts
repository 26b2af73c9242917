// The local executor: package functions in bubblewrap sandboxes from warm pools, image functions
// in podman. It is the only component that runs tenant code; it enforces timeout, memory, CPU,
// processes, open files and log size, and turns every way a run can end into a RunResult.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../core/config';
import { isCairnError } from '../core/errors';
import { functionContext, RUN_MESSAGES, type Executor, type FunctionSpec, type RunRequest, type RunResult, type RuntimeKind } from '../core/execution';
import { CodeCache } from './code-cache';
import { WarmPool, type Lease } from './pool';
import type { CallOutcome } from './sandbox/bwrap';
import { CgroupTree, type CgroupEvents } from './sandbox/cgroups';
import { SandboxLauncher } from './sandbox/launcher';
import { PodmanRunner } from './sandbox/podman';

/** How long stop() waits for sandboxes and containers to exit before killing the launcher. */
const STOP_GRACE_MS = 20_000;

export interface SandboxExecutorDeps {
  /** Zip bytes of fn.codeKey. */
  fetchCode(fn: FunctionSpec): Promise<Buffer>;
  /** Unix socket where the platform API listens; mounted in every sandbox. */
  apiSocketPath: string;
  /** Port the in-sandbox forwarder listens on (read when a sandbox starts). */
  apiPort: number;
}

export class SandboxExecutor implements Executor {
  private readonly cgroups: CgroupTree;
  private readonly code: CodeCache;
  private readonly pool: WarmPool;
  private readonly podman: PodmanRunner;
  private readonly launcher: SandboxLauncher;
  private readonly sandboxesDir: string;
  private started = false;

  constructor(
    private readonly config: Config,
    private readonly deps: SandboxExecutorDeps,
  ) {
    this.cgroups = new CgroupTree(config.executor.cgroupRoot);
    this.code = new CodeCache(path.join(config.dataDir, 'code'), config.limits, (fn) => deps.fetchCode(fn));
    this.sandboxesDir = path.join(config.dataDir, 'sandboxes', this.cgroups.name);
    this.launcher = new SandboxLauncher(config.executor.pythonPath, this.sandboxesDir);
    this.pool = new WarmPool(config, {
      launcher: this.launcher,
      cgroups: this.cgroups,
      code: this.code,
      sandboxesDir: this.sandboxesDir,
      apiSocketPath: deps.apiSocketPath,
      // A getter: the platform learns its port after the executor is built.
      get apiPort() {
        return deps.apiPort;
      },
    });
    this.podman = new PodmanRunner(config);
  }

  /** What this host lacks for package functions, as sentences with the fix; empty when all is well. */
  checkHost(): string[] {
    const ex = this.config.executor;
    const problems: string[] = [];
    if (!isExecutable(ex.bwrapPath)) problems.push(`bubblewrap is not installed (${ex.bwrapPath}): apt-get install bubblewrap`);
    if (!isExecutable(ex.pythonPath)) problems.push(`python3 is not installed at ${ex.pythonPath}: apt-get install python3 (or set CAIRN_PYTHON)`);
    if (!isExecutable(ex.nodePath)) problems.push(`node is not executable at ${ex.nodePath}: set CAIRN_NODE`);
    for (const f of ['python3/server.py', 'nodejs/server.js']) {
      if (!fs.existsSync(path.join(ex.runtimeDir, f))) problems.push(`runtime server ${path.join(ex.runtimeDir, f)} is missing: set CAIRN_RUNTIME_DIR to the functions-runtime directory`);
    }
    problems.push(...this.cgroups.check());
    if (problems.length === 0) {
      // Namespaces can be refused by a container runtime or a sysctl even when bwrap exists.
      const r = spawnSync(ex.bwrapPath, ['--unshare-all', '--unshare-user', '--uid', '65534', '--die-with-parent', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '/usr/bin/true'], { timeout: 10_000, encoding: 'utf8' });
      if (r.status !== 0) problems.push(`bubblewrap cannot create a sandbox here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}): run as root, or allow user namespaces (sysctl kernel.unprivileged_userns_clone=1)`);
    }
    return problems;
  }

  /** Why image functions cannot run here (podman missing), or undefined. Not fatal: package functions still work. */
  imageSupportProblem(): string | undefined {
    return this.podman.problem();
  }

  /** Creates cgroups (removing stale ones of dead executors) and fills the warm pools. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.cgroups.create();
    removeStaleSandboxDirs(path.dirname(this.sandboxesDir));
    this.code.sweep();
    await this.launcher.start();
    this.pool.start();
  }

  /** Kills every sandbox and container and removes this executor's cgroups. */
  async stop(): Promise<void> {
    // Bounded: a sandbox stuck in its launch must not keep stop() from killing the launcher,
    // whose death (PR_SET_PDEATHSIG, then --die-with-parent) takes every sandbox with it.
    await Promise.race([Promise.all([this.podman.stop(), this.pool.stop()]), new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
    await this.launcher.stop();
    this.cgroups.remove();
    await fs.promises.rm(this.sandboxesDir, { recursive: true, force: true });
  }

  poolStatus(runtime: RuntimeKind): { total: number; available: number } {
    return this.pool.status(runtime);
  }

  workers(functionId: string): { functionId: string; version: number; name: string }[] {
    return this.pool.workers(functionId);
  }

  /** Drops warm sandboxes of a function (or one version) after its code or limits changed. */
  release(functionId: string, version?: number): void {
    this.pool.drop(functionId, version);
  }

  /**
   * Runs one execution. Throws CairnError('execution.queue_full') (429) when too many calls
   * wait for this function and 'executor.stopped' after stop(); every other outcome is a RunResult.
   */
  async run(req: RunRequest): Promise<RunResult> {
    if (req.fn.kind === 'image') return this.podman.run(req);
    if (!req.fn.runtime) return platformError(req, 'The function has no runtime.');
    let lease: Lease;
    try {
      lease = await this.pool.acquire(req.fn);
    } catch (err) {
      if (isCairnError(err) && (err.code === 'execution.queue_full' || err.code === 'executor.stopped')) throw err;
      return platformError(req, isCairnError(err) ? err.message : `The sandbox could not be prepared: ${(err as Error).message}`);
    }
    const outcome = await lease.sb.sandbox.call(
      { id: req.executionId, entry: req.fn.entry || 'main.main', input: req.input, context: this.context(req) },
      req.fn.timeoutSeconds * 1000,
      this.config.limits.logMaxBytes,
    );
    // A warm sandbox must come back clean: anything that hit a limit is discarded.
    const events = lease.sb.cgroup.events();
    const hitLimit = events.oomKills > 0 || events.pidsMaxHits > 0;
    const result = toResult(req, outcome, events, lease.warm);
    this.pool.release(lease, outcome.kind !== 'reply' || hitLimit);
    return result;
  }

  private context(req: RunRequest): Record<string, unknown> {
    return functionContext(req, `http://127.0.0.1:${this.deps.apiPort}`);
  }
}

function toResult(req: RunRequest, outcome: CallOutcome, events: CgroupEvents, warm: boolean): RunResult {
  const id = req.executionId;
  const log = (printed: string, note = ''): string =>
    `Start execution: ${id}\n${printed}${printed && !printed.endsWith('\n') ? '\n' : ''}${note}Finished execution: ${id}\n`;
  const resources = events.oomKills > 0 || events.pidsMaxHits > 0;
  const limitNote = events.oomKills > 0 ? 'Killed: the function used more memory than its memory_size allows.\n' : events.pidsMaxHits > 0 ? 'The function tried to start more processes than allowed.\n' : '';
  switch (outcome.kind) {
    case 'reply': {
      const { reply } = outcome;
      if (reply.ok) return { status: 'success', output: reply.output ?? null, duration: reply.duration, log: log(outcome.log), warm };
      if (resources) return { status: 'failed', output: RUN_MESSAGES.resources, duration: reply.duration, log: log(outcome.log, limitNote), warm };
      return { status: 'failed', output: reply.error ?? RUN_MESSAGES.failed, duration: reply.duration, log: log(outcome.log), warm };
    }
    case 'timeout':
      // A fork bomb often spins until the timeout; the limit it hit is the better answer.
      if (resources) return { status: 'failed', output: RUN_MESSAGES.resources, duration: round3(outcome.elapsedMs / 1000), log: log(outcome.log, limitNote), warm };
      return { status: 'failed', output: RUN_MESSAGES.timeout, duration: round3(outcome.elapsedMs / 1000), log: log(outcome.log), warm };
    case 'died':
      if (resources) return { status: 'failed', output: RUN_MESSAGES.resources, duration: round3(outcome.elapsedMs / 1000), log: log(outcome.log, limitNote), warm };
      return { status: 'failed', output: RUN_MESSAGES.failed, duration: round3(outcome.elapsedMs / 1000), log: log(outcome.log, `The runtime exited unexpectedly (${outcome.exit}).\n`), warm };
  }
}

function platformError(req: RunRequest, reason: string): RunResult {
  return { status: 'error', output: RUN_MESSAGES.failed, duration: 0, log: `Execution ${req.executionId} could not run: ${reason}\n`, warm: false };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Sandbox directories of executors that died without stop(). */
function removeStaleSandboxDirs(root: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^cairn-(\d+)(-\d+)?$/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      fs.rmSync(path.join(root, name), { recursive: true, force: true });
    }
  }
}

