// Warm pools. Per runtime, `poolSize` generic sandboxes run with the interpreter and runtime
// loaded (for Python, the OpenStack client libraries imported: the zygote). The first call of a
// codeKey takes a generic sandbox and specialises it (code linked into its /function, cgroup
// limits set to the function's); later calls of the same codeKey reuse it while it stays warm.
// One call at a time per sandbox, up to maxWorkersPerFunction per codeKey, maxSandboxes in all;
// calls beyond that wait in FIFO order, and past queueLimit get a 429.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../core/config';
import { CairnError } from '../core/errors';
import type { FunctionSpec, RuntimeKind } from '../core/execution';
import { linkTree, type CodeCache } from './code-cache';
import { BwrapSandbox } from './sandbox/bwrap';
import type { CgroupTree, SandboxCgroup } from './sandbox/cgroups';
import type { SandboxLauncher } from './sandbox/launcher';

const RUNTIMES: RuntimeKind[] = ['python3', 'nodejs'];

/** After a generic sandbox fails to start, its runtime's pool is not refilled for this long. */
const START_FAILURE_BACKOFF_MS = 5_000;

/** How long a refill waits after a cold start. */
const REFILL_DELAY_MS = 30;

type SandboxState = 'starting' | 'generic' | 'specialising' | 'idle' | 'busy' | 'dead';

/** A sandbox as the pool sees it. */
export interface PooledSandbox {
  readonly sandbox: BwrapSandbox;
  readonly cgroup: SandboxCgroup;
  readonly runtime: RuntimeKind;
  /** Per-sandbox host directory (holds `function/`). */
  readonly dir: string;
  state: SandboxState;
  fn: { functionId: string; version: number; codeKey: string } | undefined;
  lastUsed: number;
  /** Discard after the current call (its function was updated). */
  retire: boolean;
}

/** A sandbox handed to one call; give it back with WarmPool.release. */
export interface Lease {
  sb: PooledSandbox;
  warm: boolean;
}

interface Waiter {
  fn: FunctionSpec;
  resolve: (lease: Lease) => void;
  reject: (err: unknown) => void;
}

export interface WarmPoolDeps {
  cgroups: CgroupTree;
  code: CodeCache;
  launcher: SandboxLauncher;
  /** Root of the per-sandbox directories. */
  sandboxesDir: string;
  apiSocketPath: string;
  apiPort: number;
}

export class WarmPool {
  private readonly sandboxes = new Set<PooledSandbox>();
  private readonly waiters: Waiter[] = [];
  private readonly startFailedAt = new Map<RuntimeKind, number>();
  private seq = 0;
  private stopped = false;
  private reaper: NodeJS.Timeout | undefined;
  private refillTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private kickScheduled = false;

  constructor(
    private readonly config: Config,
    private readonly deps: WarmPoolDeps,
  ) {}

  start(): void {
    fs.mkdirSync(this.deps.sandboxesDir, { recursive: true });
    const everyMs = Math.max(250, Math.min(30_000, (this.config.executor.idleSeconds * 1000) / 4));
    this.reaper = setInterval(() => this.reapIdle(), everyMs);
    this.reaper.unref();
    this.refill();
  }

