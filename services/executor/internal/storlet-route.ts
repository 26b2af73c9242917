// Warm storlet workers in the distributed mode: they live here, in the executor's worker pool
// (executor/runs/storlet-workers.ts), and the api holds one for a call through a lease id. The api
// decides warm or cold before staging inputs, as in one process, so a lease is taken first
// (POST storlet-workers), then used by one call (its inbox files sent with it) or given back.
// The executor has no object-store access, so a storlet's code comes from the api, and only when
// a worker must be started for its version: the first ask carries the spec alone and is answered
// by an idle worker, or by `needCode` when one could be started; the api then asks again with the
// code. A lease the api never used is given back after LEASE_UNUSED_MS (the api was lost).
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import type * as http from 'node:http';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '../../core/errors';
import { fileBytes, FrameError, FrameReader, frameHeader, receiveTree, RUN_FRAMES_TYPE, type AcquireAnswer, type RequestFrame } from '../../core/run-wire';
import type { DeviceBinding, StorletCallResult, StorletWorkerLease, StorletWorkerSpec } from '../../core/runs';

const LEASE_UNUSED_MS = 60_000;

/** The executor's run sandboxes, as far as leases go (run-executor.ts). */
export interface StorletPool {
  storletWorker(spec: StorletWorkerSpec, opts?: { idleOnly?: boolean }): Promise<StorletWorkerLease | undefined>;
  storletWorkerCanStart(): boolean;
  workDir(label: string): Promise<string>;
  release(dir: string): Promise<void>;
}

export interface StorletRouteDeps {
  runs: StorletPool;
  /** Absolute paths a device may name (the runtime directory, Node.js). */
  platformPaths: string[];
}

function bad(reason: string): CairnError {
  return new CairnError('request.invalid_param', { name: 'storlet worker', reason });
}

export class StorletLeases {
  private readonly leases = new Map<string, { lease: StorletWorkerLease; timer: NodeJS.Timeout }>();

  constructor(private readonly deps: StorletRouteDeps) {}

  /** A held worker, or none: warm workers off, all busy, or (without code) none idle for the version. */
  async acquire(req: http.IncomingMessage): Promise<AcquireAnswer> {
    const frames = new FrameReader(req);
    let codeDir: string | undefined;
    try {
      let spec: Omit<StorletWorkerSpec, 'stageCode'>;
      try {
        const first = await frames.next<RequestFrame>();
        if (first?.t !== 'acquire') throw bad('the body does not start with acquire');
        spec = this.checkSpec(first.spec);
        if (first.withCode) {
          codeDir = await this.deps.runs.workDir('storlet-code');
          await receiveTree(frames, codeDir);
        } else if ((await frames.next<RequestFrame>())?.t !== 'end') throw bad('an acquire without code ends at once');
      } catch (err) {
        if (err instanceof FrameError) throw bad(err.message);
        throw err;
      }
      const code = codeDir;
      const lease = await this.deps.runs.storletWorker(
        {
          ...spec,
          // Same filesystem (both under runs/): the received files are moved, not copied.
          stageCode: async (dir) => {
            if (!code) throw new Error('no code was sent');
            for (const e of await fsp.readdir(code)) await fsp.rename(path.join(code, e), path.join(dir, e));
          },
        },
        { idleOnly: !code },
      );
      if (!lease) return { lease: null, needCode: !code && this.deps.runs.storletWorkerCanStart() };
      const id = randomBytes(16).toString('hex');
      const timer = setTimeout(() => void this.giveBack(id), LEASE_UNUSED_MS);
      timer.unref();
      this.leases.set(id, { lease, timer });
      return { lease: id, sandboxInbox: lease.sandboxInbox };
    } finally {
      if (codeDir) await this.deps.runs.release(codeDir);
    }
  }

