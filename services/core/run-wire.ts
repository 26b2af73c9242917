// How a plan of Runs (core/runs.ts) crosses the internal API in the distributed mode, so that the
// api never runs tenant code: the api stages a job's devices in its own work directory as in local
// mode, then sends the plan and those files to the executor, which recreates them in a directory of
// its own, runs the plan, and answers with the files the runs wrote and the results.
//
// Both bodies are a sequence of frames: a 4-byte big-endian header length, a JSON header, then
// `size` raw bytes when the header has a size (a file's content). Request: `plan`, then `dir` and
// `file` frames, then `end`. Answer (200): `file` frames, then `results`; an answer that ends
// before its results means the executor was lost. Errors before the plan ran are the internal
// API's JSON errors. Paths on the wire are relative to the job's work root
// (`runs/` under each side's data directory); an absolute path names a platform file (the storlet
// shims, Node.js) that both sides have at the same place.
//
// Warm storlet workers (executor/internal/storlet-route.ts) use the same frames. Taking a lease:
// `acquire` (the worker spec), with the code directory's `dir`/`file` frames only when the
// executor asked for them, then `end`; answered with JSON. A call: `call`, the inbox's files,
// `end`; answered by `result` then `blob`s (metadata, log, stderr, output).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { RunPlan, RunResult, RunStatus, StorletCall, StorletWorkerSpec } from './runs';

/** Content type of both bodies. */
export const RUN_FRAMES_TYPE = 'application/x-cairn-run-frames';

/** Largest frame header; a plan of 100 nodes with their devices stays far below. */
export const MAX_FRAME_HEADER_BYTES = 4 * 1024 * 1024;

export type RequestFrame =
  | { t: 'plan'; plan: RunPlan }
  | { t: 'dir'; path: string }
  | { t: 'file'; path: string; size: number; mode: number }
  | { t: 'call'; call: StorletCall; opts: { timeoutMs: number; maxOutputBytes: number } }
  | { t: 'acquire'; spec: Omit<StorletWorkerSpec, 'stageCode'>; withCode: boolean }
  | { t: 'end' };

export type AnswerFrame =
  | { t: 'file'; path: string; size: number }
  | { t: 'results'; results: RunResult[] }
  | { t: 'result'; status: RunStatus; code: number | null; detail?: string; outputBytes: number }
  | { t: 'blob'; name: 'metadata' | 'log' | 'stderr' | 'output'; size: number };

/** The JSON answer to `acquire`: a held worker, or none (`needCode`: send again with the code to start one). */
export type AcquireAnswer = { lease: string; sandboxInbox: string } | { lease: null; needCode: boolean };

/** The bytes of one frame header. */
export function frameHeader(header: RequestFrame | AnswerFrame): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([len, json]);
}

/** The body ended inside a frame, or a header was not a frame. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Reads frames one after the other from a byte stream; a frame's content is handed on in chunks. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;

  constructor(src: Readable | AsyncIterable<Buffer>) {
    this.it = (src as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** The next header; undefined at a clean end of the stream. */
  async next<T extends { t: string }>(): Promise<T | undefined> {
    if (!(await this.fill(4))) {
      if (this.buf.length === 0) return undefined;
      throw new FrameError('the stream ended inside a frame header');
    }
    const len = this.buf.readUInt32BE(0);
    if (len > MAX_FRAME_HEADER_BYTES) throw new FrameError(`a frame header of ${len} bytes`);
    if (!(await this.fill(4 + len))) throw new FrameError('the stream ended inside a frame header');
    let header: unknown;
    try {
      header = JSON.parse(this.buf.subarray(4, 4 + len).toString('utf8'));
    } catch {
      throw new FrameError('a frame header is not JSON');
    }
    this.buf = this.buf.subarray(4 + len);
    if (typeof header !== 'object' || header === null || typeof (header as { t?: unknown }).t !== 'string') throw new FrameError('a frame header without a type');
    return header as T;
  }

  /** Hands the next `size` bytes to `sink`, in the order they came. */
  async content(size: number, sink: (chunk: Buffer) => Promise<unknown>): Promise<void> {
    let left = size;
    while (left > 0) {
      if (this.buf.length === 0) {
        const r = await this.it.next();
        if (r.done) throw new FrameError('the stream ended inside a file');
        this.buf = r.value;
        continue;
      }
      const take = Math.min(left, this.buf.length);
      await sink(this.buf.subarray(0, take));
      this.buf = this.buf.subarray(take);
      left -= take;
    }
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n) {
      const r = await this.it.next();
      if (r.done) return false;
      this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    }
    return true;
  }
}

/** A path as sent: relative to the work root when under it, else unchanged (a platform file). */
export function wirePath(root: string, hostPath: string): string {
  const rel = path.relative(root, hostPath);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : hostPath;
}

/** The host path of a relative wire path under `root`; undefined when it would leave `root`. */
export function hostPathOf(root: string, wire: string): string | undefined {
  if (typeof wire !== 'string' || wire === '' || path.isAbsolute(wire) || wire.includes('\0')) return undefined;
  const p = path.resolve(root, wire);
  return p.startsWith(root + path.sep) ? p : undefined;
}

/** `dir` and `file` frames for `p` and, when a directory, everything under it (paths as wirePath). */
export async function* treeFrames(root: string, p: string): AsyncGenerator<Buffer> {
  const st = await fsp.stat(p);
  const w = wirePath(root, p);
  if (st.isDirectory()) {
    yield frameHeader({ t: 'dir', path: w });
    for (const e of (await fsp.readdir(p)).sort()) yield* treeFrames(root, path.join(p, e));
  } else if (st.isFile()) {
    yield frameHeader({ t: 'file', path: w, size: st.size, mode: st.mode & 0o777 });
    yield* fileBytes(p, st.size);
  }
}

/** Exactly `size` bytes of the file (it may not grow meanwhile, but a frame must stay exact). */
export async function* fileBytes(p: string, size: number): AsyncGenerator<Buffer> {
  if (size > 0) for await (const chunk of fs.createReadStream(p, { end: size - 1 })) yield chunk as Buffer;
}

/** Writes `dir` and `file` frames under `root` until `end`; a path leaving `root` is refused. */
export async function receiveTree(frames: FrameReader, root: string): Promise<void> {
  for (;;) {
    const f = await frames.next<RequestFrame>();
    if (!f) throw new FrameError('the body ended before its end frame');
    if (f.t === 'end') return;
    if (f.t !== 'dir' && f.t !== 'file') throw new FrameError(`an unexpected ${f.t} frame`);
    const dest = hostPathOf(root, f.path);
    if (!dest) throw new FrameError(`path ${String(f.path)} leaves its directory`);
    if (f.t === 'dir') {
      await fsp.mkdir(dest, { recursive: true });
      continue;
    }
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw new FrameError(`file ${f.path} has no valid size`);
    const mode = (Number(f.mode) || 0o644) & 0o777;
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await writeContent(frames, dest, f.size, mode);
  }
}

/** The next `size` bytes of the stream into a new file at `dest`. */
export async function writeContent(frames: FrameReader, dest: string, size: number, mode = 0o644): Promise<void> {
  const fh = await fsp.open(dest, 'w', mode);
  try {
    await frames.content(size, (chunk) => fh.write(chunk));
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}
