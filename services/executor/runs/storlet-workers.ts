// Warm storlet workers: a bwrap sandbox (the isolation of a cold Run: no network, no host files,
// uid 65534, a cgroup, read-only code) running a storlet shim in serving mode, one call at a time.
// A worker serves one storlet version of one account (the spec's key), so a redeploy or another
// account never meets its module state. Inputs are staged by the caller into the worker's inbox
// (bound read-only at /inbox), usually as hard links to the objects' own files; the output, its
// metadata, log lines and stderr come back as frames over the control socket (fd 3):
//   1 byte type + 4 bytes big-endian length + payload
//   R ready · M metadata JSON · D data · L log text · E stderr text · X end, JSON {"code": n}
// The shim sends M before any D (set_metadata first), so the order on the wire is the order the
// storlet was allowed to act in. Only a call that ended with code 0 returns its worker to the pool:
// a raise, a missing set_metadata, a timeout, a crash or a memory kill discards it.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { Socket } from 'node:net';
import * as path from 'node:path';
import type { Config } from '../../core/config';
import { isCairnError } from '../../core/errors';
import type { StorletCall, StorletCallResult, StorletWorkerLease, StorletWorkerSpec } from '../../core/runs';
import { isolationArgs } from '../sandbox/bwrap';
import type { CgroupTree, SandboxCgroup } from '../sandbox/cgroups';
import { SandboxLauncher } from '../sandbox/launcher';

/** Where the worker's inbox appears inside its sandbox. */
const SANDBOX_INBOX = '/inbox';
/** Most log or stderr bytes kept per call (Storlets' log files are small; stderr is for the error body). */
const MAX_CAPTURE_BYTES = 1 << 20;
/** A worker that has not said it is ready by then is discarded. */
const START_TIMEOUT_MS = 30_000;
const FRAME_HEADER = 5;
/** After a worker failed to start, calls run cold for this long instead of paying a failed start each. */
const START_FAILURE_BACKOFF_MS = 30_000;
/** Output kept in memory up to this size (a common object goes straight to the client); larger spills to the call's file. */
const MEMORY_OUTPUT_BYTES = 32 * 1024 * 1024;

interface ActiveCall {
  outPath: string;
  /** Output chunks while in memory; undefined once spilled to `outFd`. */
  chunks: Buffer[] | undefined;
  outFd: number | undefined;
  outputBytes: number;
  maxOutputBytes: number;
  metadata?: Buffer;
  log: Buffer[];
  logBytes: number;
  stderr: Buffer[];
  stderrBytes: number;
  timer: NodeJS.Timeout;
  finish: (r: Omit<StorletCallResult, 'log' | 'stderr' | 'outputBytes' | 'metadata'>) => void;
}

/** One warm sandbox serving one storlet version. */
class StorletWorker {
  readonly id: string;
  readonly dir: string;
  readonly inbox: string;
  lastUsed = Date.now();
  idleTimer: NodeJS.Timeout | undefined;
  private pid: number | undefined;
  private ctl: Socket | undefined;
  /** A frame header cut between two reads. */
  private head = Buffer.alloc(0);
  /** The frame being received: data frames are consumed as they arrive, others collected. */
  private frame: { type: string; remaining: number; parts: Buffer[] } | undefined;
  private active: ActiveCall | undefined;
  private exited = false;
  private onReady: ((err?: Error) => void) | undefined;
  private memoryBytes = 0;

  constructor(
    readonly key: string,
    root: string,
    private readonly cgroup: SandboxCgroup | undefined,
  ) {
    this.id = randomBytes(6).toString('hex');
    this.dir = path.join(root, this.id);
    this.inbox = path.join(this.dir, 'inbox');
  }

  get alive(): boolean {
    return !this.exited;
  }

