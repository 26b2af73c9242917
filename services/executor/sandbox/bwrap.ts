// One bubblewrap sandbox running one runtime server (functions-runtime/CONTRACT.md). The sandbox
// is started generic and later bound to one function's code by the pool; this file only knows
// how to start it, talk to it, capture its log, and kill it.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import * as path from 'node:path';
import type { Config } from '../../core/config';
import type { ExecutionInput, RuntimeKind } from '../../core/execution';
import type { SandboxCgroup } from './cgroups';
import type { Launched, SandboxLauncher } from './launcher';

/** Where things appear inside every sandbox. */
export const SANDBOX_PATHS = {
  runtime: '/runtime',
  function: '/function',
  apiSocket: '/run/cairn/api.sock',
} as const;

/** Unprivileged ids inside the sandbox (Debian's nobody/nogroup). */
export const SANDBOX_UID = 65534;

export interface BwrapSandboxOptions {
  name: string;
  runtime: RuntimeKind;
  config: Config;
  cgroup: SandboxCgroup;
  /** Host directory bind-mounted read-only at /function; files hard-linked in later appear inside. */
  functionDir: string;
  launcher: SandboxLauncher;
  apiSocketPath: string;
  apiPort: number;
}

/** The caller-facing part of the `run` message (CONTRACT.md). */
export interface RunMessage {
  id: string;
  entry: string;
  input: ExecutionInput;
  context: Record<string, unknown>;
}

export interface RuntimeReply {
  ok: boolean;
  output?: unknown;
  error?: string;
  duration: number;
}

export type CallOutcome =
  | { kind: 'reply'; reply: RuntimeReply; log: string }
  | { kind: 'timeout'; log: string; elapsedMs: number }
  | { kind: 'died'; log: string; elapsedMs: number; exit: string };

interface Capture {
  marker: Buffer;
  chunks: Buffer[];
  bytes: number;
  max: number;
  truncated: boolean;
  /** Bytes held back because they may be the start of the marker. */
  tail: Buffer;
  markerSeen: boolean;
  reply: RuntimeReply | undefined;
  started: bigint;
  timer: NodeJS.Timeout | undefined;
  finish: (outcome: CallOutcome) => void;
}

export class SandboxStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxStartError';
  }
}

/** A running bwrap sandbox with its runtime server; one call at a time. */
export class BwrapSandbox {
  readonly name: string;
  readonly runtime: RuntimeKind;
  readonly ready: Promise<void>;
  private pidValue: number | undefined;
  private control: Socket | undefined;
  private logStream: Socket | undefined;
  private controlBuffer = '';
  private capture: Capture | undefined;
  private startupOutput = '';
  private exited = false;
  private killed = false;
  private readonly exitListeners: Array<() => void> = [];
  /** Handles control lines outside a call (the `ready` line). */
  private onControlLine: (line: string) => void = () => undefined;

  constructor(private readonly opts: BwrapSandboxOptions) {
    this.name = opts.name;
    this.runtime = opts.runtime;
    const { config } = opts;
    // The shell wrapper enters the cgroups and sets RLIMIT_NOFILE on itself before exec'ing bwrap, so
    // every sandbox process is limited from its first instruction (moving bwrap afterwards would
    // leave its already-forked children outside).
    const script =
      'ulimit -n "$1" || exit 97; echo $$ > "$2" && echo $$ > "$3" && echo $$ > "$4" || exit 98; shift 4; exec "$@"';
    const argv = ['/bin/sh', '-c', script, 'cairn-sandbox', String(config.limits.openFiles), ...opts.cgroup.procsFiles(), config.executor.bwrapPath, ...bwrapArgs(opts)];
    // Nothing of the platform's environment (database URL, passwords) reaches tenant code.
    // CAIRN_OWN_PID_NAMESPACE: the runtime may kill strays between calls (see the runtime servers).
    const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/tmp', TMPDIR: '/tmp', CAIRN_OWN_PID_NAMESPACE: '1' };
    this.ready = opts.launcher.launch(this.name, argv, env).then(
      (launched) => this.attach(launched),
      (err: Error) => {
        this.onExit();
        throw new SandboxStartError(`sandbox ${this.name} could not be started: ${err.message}`);
      },
    );
    // Rejections are observed by whoever awaits `ready`; this keeps an early death quiet.
    this.ready.catch(() => undefined);
  }

