// Starts sandbox processes off the event loop. On this kind of host node's spawn() blocks for
// 12-30 ms (fork of a large process, then waiting for exec), which would stall every warm call
// each time a pool is refilled. A small Python helper, started once, spawns sandboxes with
// posix_spawn (vfork) instead and hands each one two connections to our unix socket: `ctl`
// (fd 3, the runtime's control channel) and `log` (fds 1 and 2). The helper dies with us
// (PR_SET_PDEATHSIG), and bwrap's --die-with-parent takes every sandbox with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** The helper, run with `python3 -I -c`; kept inline so bundles need no extra file. */
const HELPER_SOURCE = String.raw`
import ctypes, json, os, signal, socket, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[3]):  # the platform died before prctl took effect
    sys.exit(0)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
SOCKET, SECRET = sys.argv[1], sys.argv[2]
def connect(kind, name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCKET)
    s.sendall(('%s %s %s\n' % (kind, SECRET, name)).encode())
    return s
for line in sys.stdin:
    req = json.loads(line)
    ctl = log = None
    try:
        ctl, log = connect('ctl', req['name']), connect('log', req['name'])
        devnull = os.open('/dev/null', os.O_RDONLY)
        try:
            pid = os.posix_spawn(req['argv'][0], req['argv'], req['env'], setsigdef=[signal.SIGCHLD, signal.SIGPIPE],
                file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, log.fileno(), 1),
                              (os.POSIX_SPAWN_DUP2, log.fileno(), 2), (os.POSIX_SPAWN_DUP2, ctl.fileno(), 3)])
        finally:
            os.close(devnull)
        out = {'name': req['name'], 'pid': pid}
    except Exception as e:
        out = {'name': req['name'], 'error': '%s: %s' % (type(e).__name__, e)}
    finally:
        for s in (ctl, log):
            if s is not None:
                s.close()
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
`;

/** A started sandbox process: its pid and its two streams. */
export interface Launched {
  pid: number;
  ctl: net.Socket;
  log: net.Socket;
}

interface Pending {
  pid?: number;
  ctl?: net.Socket;
  log?: net.Socket;
  resolve: (l: Launched) => void;
  reject: (err: Error) => void;
}

export class SandboxLauncher {
  private helper: ChildProcess | undefined;
  private server: net.Server | undefined;
  private readonly secret = randomBytes(16).toString('hex');
  private readonly pending = new Map<string, Pending>();
  private helperOut = '';
  readonly socketPath: string;

  constructor(
    private readonly pythonPath: string,
    dir: string,
  ) {
    const p = path.join(dir, 'launch.sock');
    // sun_path holds 108 bytes; a deep data directory falls back to the temp directory.
    this.socketPath = p.length < 100 ? p : path.join(os.tmpdir(), `cairn-launch-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  }

  async start(): Promise<void> {
    fs.mkdirSync(path.dirname(this.socketPath), { recursive: true });
    fs.rmSync(this.socketPath, { force: true });
    this.server = net.createServer((conn) => this.onConnection(conn));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, resolve);
    });
  }

  /** Spawns argv[0] with fd 3 = ctl and fds 1/2 = log; env replaces the environment entirely. */
  launch(name: string, argv: string[], env: Record<string, string>): Promise<Launched> {
    return new Promise<Launched>((resolve, reject) => {
      const helper = this.ensureHelper();
      if (!helper) return reject(new Error('the sandbox launcher is stopped'));
      this.pending.set(name, { resolve, reject });
      helper.stdin!.write(`${JSON.stringify({ name, argv, env })}\n`);
    });
  }

  async stop(): Promise<void> {
    const helper = this.helper;
    this.helper = undefined;
    if (helper && helper.exitCode === null) {
      helper.kill('SIGKILL');
      await new Promise((r) => helper.once('exit', r));
    }
    for (const [name, p] of this.pending) p.reject(new Error(`sandbox ${name} was not started: the launcher stopped`));
    this.pending.clear();
    if (this.server) await new Promise((r) => this.server!.close(r));
    this.server = undefined;
    fs.rmSync(this.socketPath, { force: true });
  }

  private ensureHelper(): ChildProcess | undefined {
    if (!this.server) return undefined;
    if (this.helper && this.helper.exitCode === null && this.helper.signalCode === null) return this.helper;
    // Started on first use (and again if it ever died): one spawn, never on the warm path.
    const helper = spawn(this.pythonPath, ['-I', '-c', HELPER_SOURCE, this.socketPath, this.secret, String(process.pid)], { stdio: ['pipe', 'pipe', 'inherit'] });
    helper.stdout!.setEncoding('utf8');
    helper.stdout!.on('data', (d: string) => this.onHelperOutput(d));
    helper.stdin!.on('error', () => undefined);
    helper.on('error', () => undefined);
    helper.on('exit', () => {
      if (this.helper === helper) this.helper = undefined;
      for (const [name, p] of this.pending) if (p.pid === undefined) {
        this.pending.delete(name);
        p.reject(new Error('the sandbox launcher exited'));
      }
    });
    this.helper = helper;
    return helper;
  }

  private onHelperOutput(data: string): void {
    this.helperOut += data;
    let nl: number;
    while ((nl = this.helperOut.indexOf('\n')) >= 0) {
      const line = this.helperOut.slice(0, nl);
      this.helperOut = this.helperOut.slice(nl + 1);
      const msg = JSON.parse(line) as { name: string; pid?: number; error?: string };
      const p = this.pending.get(msg.name);
      if (!p) continue;
      if (msg.error !== undefined) {
        this.pending.delete(msg.name);
        p.ctl?.destroy();
        p.log?.destroy();
        p.reject(new Error(msg.error));
        continue;
      }
      p.pid = msg.pid;
      this.settle(msg.name, p);
    }
  }

  private onConnection(conn: net.Socket): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0) {
        if (head.length > 256) conn.destroy();
        return;
      }
      conn.removeListener('data', onData);
      conn.pause();
      const [kind, secret, name] = head.subarray(0, nl).toString('utf8').split(' ');
      const rest = head.subarray(nl + 1);
      const p = this.pending.get(name);
      if (secret !== this.secret || !p || (kind !== 'ctl' && kind !== 'log')) {
        conn.destroy();
        return;
      }
      if (rest.length) conn.unshift(rest);
      p[kind] = conn;
      this.settle(name, p);
    };
    conn.on('data', onData);
    conn.on('error', () => undefined);
  }

  private settle(name: string, p: Pending): void {
    if (p.pid === undefined || !p.ctl || !p.log) return;
    this.pending.delete(name);
    p.resolve({ pid: p.pid, ctl: p.ctl, log: p.log });
  }
}