  async start(config: Config, launcher: SandboxLauncher, spec: StorletWorkerSpec): Promise<void> {
    const code = path.join(this.dir, 'code');
    this.memoryBytes = spec.memoryBytes;
    await fsp.mkdir(this.inbox, { recursive: true });
    await fsp.mkdir(code, { recursive: true });
    await spec.stageCode(code);
    const bwrap = [...isolationArgs(config), '--ro-bind', code, '/storlet', '--ro-bind', this.inbox, SANDBOX_INBOX];
    for (const d of spec.devices) bwrap.push(d.kind === 'write' ? '--bind' : '--ro-bind', d.kind === 'pipe' ? d.pipe : d.hostPath, d.sandboxPath);
    bwrap.push('--chdir', '/tmp', '--', spec.program, ...spec.args);
    // As for cold runs (sandbox-run.ts): rlimits and cgroups are entered before bwrap is exec'd.
    const procs = this.cgroup ? this.cgroup.procsFiles() : [];
    const memoryLimit = this.cgroup ? '' : `ulimit -v ${Math.ceil(spec.memoryBytes / 1024)} || exit 97; `;
    const script =
      `ulimit -n "$1" || exit 97; ${memoryLimit}` +
      `n=$2; shift 2; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 98; shift; n=$((n-1)); done; exec "$@"`;
    const argv = ['/bin/sh', '-c', script, 'cairn-storlet', String(config.limits.openFiles), String(procs.length), ...procs, config.executor.bwrapPath, ...bwrap];
    // CAIRN_OWN_PID_NAMESPACE: the shim may kill what a call left running (see the shims).
    const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/tmp', TMPDIR: '/tmp', CAIRN_OWN_PID_NAMESPACE: '1' };
    const ready = new Promise<void>((resolve, reject) => {
      this.onReady = (err) => (err ? reject(err) : resolve());
    });
    const launched = await launcher.launch(`storlet-${this.id}`, argv, env);
    this.pid = launched.pid;
    this.ctl = launched.ctl;
    launched.ctl.on('data', (chunk: Buffer) => this.onData(chunk));
    launched.ctl.on('error', () => undefined);
    launched.ctl.on('close', () => this.onExit());
    // fds 1/2: what escapes the shim's own redirection (a child process writing to fd 2).
    launched.log.on('data', (chunk: Buffer) => this.active && append(this.active, 'stderr', chunk));
    launched.log.on('error', () => undefined);
    launched.ctl.resume();
    launched.log.resume();
    const timer = setTimeout(() => this.onReady?.(new Error('the storlet worker did not start in time')), START_TIMEOUT_MS);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
  }

  call(call: StorletCall, opts: { timeoutMs: number; maxOutputBytes: number; outPath: string }): Promise<StorletCallResult> {
    if (this.active) throw new Error(`storlet worker ${this.id} is busy`);
    return new Promise<StorletCallResult>((resolve) => {
      const active: ActiveCall = {
        outPath: opts.outPath,
        chunks: [],
        outFd: undefined,
        outputBytes: 0,
        maxOutputBytes: opts.maxOutputBytes,
        log: [],
        logBytes: 0,
        stderr: [],
        stderrBytes: 0,
        timer: setTimeout(() => {
          this.kill();
          active.finish({ status: 'timeout', code: null, detail: `killed after the ${opts.timeoutMs} ms time limit` });
        }, opts.timeoutMs),
        finish: (r) => {
          if (this.active !== active) return;
          this.active = undefined;
          clearTimeout(active.timer);
          if (active.outFd !== undefined) fs.closeSync(active.outFd);
          resolve({ ...r, output: active.chunks, metadata: active.metadata, log: Buffer.concat(active.log), stderr: Buffer.concat(active.stderr), outputBytes: active.outputBytes });
        },
      };
      this.active = active;
      if (this.exited || !this.ctl) return active.finish({ status: 'error', code: null, detail: 'the storlet worker exited before the call' });
      this.ctl.write(`${JSON.stringify(call)}\n`);
    });
  }

  /** SIGKILLs the sandbox; bwrap's --die-with-parent chain and the cgroup take the rest. */
  kill(): void {
    if (this.pid !== undefined && !this.exited) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.cgroup?.killAll();
    this.ctl?.destroy();
  }

  /** Kills the worker and removes its cgroup and directories. */
  async dispose(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.kill();
    if (this.cgroup) for (let i = 0; i < 20 && !this.cgroup.remove(); i++) await new Promise((r) => setTimeout(r, 10));
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  private onData(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (!this.frame) {
        const take = Math.min(FRAME_HEADER - this.head.length, chunk.length - off);
        this.head = Buffer.concat([this.head, chunk.subarray(off, off + take)]);
        off += take;
        if (this.head.length < FRAME_HEADER) return;
        this.frame = { type: String.fromCharCode(this.head[0]), remaining: this.head.readUInt32BE(1), parts: [] };
        this.head = Buffer.alloc(0);
      } else {
        const take = Math.min(this.frame.remaining, chunk.length - off);
        const part = chunk.subarray(off, off + take);
        off += take;
        this.frame.remaining -= take;
        if (this.frame.type === 'D') this.onOutput(part);
        else this.frame.parts.push(part);
      }
      const f = this.frame;
      if (f && f.remaining === 0) {
        this.frame = undefined;
        if (f.type !== 'D') this.onFrame(f.type, Buffer.concat(f.parts));
      }
    }
  }