  private attach(launched: Launched): Promise<void> {
    this.pidValue = launched.pid;
    this.control = launched.ctl;
    this.logStream = launched.log;
    this.control.setEncoding('utf8');
    this.control.on('data', (data: string) => this.onControl(data));
    this.control.on('error', () => undefined);
    this.control.on('close', () => this.onExit());
    this.logStream.on('data', (chunk: Buffer) => this.onLog(chunk));
    this.logStream.on('error', () => undefined);
    this.control.resume();
    this.logStream.resume();
    if (this.killed) this.kill();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new SandboxStartError(`sandbox ${this.name} did not start within 30 s: ${this.startupOutput.trim()}`));
        this.kill();
      }, 30_000);
      this.onControlLine = (line) => {
        if (line.includes('"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      this.exitListeners.push(() => {
        clearTimeout(timer);
        reject(new SandboxStartError(`sandbox ${this.name} exited while starting: ${this.startupOutput.trim() || 'no output'}`));
      });
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  get pid(): number | undefined {
    return this.pidValue;
  }

  /** Runs one call; resolves with the reply, or a timeout/death outcome (the sandbox is then dead). */
  call(msg: RunMessage, timeoutMs: number, logMaxBytes: number): Promise<CallOutcome> {
    if (this.capture) throw new Error(`sandbox ${this.name} is busy`);
    if (this.exited || !this.control) return Promise.resolve({ kind: 'died', log: '', elapsedMs: 0, exit: 'before the call' });
    return new Promise<CallOutcome>((resolve) => {
      const marker = `\0cairn-end-${randomBytes(8).toString('hex')}\0`;
      const capture: Capture = {
        marker: Buffer.from(marker),
        chunks: [],
        bytes: 0,
        max: logMaxBytes,
        truncated: false,
        tail: Buffer.alloc(0),
        markerSeen: false,
        reply: undefined,
        started: process.hrtime.bigint(),
        timer: undefined,
        finish: (outcome) => {
          clearTimeout(capture.timer);
          this.capture = undefined;
          resolve(outcome);
        },
      };
      capture.timer = setTimeout(() => {
        const log = this.takeLog(capture);
        this.kill();
        capture.finish({ kind: 'timeout', log, elapsedMs: elapsedMs(capture) });
      }, timeoutMs);
      this.capture = capture;
      this.control!.write(`${JSON.stringify({ op: 'run', ...msg, end: marker })}\n`);
    });
  }

  /** SIGKILLs the sandbox: bwrap's --die-with-parent chain takes every process inside with it. */
  kill(): void {
    this.killed = true;
    if (this.pidValue !== undefined && !this.exited) {
      try {
        process.kill(this.pidValue, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    // Whatever is in the group (including a sandbox still being launched) goes too.
    this.opts.cgroup.killAll();
  }

  /** Resolves once the sandbox process has exited. */
  exitedPromise(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.exitListeners.push(resolve));
  }

  private onControl(data: string): void {
    this.controlBuffer += data;
    let nl: number;
    while ((nl = this.controlBuffer.indexOf('\n')) >= 0) {
      const line = this.controlBuffer.slice(0, nl);
      this.controlBuffer = this.controlBuffer.slice(nl + 1);
      const c = this.capture;
      if (c) {
        try {
          c.reply = JSON.parse(line) as RuntimeReply;
        } catch {
          c.reply = { ok: false, error: 'The runtime sent a malformed reply.', duration: 0 };
        }
        this.maybeFinish(c);
      } else {
        this.onControlLine(line);
      }
    }
  }

  private onLog(chunk: Buffer): void {
    const c = this.capture;
    if (!c) {
      // Output outside a call: kept only while starting, for the start-failure message.
      if (this.startupOutput.length < 4096) this.startupOutput += chunk.toString('utf8');
      return;
    }
    if (c.markerSeen) return; // stray output after the marker belongs to no call
    const window = c.tail.length ? Buffer.concat([c.tail, chunk]) : chunk;
    const at = window.indexOf(c.marker);
    if (at >= 0) {
      c.tail = Buffer.alloc(0);
      this.append(c, window.subarray(0, at));
      c.markerSeen = true;
      this.maybeFinish(c);
      return;
    }
    const keep = Math.min(window.length, c.marker.length - 1);
    this.append(c, window.subarray(0, window.length - keep));
    c.tail = Buffer.from(window.subarray(window.length - keep));
  }

  private append(c: Capture, data: Buffer): void {
    if (data.length === 0) return;
    const room = c.max - c.bytes;
    if (data.length <= room) {
      c.chunks.push(data);
      c.bytes += data.length;
    } else {
      if (room > 0) c.chunks.push(data.subarray(0, room));
      c.bytes = c.max;
      c.truncated = true;
    }
  }

  private maybeFinish(c: Capture): void {
    if (c.markerSeen && c.reply) c.finish({ kind: 'reply', reply: c.reply, log: this.takeLog(c) });
  }

  private takeLog(c: Capture): string {
    this.append(c, c.tail);
    c.tail = Buffer.alloc(0);
    let log = Buffer.concat(c.chunks).toString('utf8');
    if (c.truncated) log += `${log.endsWith('\n') || log === '' ? '' : '\n'}[log truncated: more than ${c.max} bytes were printed]\n`;
    return log;
  }

  /** The control socket closed: every process holding it (the whole sandbox) is gone. */
  private onExit(): void {
    if (this.exited) return;
    const exit = this.killed ? 'killed' : 'exited';
    // A closed control channel with processes still alive (user code closed fd 3) ends them too.
    this.kill();
    this.exited = true;
    const c = this.capture;
    if (c) {
      // Let the last log bytes still in flight arrive before reporting the death.
      const finish = (): void => {
        if (this.capture === c) c.finish({ kind: 'died', log: this.takeLog(c), elapsedMs: elapsedMs(c), exit });
      };
      const log = this.logStream;
      if (!log || log.destroyed || log.readableEnded) finish();
      else {
        log.once('close', finish);
        setTimeout(finish, 200).unref();
      }
    }
    for (const l of this.exitListeners.splice(0)) l();
  }
}

function elapsedMs(c: Capture): number {
  return Number(process.hrtime.bigint() - c.started) / 1e6;
}

/** Root-level entries that are symlinks into /usr on merged-/usr hosts (or real directories elsewhere). */
const ROOT_LINKS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

let rootMountsCache: string[] | undefined;
/** bwrap arguments mounting the host's /usr (and its root links) read-only; shared with the run module. */
export function rootMounts(): string[] {
  if (rootMountsCache) return rootMountsCache;
  const args: string[] = ['--ro-bind', '/usr', '/usr'];
  for (const name of ROOT_LINKS) {
    const p = `/${name}`;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(p), p);
    else if (st.isDirectory()) args.push('--ro-bind', p, p);
  }
  rootMountsCache = args;
  return args;
}

/**
 * The isolation every sandbox starts from (functions, ZeroCloud nodes, storlets): every namespace
 * unshared (no network), an unprivileged uid, read-only system directories, a private /proc, /dev
 * and size-limited /tmp, and death with the process that started it.
 */
export function isolationArgs(config: Config): string[] {
  return [
    '--unshare-all',
    '--unshare-user',
    '--uid', String(SANDBOX_UID),
    '--gid', String(SANDBOX_UID),
    '--die-with-parent',
    '--new-session',
    '--hostname', 'cairn',
    ...rootMounts(),
    '--proc', '/proc',
    '--dev', '/dev',
    '--perms', '1777', '--size', String(config.limits.tmpBytes), '--tmpfs', '/tmp',
  ];
}

function bwrapArgs(opts: BwrapSandboxOptions): string[] {
  const { config } = opts;
  const interpreter = opts.runtime === 'python3' ? config.executor.pythonPath : config.executor.nodePath;
  const args = [
    ...isolationArgs(config),
    '--ro-bind', config.executor.runtimeDir, SANDBOX_PATHS.runtime,
    '--ro-bind', opts.functionDir, SANDBOX_PATHS.function,
  ];
  // An interpreter outside /usr (e.g. a node under /opt) is mounted at its own path.
  if (!interpreter.startsWith('/usr/')) args.push('--ro-bind', interpreter, interpreter);
  if (opts.apiSocketPath && fs.existsSync(opts.apiSocketPath)) args.push('--ro-bind', opts.apiSocketPath, SANDBOX_PATHS.apiSocket);
  args.push('--chdir', '/tmp', '--');
  const serverArgs = [
    '--control-fd', '3',
    '--function-dir', SANDBOX_PATHS.function,
    '--api-port', String(opts.apiPort),
    '--api-socket', SANDBOX_PATHS.apiSocket,
  ];
  if (opts.runtime === 'python3') {
    // -I: no user site, no PYTHON* variables, no script dir on sys.path; -u: unbuffered, so a
    // timeout kill loses nothing printed; -B: the package is read-only, don't try writing .pyc.
    args.push(interpreter, '-I', '-u', '-B', path.join(SANDBOX_PATHS.runtime, 'python3', 'server.py'), ...serverArgs);
  } else {
    args.push(interpreter, path.join(SANDBOX_PATHS.runtime, 'nodejs', 'server.js'), ...serverArgs);
  }
  return args;
}