  /** A sandbox specialised for fn: an idle warm one, a specialised generic one, or a queue slot. */
  acquire(fn: FunctionSpec): Promise<Lease> {
    if (this.stopped) return Promise.reject(new CairnError('executor.stopped'));
    // Fast path, the warm call: no allocation beyond the lease.
    if (!this.waiters.length) {
      const sb = this.idleFor(fn.codeKey);
      if (sb) {
        sb.state = 'busy';
        return Promise.resolve({ sb, warm: true });
      }
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = { fn, resolve, reject };
      this.waiters.push(waiter);
      this.pump();
      if (this.waiters.includes(waiter) && this.waiters.filter((w) => w.fn.codeKey === fn.codeKey).length > this.config.executor.queueLimit) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new CairnError('execution.queue_full', { id: fn.functionId }));
      }
    });
  }

  /** Gives a sandbox back after a call; `discard` when it timed out, died or may be dirty. */
  release(lease: Lease, discard: boolean): void {
    const { sb } = lease;
    sb.lastUsed = Date.now();
    if (discard || sb.retire || !sb.sandbox.alive || this.stopped) this.discard(sb);
    else {
      sb.state = 'idle';
      this.pump();
    }
  }

  /** Sandboxes of a runtime: all alive ones, and the generic ones ready for a new function. */
  status(runtime: RuntimeKind): { total: number; available: number } {
    let total = 0;
    let available = 0;
    for (const sb of this.sandboxes) {
      if (sb.runtime !== runtime) continue;
      total += 1;
      if (sb.state === 'generic') available += 1;
    }
    return { total, available };
  }

  /** Sandboxes bound to a function (any version). */
  workers(functionId: string): { functionId: string; version: number; name: string }[] {
    const out: { functionId: string; version: number; name: string }[] = [];
    for (const sb of this.sandboxes) {
      if (sb.fn && sb.fn.functionId === functionId) out.push({ functionId, version: sb.fn.version, name: sb.sandbox.name });
    }
    return out;
  }

  /** Drops the warm sandboxes of a function (or one version): idle ones now, busy ones after their call. */
  drop(functionId: string, version?: number): void {
    for (const sb of [...this.sandboxes]) {
      if (!sb.fn || sb.fn.functionId !== functionId || (version !== undefined && sb.fn.version !== version)) continue;
      if (sb.state === 'idle') this.discard(sb);
      else sb.retire = true;
    }
  }

  /** Kills every sandbox and waits for them to exit; waiting calls get executor.stopped. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reaper);
    clearTimeout(this.refillTimer);
    for (const w of this.waiters.splice(0)) w.reject(new CairnError('executor.stopped'));
    const exits: Promise<void>[] = [];
    for (const sb of [...this.sandboxes]) exits.push(this.discard(sb));
    await Promise.all(exits);
  }

  private idleFor(codeKey: string): PooledSandbox | undefined {
    for (const sb of this.sandboxes) if (sb.state === 'idle' && sb.fn!.codeKey === codeKey) return sb;
    return undefined;
  }

  private countFor(codeKey: string): number {
    let n = 0;
    for (const sb of this.sandboxes) if (sb.fn && sb.fn.codeKey === codeKey) n += 1;
    return n;
  }

  /** Serves waiters in arrival order; each one gets a warm sandbox or a cold start if room allows. */
  private pump(): void {
    // Not re-entrant: a waiter must be taken off the queue before anything else looks at it.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.pumpOnce();
    } finally {
      this.pumping = false;
    }
  }

  /** Pump and refill on the next turn, once, after a sandbox went away. */
  private kick(): void {
    if (this.kickScheduled || this.stopped) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      if (this.stopped) return;
      this.pump();
      this.refill();
    });
  }

  private pumpOnce(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i];
      const warm = this.idleFor(w.fn.codeKey);
      if (warm) {
        this.waiters.splice(i, 1);
        warm.state = 'busy';
        w.resolve({ sb: warm, warm: true });
        continue;
      }
      if (this.countFor(w.fn.codeKey) < this.config.executor.maxWorkersPerFunction) {
        let sb: PooledSandbox | undefined;
        try {
          sb = this.claimSandbox(w.fn);
        } catch (err) {
          this.waiters.splice(i, 1);
          w.reject(err);
          continue;
        }
        if (sb) {
          this.waiters.splice(i, 1);
          void this.specialise(sb, w);
          continue;
        }
      }
      i += 1;
    }
  }

  /** A generic sandbox for fn's runtime (ready, starting, or new), making room if needed. */
  private claimSandbox(fn: FunctionSpec): PooledSandbox | undefined {
    const runtime = fn.runtime!;
    let pick: PooledSandbox | undefined;
    for (const sb of this.sandboxes) {
      if (sb.runtime !== runtime) continue;
      if (sb.state === 'generic') {
        pick = sb;
        break;
      }
      if (sb.state === 'starting' && !pick) pick = sb;
    }
    if (!pick) {
      if (this.sandboxes.size >= this.config.executor.maxSandboxes && !this.evictOne()) return undefined;
      pick = this.spawn(runtime);
    }
    pick.state = 'specialising';
    pick.fn = { functionId: fn.functionId, version: fn.version, codeKey: fn.codeKey };
    this.scheduleRefill();
    return pick;
  }

  /**
   * Frees one slot: the least recently used idle sandbox whose function nobody waits for, else
   * (when `allowGeneric`) a spare generic one.
   */
  private evictOne(allowGeneric = true): boolean {
    let victim: PooledSandbox | undefined;
    const waited = new Set(this.waiters.map((w) => w.fn.codeKey));
    for (const sb of this.sandboxes) {
      if (sb.state === 'idle' && !waited.has(sb.fn!.codeKey) && (!victim || sb.lastUsed < victim.lastUsed)) victim = sb;
    }
    if (!victim && allowGeneric) for (const sb of this.sandboxes) if (sb.state === 'generic') victim = sb;
    if (!victim) return false;
    void this.discard(victim);
    return true;
  }

  private async specialise(sb: PooledSandbox, w: Waiter): Promise<void> {
    try {
      const [codeDir] = await Promise.all([this.deps.code.dirFor(w.fn), sb.sandbox.ready]);
      if (sb.state !== 'specialising') throw new CairnError('executor.stopped');
      linkTree(codeDir, path.join(sb.dir, 'function'));
      sb.cgroup.apply({
        memoryBytes: w.fn.memoryBytes + this.config.executor.runtimeOverheadBytes,
        cpuMillis: w.fn.cpuMillis,
        processes: this.config.limits.processes,
      });
      sb.state = 'busy';
      w.resolve({ sb, warm: false });
    } catch (err) {
      void this.discard(sb);
      w.reject(err);
    }
  }

  /**
   * Refills a moment after a cold start: a new sandbox's interpreter start-up (0.5 s of CPU for
   * the Python zygote) would otherwise compete with the call that just took a sandbox.
   */
  private scheduleRefill(): void {
    if (this.refillTimer) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.refill();
    }, REFILL_DELAY_MS);
  }

  /**
   * Starts generic sandboxes until each runtime has poolSize of them. At maxSandboxes the least
   * recently used idle warm sandbox makes room: a ready generic sandbox makes every new function's
   * first call fast, while the evicted function's next call merely starts cold.
   */
  private refill(): void {
    if (this.stopped) return;
    for (const runtime of RUNTIMES) {
      const failedAt = this.startFailedAt.get(runtime);
      if (failedAt !== undefined && Date.now() - failedAt < START_FAILURE_BACKOFF_MS) continue;
      let generic = 0;
      for (const sb of this.sandboxes) if (sb.runtime === runtime && (sb.state === 'generic' || sb.state === 'starting')) generic += 1;
      try {
        while (generic < this.config.executor.poolSize && (this.sandboxes.size < this.config.executor.maxSandboxes || this.evictOne(false))) {
          this.spawn(runtime);
          generic += 1;
        }
      } catch {
        // Recorded in startFailedAt; the next call of this runtime reports the reason.
      }
    }
  }

  /** Starts one generic sandbox; throws when its directory or cgroups cannot be made. */
  private spawn(runtime: RuntimeKind): PooledSandbox {
    const name = `sb-${++this.seq}-${runtime}`;
    const dir = path.join(this.deps.sandboxesDir, name);
    let cgroup: SandboxCgroup;
    try {
      fs.mkdirSync(path.join(dir, 'function'), { recursive: true });
      // Generic sandboxes warm up unthrottled; specialisation sets the function's limits.
      cgroup = this.deps.cgroups.group(name, {
        memoryBytes: this.config.limits.memorySize.max + this.config.executor.runtimeOverheadBytes,
        cpuMillis: 0,
        processes: this.config.limits.processes,
      });
    } catch (err) {
      this.startFailedAt.set(runtime, Date.now());
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const sandbox = new BwrapSandbox({
      name,
      runtime,
      config: this.config,
      cgroup,
      functionDir: path.join(dir, 'function'),
      launcher: this.deps.launcher,
      apiSocketPath: this.deps.apiSocketPath,
      apiPort: this.deps.apiPort,
    });
    const sb: PooledSandbox = { sandbox, cgroup, runtime, dir, state: 'starting', fn: undefined, lastUsed: Date.now(), retire: false };
    this.sandboxes.add(sb);
    sandbox.ready.then(
      () => {
        if (sb.state === 'starting') {
          sb.state = 'generic';
          this.pump();
        }
      },
      () => {
        this.startFailedAt.set(runtime, Date.now());
        // A waiter that claimed this sandbox hears of the failure from specialise().
        if (sb.state === 'starting') void this.discard(sb);
      },
    );
    void sandbox.exitedPromise().then(() => {
      // An unexpected death of an idle or generic sandbox frees its slot.
      if (sb.state === 'idle' || sb.state === 'generic') void this.discard(sb);
    });
    return sb;
  }

  private discard(sb: PooledSandbox): Promise<void> {
    if (sb.state === 'dead') return sb.sandbox.exitedPromise();
    sb.state = 'dead';
    this.sandboxes.delete(sb);
    sb.sandbox.kill();
    const done = sb.sandbox.exitedPromise().then(async () => {
      // The group empties a moment after the last process is reaped.
      for (let i = 0; i < 20 && !sb.cgroup.remove(); i++) {
        sb.cgroup.killAll();
        await new Promise((r) => setTimeout(r, 10));
      }
      await fs.promises.rm(sb.dir, { recursive: true, force: true });
    });
    this.kick();
    return done;
  }

  private reapIdle(): void {
    const cutoff = Date.now() - this.config.executor.idleSeconds * 1000;
    for (const sb of [...this.sandboxes]) if (sb.state === 'idle' && sb.lastUsed < cutoff) void this.discard(sb);
  }
}
