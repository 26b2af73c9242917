// MD5 of large uploads on worker threads. Every PUT must compute its body's MD5 (Swift's ETag),
// and on the api's one thread MD5 alone takes most of a large upload's time; a worker hashes one
// batch while the api thread receives the next and writes the last to disk. Batches are copied to
// the worker (the originals go to the file) and acknowledged, so at most MAX_IN_FLIGHT bytes
// of one upload wait in memory for hashing, whatever the client's speed.
import { Worker } from 'node:worker_threads';

/** Bytes of one upload posted and not yet hashed before `update` makes the caller wait. */
const MAX_IN_FLIGHT = 8 * 1024 * 1024;

// Plain JavaScript, evaluated by the worker: messages are { id, data } to hash, { id, end: true }
// for the digest; every message is answered in order, so acknowledgements count bytes hashed.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  let h = hashes.get(m.id);
  if (!h) hashes.set(m.id, (h = createHash('md5')));
  if (m.end) {
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: h.digest('hex') });
  } else {
    h.update(m.data);
    parentPort.postMessage({ id: m.id, hashed: m.data.byteLength });
  }
});
`;

export class Md5WorkerError extends Error {}

interface Pending {
  /** Resolved whenever bytes are acknowledged (waiters re-check the bound). */
  wake?: () => void;
  inFlight: number;
  digest?: { resolve: (hex: string) => void; reject: (err: Error) => void };
  failed?: Error;
}

class HashWorker {
  private readonly worker: Worker;
  private readonly jobs = new Map<number, Pending>();
  private dead?: Error;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    // Idle workers must not keep the process alive; a job in progress keeps it referenced.
    this.worker.unref();
    this.worker.on('message', (m: { id: number; hashed?: number; digest?: string }) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      if (m.digest !== undefined) {
        this.jobs.delete(m.id);
        if (this.jobs.size === 0) this.worker.unref();
        job.digest?.resolve(m.digest);
        return;
      }
      job.inFlight -= m.hashed ?? 0;
      job.wake?.();
    });
    const fail = (err: Error): void => {
      this.dead = new Md5WorkerError(`MD5 worker stopped: ${err.message}`);
      for (const job of this.jobs.values()) {
        job.failed = this.dead;
        job.wake?.();
        job.digest?.reject(this.dead);
      }
      this.jobs.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  get load(): number {
    return this.jobs.size;
  }

  start(id: number): Pending {
    const job: Pending = { inFlight: 0 };
    this.jobs.set(id, job);
    this.worker.ref();
    return job;
  }

  post(id: number, chunks: readonly Buffer[], bytes: number): void {
    // One fresh copy the worker may own: the caller's buffers still go to the file.
    const copy = new Uint8Array(bytes);
    let at = 0;
    for (const c of chunks) {
      copy.set(c, at);
      at += c.byteLength;
    }
    this.worker.postMessage({ id, data: copy }, [copy.buffer]);
  }

  finish(id: number): void {
    this.worker.postMessage({ id, end: true });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

const workers: HashWorker[] = [];
let nextId = 1;

/** The live worker with the fewest uploads, started on first use (at most two: these machines have two cores). */
function pickWorker(): HashWorker {
  for (let i = workers.length - 1; i >= 0; i--) if (!workers[i].alive) workers.splice(i, 1);
  if (workers.length < 2 && workers.every((w) => w.load > 0)) workers.push(new HashWorker());
  return workers.reduce((a, b) => (b.load < a.load ? b : a));
}

/** One upload's MD5, computed on a worker thread. */
export class OffThreadMd5 {
  private readonly id = nextId++;
  private readonly worker = pickWorker();
  private readonly job: Pending;

  constructor() {
    this.job = this.worker.start(this.id);
  }

  /** Queues the next bytes (in order) for hashing; waits while too many of this upload's bytes are still unhashed. */
  async update(chunks: readonly Buffer[]): Promise<void> {
    if (this.job.failed) throw this.job.failed;
    const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
    if (bytes === 0) return;
    this.job.inFlight += bytes;
    this.worker.post(this.id, chunks, bytes);
    while (this.job.inFlight > MAX_IN_FLIGHT && !this.job.failed) {
      await new Promise<void>((resolve) => (this.job.wake = resolve));
    }
    if (this.job.failed) throw this.job.failed;
  }

  /** Ends an upload that failed before its digest: the worker drops its state. */
  abandon(): void {
    if (this.job.digest || this.job.failed) return;
    this.job.digest = { resolve: () => undefined, reject: () => undefined };
    this.worker.finish(this.id);
  }

  digest(): Promise<string> {
    if (this.job.failed) return Promise.reject(this.job.failed);
    return new Promise((resolve, reject) => {
      this.job.digest = { resolve, reject };
      this.worker.finish(this.id);
    });
  }
}

/** Stops the workers (tests; the process exits without this: idle workers are unreferenced). */
export async function stopMd5Workers(): Promise<void> {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
}