  /** Output bytes, as they arrive: kept in memory, or appended to the call's file once large. */
  private onOutput(part: Buffer): void {
    const a = this.active;
    if (!a || part.length === 0) return;
    // The shim refuses this already; code that writes to the socket itself is held to it here.
    if (!a.metadata) {
      this.kill();
      return a.finish({ status: 'error', code: null, detail: 'output data arrived before its metadata' });
    }
    a.outputBytes += part.length;
    if (a.outputBytes > a.maxOutputBytes) {
      this.kill();
      return a.finish({ status: 'output-too-long', code: null, detail: `wrote more than the ${a.maxOutputBytes} bytes allowed per output` });
    }
    if (a.chunks && a.outputBytes <= MEMORY_OUTPUT_BYTES) {
      a.chunks.push(part);
      return;
    }
    if (a.outFd === undefined) {
      a.outFd = fs.openSync(a.outPath, 'w');
      for (const c of a.chunks ?? []) fs.writeSync(a.outFd, c);
      a.chunks = undefined;
    }
    fs.writeSync(a.outFd, part);
  }

  private onFrame(type: string, payload: Buffer): void {
    if (type === 'R') return this.onReady?.();
    const a = this.active;
    if (!a) return; // nothing may arrive outside a call; a stray frame is ignored
    switch (type) {
      case 'M':
        a.metadata = Buffer.from(payload);
        return;
      case 'L':
        return append(a, 'log', payload);
      case 'E':
        return append(a, 'stderr', payload);
      case 'X': {
        let code: number | null = null;
        try {
          code = (JSON.parse(payload.toString('utf8')) as { code: number }).code;
        } catch {
          /* a malformed end frame is a failure of the call */
        }
        return a.finish({ status: 'ok', code: typeof code === 'number' ? code : null, detail: typeof code === 'number' ? undefined : 'the storlet worker sent a malformed reply' });
      }
      default:
        this.kill();
    }
  }

  private onExit(): void {
    if (this.exited) return;
    this.exited = true;
    this.kill();
    this.onReady?.(new Error('the storlet worker exited while starting'));
    const a = this.active;
    if (!a) return;
    // Let the last stderr bytes in flight arrive before reporting the death.
    setTimeout(() => {
      const events = this.cgroup?.events();
      if (events && events.oomKills > 0) a.finish({ status: 'oom', code: null, detail: `killed for using more than ${this.memoryBytes} bytes of memory` });
      else a.finish({ status: 'ok', code: null, detail: 'the storlet worker exited during the call' });
    }, 20);
  }
}

function append(a: ActiveCall, which: 'log' | 'stderr', chunk: Buffer): void {
  const bytesKey = which === 'log' ? 'logBytes' : 'stderrBytes';
  const room = MAX_CAPTURE_BYTES - a[bytesKey];
  if (room <= 0) return;
  const part = chunk.length <= room ? Buffer.from(chunk) : Buffer.from(chunk.subarray(0, room));
  a[which].push(part);
  a[bytesKey] += part.length;
}

/**
 * The warm workers of one executor: at most `runs.storletWorkers` (busy and idle together), idle
 * ones expire after `runs.storletIdleSeconds`, and the least recently used idle worker makes room
 * for a new one. With every slot busy a call gets no worker and runs cold.
 */
export class StorletWorkerPool {
  private readonly idle = new Map<string, StorletWorker[]>();
  private readonly all = new Set<StorletWorker>();
  private launcher: SandboxLauncher | undefined;
  private launcherStarting: Promise<SandboxLauncher> | undefined;
  private closed = false;
  private coldUntil = 0;
  /** This pool's own directory: `<parent>/<pid>-<n>`, so pools sharing a data directory never meet. */
  private readonly root: string;

  constructor(
    private readonly config: Config,
    private readonly parent: string,
    private readonly cgroups: () => CgroupTree | undefined,
  ) {
    this.root = path.join(parent, `${process.pid}-${++poolSeq}`);
  }

  /** `idleOnly`: an idle worker of this version or nothing; no worker is started (its code is elsewhere). */
  async acquire(spec: StorletWorkerSpec, opts: { idleOnly?: boolean } = {}): Promise<StorletWorkerLease | undefined> {
    if (!this.enabled()) return undefined;
    const key = JSON.stringify([spec.account, spec.version, spec.program, spec.args]);
    const list = this.idle.get(key);
    while (list && list.length) {
      const w = list.pop()!;
      if (list.length === 0) this.idle.delete(key);
      clearTimeout(w.idleTimer);
      if (w.alive) return this.lease(w);
      void this.discard(w);
    }
    if (opts.idleOnly) return undefined;
    if (this.all.size >= this.config.runs.storletWorkers && !this.evictOne()) return undefined;
    const cgroup = this.cgroups()?.group(`storlet-${randomBytes(6).toString('hex')}`, { memoryBytes: spec.memoryBytes, cpuMillis: 0, processes: spec.processes });
    const worker = new StorletWorker(key, this.root, cgroup);
    this.all.add(worker);
    try {
      await worker.start(this.config, await this.ensureLauncher(), spec);
    } catch (err) {
      await this.discard(worker);
      // Staging the code failed (a missing dependency): the caller's error. A sandbox that
      // would not start: the cold path tries and reports it in its own terms.
      if (isCairnError(err)) throw err;
      this.coldUntil = Date.now() + START_FAILURE_BACKOFF_MS;
      return undefined;
    }
    return this.lease(worker);
  }

