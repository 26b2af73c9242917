// Subrequests: a middleware that turns one request into many (extract archive) sends each through
// the whole pipeline again, as Swift's make_subrequest does, so every one meets the same name,
// metadata, quota and permission checks a client's own request would. The subrequest's response
// is captured (status, headers, the first bytes of the body), never sent.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable, Writable } from 'node:stream';
import type { RequestContext } from '../http/context';
import type { StorageRequest } from './pipeline';

/** Body bytes kept from a subrequest's response (enough for an error text). */
const KEEP_BODY_BYTES = 4096;

/** What a subrequest answered. */
export interface SubResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

/** Stands in for the ServerResponse: records what a handler writes. */
class CapturedResponse extends Writable {
  statusCode = 200;
  headersSent = false;
  private readonly headers: OutgoingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.headers[name.toLowerCase()] = value as OutgoingHttpHeaders[string];
    return this;
  }
  getHeader(name: string): OutgoingHttpHeaders[string] {
    return this.headers[name.toLowerCase()];
  }
  hasHeader(name: string): boolean {
    return name.toLowerCase() in this.headers;
  }
  removeHeader(name: string): void {
    delete this.headers[name.toLowerCase()];
  }
  getHeaders(): OutgoingHttpHeaders {
    return { ...this.headers };
  }
  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) this.setHeader(k, v);
    this.headersSent = true;
    return this;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.headersSent = true;
    if (this.kept < KEEP_BODY_BYTES) {
      this.chunks.push(chunk.subarray(0, KEEP_BODY_BYTES - this.kept));
      this.kept += Math.min(chunk.length, KEEP_BODY_BYTES - this.kept);
    }
    done();
  }
  result(): SubResponse {
    return { status: this.statusCode, headers: { ...this.headers }, body: Buffer.concat(this.chunks).toString('utf8') };
  }
}

/**
 * Runs `method path` (a raw, %-encoded `/v1/…` path) through `run` on behalf of `parent`, with
 * `headers` and an optional body. A body the handler left unread is closed before this returns,
 * so its source may be read again at once.
 */
export async function subrequest(
  run: (req: StorageRequest) => Promise<void>,
  parent: RequestContext,
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  body?: Readable,
): Promise<SubResponse> {
  const input = (body ?? Readable.from([])) as Readable & Record<string, unknown>;
  Object.assign(input, { method, url: path, headers, httpVersion: '1.1' });
  Object.defineProperty(input, 'complete', { get: () => input.readableEnded });
  const res = new CapturedResponse();
  const ctx: RequestContext = {
    req: input as unknown as IncomingMessage,
    res: res as unknown as ServerResponse,
    method,
    path,
    rawQuery: '',
    query: new URLSearchParams(),
    requestId: parent.requestId,
    baseUrl: parent.baseUrl,
  };
  try {
    await run({ ctx });
  } finally {
    if (body && !body.destroyed && !body.readableEnded) {
      const closed = new Promise((resolve) => body.once('close', resolve));
      body.destroy();
      await closed;
    }
  }
  return res.result();
}
