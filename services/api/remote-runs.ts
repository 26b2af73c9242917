// The api's RunExecutor in the distributed mode: ZeroCloud jobs and storlet calls stage their
// devices here exactly as in local mode (the api alone reads the object store), and each plan is
// sent to the executor's internal API to run in its sandboxes (core/run-wire.ts); the files the
// runs wrote come back into the same paths, so the front-ends commit outputs as they always do.
// Warm storlet workers live in the executor too: a lease is taken there and used by one call.
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { CairnError, isCairnError } from '../core/errors';
import { errorFromBody, INTERNAL_PATHS, INTERNAL_TOKEN_HEADER } from '../core/internal-api';
import { PeerUnreachableError } from '../core/internal-client';
import { makeRunDir, type Run, type RunExecutor, type RunPlan, type RunResult, type StorletCall, type StorletCallResult, type StorletWorkerLease, type StorletWorkerSpec } from '../core/runs';
import { FrameReader, frameHeader, hostPathOf, RUN_FRAMES_TYPE, treeFrames, wirePath, writeContent, type AcquireAnswer, type AnswerFrame } from '../core/run-wire';

/** Attempts beyond the first when the connection was refused (nothing reached the executor). */
const RETRY_DELAYS_MS = [50, 250];
/** Deadline of a lease's small calls (taking one, giving one back). */
const SMALL_CALL_MS = 5_000;
/** Added when taking a lease starts a worker (the pool's own start deadline is 30 s). */
const WORKER_START_MS = 30_000;
/** A warm call's output is kept in memory up to this size (as the executor's pool does), else spilled. */
const MEMORY_OUTPUT_BYTES = 32 * 1024 * 1024;

export interface RemoteRunExecutorOptions {
  /** CAIRN_EXECUTOR_URL. */
  url: string;
  /** CAIRN_INTERNAL_TOKEN. */
  token: string;
  /** Added to the plan's deadline (queueing for sandbox slots, moving the files). */
  marginSeconds: number;
  /** This side's data directory; work directories live under its `runs/`. */
  dataDir: string;
  /** CAIRN_STORLET_WORKERS of the api: 0 runs every storlet call cold. */
  storletWorkers: number;
}

export class RemoteRunExecutor implements RunExecutor {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly base: URL;
  private readonly root: string;

  constructor(private readonly opts: RemoteRunExecutorOptions) {
    this.base = new URL(opts.url);
    this.root = path.join(opts.dataDir, 'runs');
  }

  workDir(label: string): Promise<string> {
    return makeRunDir(this.root, label);
  }

  async release(dir: string): Promise<void> {
    await fsp.rm(dir, { recursive: true, force: true });
  }

  close(): void {
    this.agent.destroy();
  }

  async execute(plan: RunPlan): Promise<RunResult[]> {
    const wire = this.wirePlan(plan);
    return this.guarded(() => this.once(plan, wire), true);
  }

  /** The plan with its paths as sent, and the files to send and to expect back. */
  private wirePlan(plan: RunPlan): { plan: RunPlan; inputs: string[]; outputs: Set<string> } {
    const inputs = new Set<string>();
    const outputs = new Set<string>();
    const toWire = (p: string): string => wirePath(this.root, p);
    const staged = (p: string): string => {
      const w = toWire(p);
      if (!path.isAbsolute(w)) inputs.add(p);
      return w;
    };
    const written = (p: string): string => {
      const w = toWire(p);
      // Written files must be in the job's directory, or they could not come back.
      if (path.isAbsolute(w)) throw new Error(`run output ${p} is outside the runs directory`);
      outputs.add(w);
      return w;
    };
    const runs: Run[] = plan.runs.map((r) => ({
      ...r,
      imageDir: r.imageDir === undefined ? undefined : staged(r.imageDir),
      stdinPath: r.stdinPath === undefined ? undefined : staged(r.stdinPath),
      stdoutPath: written(r.stdoutPath),
      stderrPath: written(r.stderrPath),
      devices: r.devices.map((d) => (d.kind === 'read' ? { ...d, hostPath: staged(d.hostPath) } : d.kind === 'write' ? { ...d, hostPath: written(d.hostPath) } : d)),
    }));
    return { plan: { timeoutMs: plan.timeoutMs, runs }, inputs: [...inputs], outputs };
  }

  /** The request body: the plan, then every staged file and directory (walked), then `end`. */
  private async *requestBody(wire: RunPlan, inputs: string[]): AsyncGenerator<Buffer> {
    yield frameHeader({ t: 'plan', plan: wire });
    for (const p of inputs) yield* treeFrames(this.root, p);
    yield frameHeader({ t: 'end' });
  }