  /** Whether a worker could be started now: a free slot, or an idle worker to evict for it. */
  canStart(): boolean {
    return this.enabled() && (this.all.size < this.config.runs.storletWorkers || this.idle.size > 0);
  }

  private enabled(): boolean {
    return !this.closed && this.config.runs.storletWorkers > 0 && Date.now() >= this.coldUntil;
  }

  /** Kills every worker; the cgroup tree is removed by its owner. */
  close(): void {
    this.closed = true;
    const disposed = [...this.all].map((w) => w.dispose());
    this.all.clear();
    this.idle.clear();
    const launcher = this.launcher;
    this.launcher = undefined;
    void Promise.all([...disposed, launcher?.stop()]).then(() => fsp.rm(this.root, { recursive: true, force: true }), () => undefined);
  }

  private lease(w: StorletWorker): StorletWorkerLease {
    let reusable = true;
    let released = false;
    // Outside the worker's directory: the output may still be sent after the worker was evicted.
    const spillPath = path.join(this.root, 'spill', randomBytes(8).toString('hex'));
    return {
      inbox: w.inbox,
      sandboxInbox: SANDBOX_INBOX,
      spillPath,
      call: async (call, opts) => {
        const r = await w.call(call, { ...opts, outPath: spillPath });
        if (r.status !== 'ok' || r.code !== 0) reusable = false;
        return r;
      },
      release: async () => {
        if (released) return;
        released = true;
        await this.giveBack(w, reusable);
      },
    };
  }

  private async giveBack(w: StorletWorker, reusable: boolean): Promise<void> {
    if (!reusable || !w.alive || this.closed) return this.discard(w);
    // The next call of this storlet must not see this call's inputs. Hard links (the objects' own
    // files) are dropped synchronously: an unlink that frees no data costs microseconds, less than
    // a thread-pool round trip. Streamed copies may be large, so their blocks are freed off the loop.
    try {
      for (const entry of fs.readdirSync(w.inbox)) {
        const p = path.join(w.inbox, entry);
        const st = fs.lstatSync(p);
        if (st.isFile() && st.nlink > 1) fs.unlinkSync(p);
        else await fsp.rm(p, { recursive: true, force: true });
      }
    } catch {
      return this.discard(w);
    }
    w.lastUsed = Date.now();
    w.idleTimer = setTimeout(() => this.expire(w), this.config.runs.storletIdleSeconds * 1000);
    w.idleTimer.unref();
    const list = this.idle.get(w.key) ?? [];
    list.push(w);
    this.idle.set(w.key, list);
  }

  private expire(w: StorletWorker): void {
    const list = this.idle.get(w.key);
    const i = list ? list.indexOf(w) : -1;
    if (i < 0) return; // leased again meanwhile
    list!.splice(i, 1);
    if (list!.length === 0) this.idle.delete(w.key);
    void this.discard(w);
  }

  /** Discards the least recently used idle worker; false when every worker is busy. */
  private evictOne(): boolean {
    let oldest: StorletWorker | undefined;
    for (const list of this.idle.values()) for (const w of list) if (!oldest || w.lastUsed < oldest.lastUsed) oldest = w;
    if (!oldest) return false;
    this.expire(oldest);
    return true;
  }

  private async discard(w: StorletWorker): Promise<void> {
    this.all.delete(w);
    await w.dispose();
  }

  private ensureLauncher(): Promise<SandboxLauncher> {
    if (this.launcher) return Promise.resolve(this.launcher);
    this.launcherStarting ??= (async () => {
      removeStalePools(this.parent);
      fs.mkdirSync(path.join(this.root, 'spill'), { recursive: true });
      const l = new SandboxLauncher(this.config.executor.pythonPath, this.root);
      await l.start();
      this.launcher = l;
      this.launcherStarting = undefined;
      return l;
    })();
    return this.launcherStarting;
  }
}

let poolSeq = 0;

/** Removes the directories of pools whose process is gone (a crash leaves inboxes and spills behind). */
function removeStalePools(parent: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = /^(\d+)-\d+$/.exec(entry);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // alive
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPERM') continue;
    }
    fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
}
