// Executes plans of Runs (services/core/runs.ts) in bwrap sandboxes: every run of a plan starts at
// once, pipes between them are named FIFOs in the plan's directory, one deadline covers the plan.
// This module is separate from the function pools: runs are cold, one sandbox per run, and share
// only the sandbox helpers (mounts, cgroups) with them.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import type { Config } from '../../core/config';
import { makeRunDir, type RunExecutor, type RunPlan, type RunResult, type StorletWorkerLease, type StorletWorkerSpec } from '../../core/runs';
import { CgroupTree, type SandboxCgroup } from '../sandbox/cgroups';
import { sandboxRun } from './sandbox-run';
import { StorletWorkerPool } from './storlet-workers';

/** How often a FIFO whose partner has exited is released (see `releasePipe`). */
const PIPE_RELEASE_INTERVAL_MS = 20;

/** Counts free sandbox slots; waiters are served in arrival order. */
class Slots {
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  constructor(private free: number) {}

  async acquire(n: number): Promise<void> {
    if (this.waiters.length === 0 && this.free >= n) {
      this.free -= n;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push({ n, resolve }));
  }

  release(n: number): void {
    this.free += n;
    while (this.waiters.length && this.free >= this.waiters[0].n) {
      const w = this.waiters.shift()!;
      this.free -= w.n;
      w.resolve();
    }
  }
}

export class BwrapRunExecutor implements RunExecutor {
  private readonly root: string;
  /** At most `executor.maxSandboxes` run sandboxes at once, across all jobs and storlet calls. */
  private readonly slots: Slots;
  private readonly maxSlots: number;
  private tree: CgroupTree | undefined;
  private treeChecked = false;
  private seq = 0;
  /** Warm storlet sandboxes, kept beside the cold runs (storlet-workers.ts). */
  private readonly workers: StorletWorkerPool;

  constructor(private readonly config: Config) {
    this.root = path.join(config.dataDir, 'runs');
    this.maxSlots = config.executor.maxSandboxes;
    this.slots = new Slots(this.maxSlots);
    // Under runs/ so that inbox hard links stay on the objects' filesystem, as the cold path's do.
    this.workers = new StorletWorkerPool(config, path.join(this.root, 'workers'), () => this.cgroups());
  }

  /** `idleOnly`: only an idle worker of this version, none started (the api's first ask, remote-runs.ts). */
  storletWorker(spec: StorletWorkerSpec, opts?: { idleOnly?: boolean }): Promise<StorletWorkerLease | undefined> {
    return this.workers.acquire(spec, opts);
  }

  /** Whether a warm storlet worker could be started now. */
  storletWorkerCanStart(): boolean {
    return this.workers.canStart();
  }

  workDir(label: string): Promise<string> {
    return makeRunDir(this.root, label);
  }

  async release(dir: string): Promise<void> {
    await fsp.rm(dir, { recursive: true, force: true });
  }

  /** Removes the cgroup parent (runs still inside are killed). */
  close(): void {
    this.workers.close();
    this.tree?.remove();
    this.tree = undefined;
  }

  private cgroups(): CgroupTree | undefined {
    if (!this.treeChecked) {
      this.treeChecked = true;
      const tree = new CgroupTree(this.config.executor.cgroupRoot);
      // Without writable cgroups (unprivileged dev hosts) runs fall back to rlimits.
      if (tree.check().length === 0) {
        tree.create();
        this.tree = tree;
      }
    }
    return this.tree;
  }

  async execute(plan: RunPlan): Promise<RunResult[]> {
    const pipeNames = new Set<string>();
    for (const run of plan.runs) for (const d of run.devices) if (d.kind === 'pipe') pipeNames.add(d.pipe);
    const pipes = new Map<string, string>();
    let pipeDir: string | undefined;
    if (pipeNames.size) {
      pipeDir = await this.workDir('pipes');
      for (const name of pipeNames) {
        const p = path.join(pipeDir, `p${pipes.size}`);
        execFileSync('/usr/bin/mkfifo', ['-m', '0600', p]);
        pipes.set(name, p);
      }
    }
    const tree = this.cgroups();
    const groups: (SandboxCgroup | undefined)[] = plan.runs.map((run) =>
      tree?.group(`run-${++this.seq}-${randomBytes(3).toString('hex')}`, { memoryBytes: run.limits.memoryBytes, cpuMillis: 0, processes: run.limits.processes }),
    );
    const abort = new AbortController();
    // Every run of the plan listens for it: a 100-node wildcard job is not a listener leak.
    setMaxListeners(plan.runs.length + 10, abort.signal);
    const ended = new Set<string>();
    const releasers: NodeJS.Timeout[] = [];
    // Runs joined by pipes must all run at once, so such a plan takes its slots together (all of
    // them, when it is larger than the pool); independent runs (a wildcard fan-out) queue one by one.
    const together = pipes.size > 0 ? Math.min(plan.runs.length, this.maxSlots) : 0;
    if (together) await this.slots.acquire(together);
    const deadline = setTimeout(() => abort.abort(`stopped: the job's ${plan.timeoutMs} ms deadline passed`), plan.timeoutMs);
    try {
      const results = await Promise.all(
        plan.runs.map(async (run, i) => {
          if (!together) await this.slots.acquire(1);
          let result: RunResult;
          try {
            result = await sandboxRun({ config: this.config, run, pipes, cgroup: groups[i], signal: abort.signal });
          } finally {
            if (!together) this.slots.release(1);
          }
          ended.add(run.name);
          // A failed sandbox fails the job: stop its siblings instead of letting them wait on pipes.
          if (result.status !== 'ok' && plan.runs.length > 1 && !abort.signal.aborted) abort.abort(`stopped because node ${run.name} failed`);
          for (const d of run.devices) {
            if (d.kind !== 'pipe') continue;
            const partner = plan.runs.find((r) => r !== run && r.devices.some((o) => o.kind === 'pipe' && o.pipe === d.pipe && o.end !== d.end));
            if (partner) releasers.push(releasePipe(pipes.get(d.pipe)!, d.end, () => ended.has(partner.name)));
          }
          return result;
        }),
      );
      return results;
    } finally {
      if (together) this.slots.release(together);
      clearTimeout(deadline);
      for (const t of releasers) clearInterval(t);
      for (const g of groups) {
        if (!g) continue;
        g.killAll();
        for (let i = 0; i < 20 && !g.remove(); i++) await new Promise((r) => setTimeout(r, 10));
      }
      if (pipeDir) await this.release(pipeDir);
    }
  }
}

/**
 * The node holding one end of a FIFO has ended; its partner may still be blocked opening the
 * other end (a FIFO open waits for the opposite side) or may open it later. Opening the ended
 * side non-blocking for a moment wakes such an open: a reader then sees end-of-file, a writer
 * EPIPE. Repeated until the partner has ended, since it may reach its open() only later.
 */
function releasePipe(fifo: string, endedSide: 'read' | 'write', partnerEnded: () => boolean): NodeJS.Timeout {
  const flags = (endedSide === 'write' ? fs.constants.O_WRONLY : fs.constants.O_RDONLY) | fs.constants.O_NONBLOCK;
  const tick = (): void => {
    if (partnerEnded()) return clearInterval(timer);
    try {
      fs.closeSync(fs.openSync(fifo, flags));
    } catch {
      /* ENXIO: no reader yet; the next tick tries again */
    }
  };
  const timer = setInterval(tick, PIPE_RELEASE_INTERVAL_MS);
  tick();
  return timer;
}