  private once(plan: RunPlan, wire: { plan: RunPlan; inputs: string[]; outputs: Set<string> }): Promise<RunResult[]> {
    // No traffic for longer than the plan may run, plus the margin: the executor is lost.
    const idleMs = plan.timeoutMs + this.opts.marginSeconds * 1000;
    return this.stream(INTERNAL_PATHS.runPlans, () => this.requestBody(wire.plan, wire.inputs), idleMs, (res) => this.readAnswer(res, wire.outputs));
  }

  /**
   * One POST with a framed body made by `body` (made again for a retry); `read` takes a 200
   * answer, other answers become the peer's CairnError. Transport failures are PeerUnreachableErrors.
   */
  private stream<T>(urlPath: string, body: () => AsyncGenerator<Buffer>, idleMs: number, read: (res: http.IncomingMessage) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let sent = false;
      let settled = false;
      const done = (err: Error | undefined, value?: T): void => {
        if (settled) return;
        settled = true;
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(value as T);
      };
      const req = http.request({
        agent: this.agent,
        host: this.base.hostname,
        port: this.base.port || 80,
        method: 'POST',
        path: urlPath,
        headers: { [INTERNAL_TOKEN_HEADER]: this.opts.token, 'content-type': RUN_FRAMES_TYPE, 'transfer-encoding': 'chunked' },
      });
      req.setTimeout(idleMs, () => req.destroy(Object.assign(new Error(`no answer within ${idleMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('socket', (s) => {
        if (!s.connecting) sent = true;
        else s.once('connect', () => (sent = true));
      });
      req.on('error', (err: Error & { code?: string }) => {
        const refused = err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || (req.reusedSocket && err.code === 'ECONNRESET');
        done(new PeerUnreachableError(err.code ?? err.message, sent && !refused));
      });
      req.on('response', (res) => {
        const answer = res.statusCode === 200 ? read(res) : errorAnswer(res);
        answer.then(
          (value) => done(undefined, value),
          (err: unknown) => done(isCairnError(err) ? err : new PeerUnreachableError(`the answer broke off: ${(err as Error).message}`, true)),
        );
      });
      const source = Readable.from(body());
      source.on('error', (err) => done(err));
      source.pipe(req);
    });
  }

  private async readAnswer(res: http.IncomingMessage, outputs: Set<string>): Promise<RunResult[]> {
    const frames = new FrameReader(res);
    for (;;) {
      const f = await frames.next<AnswerFrame>();
      if (!f) throw new CairnError('executor.unavailable', { reason: 'the executor was lost during the run' });
      if (f.t === 'results') {
        if (!Array.isArray(f.results)) throw new CairnError('executor.protocol', { reason: 'results that are not a list' });
        return f.results;
      }
      if (f.t !== 'file' || !outputs.has(f.path) || !Number.isSafeInteger(f.size) || f.size < 0) throw new CairnError('executor.protocol', { reason: `an unexpected ${f.t} frame` });
      await writeContent(frames, hostPathOf(this.root, f.path)!, f.size);
    }
  }

  /** Runs the CairnError or transport failure mapping of `execute` around one call. */
  private async guarded<T>(fn: () => Promise<T>, retryRefused: boolean): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof PeerUnreachableError) {
          if (retryRefused && !err.sent && attempt < RETRY_DELAYS_MS.length) {
            await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
            continue;
          }
          throw new CairnError('executor.unavailable', { reason: err.message }, { cause: err });
        }
        throw err;
      }
    }
  }

  /**
   * A warm worker in the executor's pool, held for one call; undefined when warm workers are off
   * or all busy there (the call then runs cold, as in one process). The executor has no store
   * access: the first ask carries the spec alone; the code is read and sent only when the
   * executor must start a worker for this version.
   */
  async storletWorker(spec: StorletWorkerSpec): Promise<StorletWorkerLease | undefined> {
    if (this.opts.storletWorkers === 0) return undefined;
    let answer = await this.acquire(spec, undefined);
    if (answer.lease === null && answer.needCode) {
      const code = await this.workDir('storlet-code');
      try {
        await spec.stageCode(code);
        answer = await this.acquire(spec, code);
      } finally {
        await this.release(code);
      }
    }
    return answer.lease === null ? undefined : this.lease(answer.lease, answer.sandboxInbox);
  }

  private async acquire(spec: StorletWorkerSpec, codeDir: string | undefined): Promise<AcquireAnswer> {
    const { stageCode: _, ...wire } = spec;
    const body = async function* (): AsyncGenerator<Buffer> {
      yield frameHeader({ t: 'acquire', spec: wire, withCode: codeDir !== undefined });
      if (codeDir) for (const e of (await fsp.readdir(codeDir)).sort()) yield* treeFrames(codeDir, path.join(codeDir, e));
      yield frameHeader({ t: 'end' });
    };
    // Taking a lease may start a worker: its sandbox and interpreter boot before the answer.
    const a = await this.guarded(() => this.stream(INTERNAL_PATHS.storletWorkers, body, SMALL_CALL_MS + WORKER_START_MS, readAll), true);
    const answer = JSON.parse(a.toString('utf8')) as AcquireAnswer;
    if (answer.lease !== null && (typeof answer.lease !== 'string' || typeof answer.sandboxInbox !== 'string')) throw new CairnError('executor.protocol', { reason: 'a lease without id or inbox' });
    return answer;
  }

  private async lease(id: string, sandboxInbox: string): Promise<StorletWorkerLease> {
    const callDir = await this.workDir('storlet-call');
    const inbox = path.join(callDir, 'inbox');
    await fsp.mkdir(inbox);
    // Beside the call's directory: the caller reads it after `release` and removes it itself.
    const spillPath = `${callDir}.out`;
    let used = false;
    let released = false;
    return {
      inbox,
      sandboxInbox,
      spillPath,
      call: (call: StorletCall, opts) => {
        used = true;
        const body = async function* (this: RemoteRunExecutor): AsyncGenerator<Buffer> {
          yield frameHeader({ t: 'call', call, opts });
          for (const e of (await fsp.readdir(inbox)).sort()) yield* treeFrames(inbox, path.join(inbox, e));
          yield frameHeader({ t: 'end' });
        };
        const idleMs = opts.timeoutMs + this.opts.marginSeconds * 1000;
        // Not retried: the lease is the executor's, and a refused connection means it is gone.
        return this.guarded(() => this.stream(INTERNAL_PATHS.storletCall(id), body.bind(this), idleMs, (res) => readCallAnswer(res, spillPath)), false);
      },
      release: async () => {
        if (released) return;
        released = true;
        await this.release(callDir);
        // A lease that made no call is given back; the executor also does so by itself later.
        if (!used) await this.guarded(() => this.stream(INTERNAL_PATHS.storletRelease(id), async function* () {}, SMALL_CALL_MS, (res) => readAll(res)), true).catch(() => undefined);
      },
    };
  }
}

async function readAll(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A non-200 answer: the internal API's JSON error. */
async function errorAnswer(res: http.IncomingMessage): Promise<never> {
  let body: unknown;
  try {
    body = JSON.parse((await readAll(res)).toString('utf8'));
  } catch {
    body = undefined;
  }
  throw peerError(res.statusCode ?? 0, body);
}

/** A warm call's answer: its result, then metadata, log, stderr and the output (kept in memory when small). */
async function readCallAnswer(res: http.IncomingMessage, spillPath: string): Promise<StorletCallResult> {
  const frames = new FrameReader(res);
  const head = await frames.next<AnswerFrame>();
  if (head?.t !== 'result') throw new CairnError('executor.unavailable', { reason: 'the executor was lost during the storlet call' });
  const result: StorletCallResult = { status: head.status, code: head.code, detail: head.detail, outputBytes: head.outputBytes, log: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  for (;;) {
    const f = await frames.next<AnswerFrame>();
    if (!f) return result;
    if (f.t !== 'blob' || !Number.isSafeInteger(f.size) || f.size < 0) throw new CairnError('executor.protocol', { reason: `an unexpected ${f.t} frame` });
    if (f.name === 'output' && f.size > MEMORY_OUTPUT_BYTES) {
      await writeContent(frames, spillPath, f.size);
      continue;
    }
    const parts: Buffer[] = [];
    await frames.content(f.size, async (chunk) => parts.push(Buffer.from(chunk)));
    if (f.name === 'output') result.output = parts;
    else result[f.name] = Buffer.concat(parts);
  }
}

/** An error answer as a CairnError; a token mismatch is the platform's misconfiguration, not the caller's. */
function peerError(status: number, body: unknown): CairnError {
  const err = errorFromBody(status, body);
  if (err.code === 'internal.unauthorized') return new CairnError('executor.unavailable', { reason: 'it refused the internal token; CAIRN_INTERNAL_TOKEN differs between api and executor' });
  return err;
}
