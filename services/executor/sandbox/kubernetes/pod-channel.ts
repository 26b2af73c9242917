// The executor's connections to one runtime pod's agent (pod-agent.ts): `ctl` and `log`, the
// runtime server's control channel and log stream as in a bwrap sandbox, and a `code` upload
// that specialises the pod. A call writes `run` on ctl and reads the log up to its end marker.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { CallOutcome, RunMessage, RuntimeReply } from '../bwrap';

/** How long the agent may take to listen once the pod runs (image start, interpreter start). */
const CONNECT_RETRY_MS = 100;

export class PodChannel {
  private ctl: net.Socket | undefined;
  private log: net.Socket | undefined;
  private ctlBuffer = '';
  private onLine: (line: string) => void = () => undefined;
  /** Output outside a call (start-up), kept short for the start-failure message. */
  private startupOutput = '';
  private onLog: (chunk: Buffer) => void = (chunk) => {
    if (this.startupOutput.length < 4096) this.startupOutput += chunk.toString('utf8');
  };
  private closed = false;
  private onClose: Array<() => void> = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly secret: string,
  ) {}

  get alive(): boolean {
    return !this.closed;
  }

  /** Connects ctl and log and waits for the runtime server's `ready` line. */
  async open(deadline: number): Promise<void> {
    this.ctl = await this.connect('ctl', deadline);
    this.log = await this.connect('log', deadline);
    this.ctl.setEncoding('utf8');
    this.ctl.on('data', (d: string) => {
      this.ctlBuffer += d;
      let nl: number;
      while ((nl = this.ctlBuffer.indexOf('\n')) >= 0) {
        const line = this.ctlBuffer.slice(0, nl);
        this.ctlBuffer = this.ctlBuffer.slice(nl + 1);
        this.onLine(line);
      }
    });
    this.log.on('data', (d: Buffer) => this.onLog(d));
    for (const s of [this.ctl, this.log]) {
      s.on('error', () => undefined);
      s.on('close', () => this.close());
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the runtime server did not become ready: ${this.startupOutput.trim()}`)), Math.max(0, deadline - Date.now()));
      this.onLine = (line) => {
        if (line.includes('"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      this.onClose.push(() => {
        clearTimeout(timer);
        reject(new Error(`the runtime server exited while starting: ${this.startupOutput.trim() || 'no output'}`));
      });
    });
  }

  /** Streams every file under dir into the pod's /function. */
  async upload(dir: string, deadline: number): Promise<void> {
    const s = await this.connect('code', deadline);
    const answer = new Promise<string>((resolve, reject) => {
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (text += d));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    for (const file of walk(dir)) {
      const bytes = fs.readFileSync(path.join(dir, file));
      s.write(`${file}\t${bytes.length}\n`);
      s.write(bytes);
    }
    s.end();
    const text = await answer;
    if (!text.startsWith('ok')) throw new Error(`the pod refused the code: ${text.trim() || 'no answer'}`);
  }

  /** One call, as in a bwrap sandbox (CONTRACT.md); a timeout leaves the pod to be deleted by the caller. */
  call(msg: RunMessage, timeoutMs: number, logMaxBytes: number): Promise<CallOutcome> {
    const started = process.hrtime.bigint();
    const elapsedMs = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    if (!this.ctl || this.closed) return Promise.resolve({ kind: 'died', log: '', elapsedMs: 0, exit: 'before the call' });
    const marker = Buffer.from(`\0cairn-end-${randomBytes(8).toString('hex')}\0`);
    let logged = Buffer.alloc(0);
    let markerSeen = false;
    let reply: RuntimeReply | undefined;
    const text = (): string => {
      const cut = logged.length > logMaxBytes;
      const s = logged.subarray(0, logMaxBytes).toString('utf8');
      return cut ? `${s}${s.endsWith('\n') ? '' : '\n'}[log truncated: more than ${logMaxBytes} bytes were printed]\n` : s;
    };
    return new Promise<CallOutcome>((resolve) => {
      const finish = (o: CallOutcome): void => {
        clearTimeout(timer);
        this.onLine = () => undefined;
        this.onLog = () => undefined;
        this.onClose = [];
        resolve(o);
      };
      const maybe = (): void => {
        if (markerSeen && reply) finish({ kind: 'reply', reply, log: text() });
      };
      const timer = setTimeout(() => finish({ kind: 'timeout', log: text(), elapsedMs: elapsedMs() }), timeoutMs);
      this.onLog = (chunk) => {
        if (markerSeen) return;
        // Kept whole until the marker (bounded by twice the cap): the marker may straddle chunks.
        logged = Buffer.concat([logged, chunk]);
        const at = logged.indexOf(marker);
        if (at >= 0) {
          logged = logged.subarray(0, at);
          markerSeen = true;
          maybe();
        } else if (logged.length > 2 * logMaxBytes + marker.length) {
          logged = Buffer.concat([logged.subarray(0, logMaxBytes + 1), logged.subarray(logged.length - marker.length)]);
        }
      };
      this.onLine = (line) => {
        try {
          reply = JSON.parse(line) as RuntimeReply;
        } catch {
          reply = { ok: false, error: 'The runtime sent a malformed reply.', duration: 0 };
        }
        maybe();
      };
      this.onClose.push(() => finish({ kind: 'died', log: text(), elapsedMs: elapsedMs(), exit: 'the pod ended' }));
      this.ctl!.write(`${JSON.stringify({ op: 'run', ...msg, end: marker.toString('latin1') })}\n`);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctl?.destroy();
    this.log?.destroy();
    for (const l of this.onClose.splice(0)) l();
  }

  private async connect(kind: 'ctl' | 'log' | 'code', deadline: number): Promise<net.Socket> {
    for (;;) {
      try {
        return await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(this.port, this.host);
          s.once('connect', () => {
            s.removeListener('error', reject);
            s.write(`${kind} ${this.secret}\n`);
            resolve(s);
          });
          s.once('error', reject);
        });
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the pod's agent at ${this.host}:${this.port} did not answer: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, CONNECT_RETRY_MS));
      }
    }
  }
}

function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, rel));
    else if (e.isFile() || e.isSymbolicLink()) out.push(rel);
  }
  return out;
}