  private checkSpec(spec: Omit<StorletWorkerSpec, 'stageCode'> | undefined): Omit<StorletWorkerSpec, 'stageCode'> {
    if (!spec || typeof spec.account !== 'string' || typeof spec.version !== 'string' || typeof spec.program !== 'string' || !Array.isArray(spec.args) || !Array.isArray(spec.devices)) {
      throw bad('a spec with account, version, program, args and devices is required');
    }
    if (!(spec.memoryBytes > 0) || !(spec.processes > 0)) throw bad('memoryBytes and processes must be positive');
    const devices = spec.devices.map((d: DeviceBinding): DeviceBinding => {
      // A worker sees only platform files beside its code and inbox.
      if (d?.kind !== 'read' || typeof d.hostPath !== 'string') throw bad('a worker takes read-only platform devices only');
      const norm = path.resolve(d.hostPath);
      if (!this.deps.platformPaths.some((a) => norm === a || norm.startsWith(a + path.sep))) throw bad(`${d.hostPath} is not a platform file`);
      return { kind: 'read', hostPath: norm, sandboxPath: String(d.sandboxPath) };
    });
    return { account: spec.account, version: spec.version, program: spec.program, args: spec.args.map(String), devices, memoryBytes: spec.memoryBytes, processes: spec.processes };
  }

  /** Gives back a lease that made no call; unknown ids are fine (idempotent). */
  async giveBack(id: string): Promise<void> {
    const held = this.take(id);
    if (!held) return;
    await held.release().catch(() => undefined);
    await fsp.rm(held.spillPath, { force: true });
  }

  /** One call in the leased worker: its inbox files, then the call; answers its result and output. */
  async call(id: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const lease = this.take(id);
    if (!lease) throw new CairnError('request.not_found');
    let r: StorletCallResult;
    try {
      const frames = new FrameReader(req);
      let first: RequestFrame | undefined;
      try {
        first = await frames.next<RequestFrame>();
        if (first?.t !== 'call' || typeof first.call?.input !== 'string' || !(first.opts?.timeoutMs > 0) || !(first.opts?.maxOutputBytes > 0)) throw bad('the body does not start with a call');
        await receiveTree(frames, lease.inbox);
      } catch (err) {
        if (err instanceof FrameError) throw bad(err.message);
        throw err;
      }
      r = await lease.call(first.call, { timeoutMs: first.opts.timeoutMs, maxOutputBytes: first.opts.maxOutputBytes });
      // The output is out of the worker: it serves the next call while this answer is sent.
      await lease.release();
      res.writeHead(200, { 'content-type': RUN_FRAMES_TYPE });
      await pipeline(Readable.from(callAnswer(r, lease.spillPath)), res);
    } finally {
      await lease.release().catch(() => undefined);
      await fsp.rm(lease.spillPath, { force: true });
    }
  }

  close(): void {
    for (const id of [...this.leases.keys()]) void this.giveBack(id);
  }

  private take(id: string): StorletWorkerLease | undefined {
    const held = this.leases.get(id);
    if (!held) return undefined;
    this.leases.delete(id);
    clearTimeout(held.timer);
    return held.lease;
  }
}

async function* callAnswer(r: StorletCallResult, spillPath: string): AsyncGenerator<Buffer> {
  yield frameHeader({ t: 'result', status: r.status, code: r.code, detail: r.detail, outputBytes: r.outputBytes });
  if (r.metadata) yield* blob('metadata', [r.metadata]);
  yield* blob('log', [r.log]);
  yield* blob('stderr', [r.stderr]);
  if (r.output) yield* blob('output', r.output);
  else {
    const st = await fsp.stat(spillPath).catch(() => undefined);
    if (st?.isFile()) {
      yield frameHeader({ t: 'blob', name: 'output', size: st.size });
      yield* fileBytes(spillPath, st.size);
    }
  }
}

function* blob(name: 'metadata' | 'log' | 'stderr' | 'output', parts: Buffer[]): Generator<Buffer> {
  yield frameHeader({ t: 'blob', name, size: parts.reduce((n, p) => n + p.length, 0) });
  yield* parts;
}
