// Object PUT (streamed to the backend, 201 with the body's MD5 as ETag), GET/HEAD (streamed, with
// conditional requests and byte ranges), POST (202, replaces the user metadata) and DELETE (204).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '../../core/errors';
import type { ByteRange, ObjectBackend, ObjectInfo, ObjectReader } from '../../core/objectstore/backend';
import { sendEmpty, sendText } from '../http/respond';
import { splitListingOverride } from './listing-override';
import { evaluatePreconditions, putIfNoneMatchAny, resolveRange } from './conditional';
import { objectLimit } from './container-quotas';
import { guessContentType } from './content-type';
import { headerText, headerValue, metadataResponseHeaders } from './metadata';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { SYS } from './sysmeta';
import { httpDate, xTimestamp } from './timestamps';

/** Object features no middleware implements yet: refused clearly rather than ignored. */
const NOT_YET_HEADERS: ReadonlyArray<[header: string, feature: string]> = [['x-symlink-target', 'Symlinks (X-Symlink-Target)']];

function refuseUnsupported(req: StorageRequest): void {
  for (const [header, feature] of NOT_YET_HEADERS) {
    if (req.ctx.req.headers[header] !== undefined) throw new CairnError('storage.not_implemented', { feature });
  }
}

/**
 * System metadata an object POST keeps unless it sets it: what kind of object this is. Not a DLO's
 * `X-Object-Manifest`: to Swift that is a plain header, so a POST without it turns the manifest
 * back into an ordinary object (with its own bytes).
 */
const KEPT_ON_POST = [SYS.sloEtag, SYS.sloSize];

/** The Content-Type a client sent, as text (header values arrive as latin1 bytes); '' when absent. */
function contentTypeOf(raw: string | undefined): string {
  const value = (raw ?? '').trim();
  return headerText(value) ?? value;
}

/** Headers describing a stored object (GET, HEAD, 304, 412). */
export function objectHeaders(info: ObjectInfo): Record<string, string> {
  const sys: Record<string, string> = {};
  const deleteAt = info.meta[SYS.deleteAt];
  if (deleteAt !== undefined) sys['X-Delete-At'] = deleteAt;
  const manifest = info.meta[SYS.dloManifest];
  if (manifest !== undefined) sys['X-Object-Manifest'] = headerValue(manifest);
  if (info.meta[SYS.sloEtag] !== undefined) sys['X-Static-Large-Object'] = 'True';
  const manifestEtag = info.meta[SYS.manifestEtag];
  if (manifestEtag !== undefined) sys['X-Manifest-Etag'] = manifestEtag;
  return {
    ...sys,
    'Content-Type': headerValue(splitListingOverride(info.contentType).contentType),
    // An assembled large object's reader carries its ETag already quoted, as Swift sends it.
    ETag: info.etag,
    'Last-Modified': httpDate(info.modifiedAt),
    'X-Timestamp': xTimestamp(info.modifiedAt),
    'Accept-Ranges': 'bytes',
    ...metadataResponseHeaders(info.meta, 'object'),
  };
}

/**
 * Whether a request body is chunked, by Swift's rule: one transfer coding, `chunked`. A list of
 * codings is 501 (Swift decodes none of them); Node's parser has already refused a lone other one.
 */
function isChunked(te: string | undefined): boolean {
  if (te === undefined) return false;
  const codings = te.split(',');
  if (codings.length > 1) throw new CairnError('storage.transfer_coding_unsupported');
  if (codings[0].trim().toLowerCase() !== 'chunked') throw new CairnError('storage.bad_transfer_encoding');
  return true;
}

export function object(deps: StorageDeps): Middleware {
  return {
    name: 'object',
    after: ['auth'],
    async handle(req, next) {
      const target = req.target;
      if (!target || target.kind !== 'object') return next();
      const { account, container, object: name } = target;
      const { ctx } = req;
      const { backend } = deps;
      switch (ctx.method) {
        case 'PUT': {
          refuseUnsupported(req);
          const headers = ctx.req.headers;
          const chunked = isChunked(headers['transfer-encoding']);
          let contentLength: number | undefined;
          if (!chunked) {
            const raw = headers['content-length'];
            if (raw === undefined) throw new CairnError('storage.length_required');
            if (!/^\d+$/.test(raw)) throw new CairnError('storage.bad_content_length');
            contentLength = Number(raw);
          }
          const sentType = contentTypeOf(headers['content-type']);
          const detect = String(headers['x-detect-content-type'] ?? '').toLowerCase() === 'true';
          const etag = headers.etag?.trim().replace(/^"(.*)"$/, '$1');
          const info = await backend
            .putObject(account, container, name, ctx.req, {
              contentType: sentType && !detect ? sentType : guessContentType(name),
              meta: { ...(req.meta?.set ?? {}), ...(req.sysmeta?.set ?? {}) },
              contentLength,
              maxBytes: await objectLimit(req, target),
              expectedEtag: etag || undefined,
              ifNoneMatchAny: putIfNoneMatchAny(headers['if-none-match']),
            })
            .catch((err: unknown) => {
              // A client that hung up mid-body is Swift's 499, not a server failure worth a stack trace.
              if (!(err instanceof CairnError) && !ctx.req.complete) throw new CairnError('storage.incomplete_body', {}, { cause: err });
              throw err;
            });
          return sendEmpty(ctx.res, 201, {
            ETag: info.etag,
            'Last-Modified': httpDate(info.modifiedAt),
            'X-Timestamp': xTimestamp(info.modifiedAt),
            'Content-Type': 'text/html; charset=UTF-8',
          });
        }
        case 'GET':
        case 'HEAD': {
          // `?symlink=get` (sent by `swift delete`) means the object itself while there are no symlinks.
          const reader = await openForRead(req, backend, account, container, name);
          try {
            await serveObject(req, reader);
          } finally {
            await reader.close();
          }
          return;
        }
        case 'POST': {
          refuseUnsupported(req);
          const sentType = contentTypeOf(ctx.req.headers['content-type']);
          const sys = req.sysmeta?.set ?? {};
          await backend.updateObject(account, container, name, {
            meta: { ...(req.meta?.set ?? {}), ...sys },
            contentType: sentType || undefined,
            keep: KEPT_ON_POST.filter((k) => !(k in sys)),
          });
          return sendText(ctx.res, 202, '<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>', 'text/html; charset=UTF-8');
        }
        case 'DELETE':
          await backend.deleteObject(account, container, name);
          return sendEmpty(ctx.res, 204, { 'Content-Type': 'text/html; charset=UTF-8' });
        default:
          return next();
      }
    },
  };
}

/**
 * Opens an object for reading on the request's behalf, through the request's reader transforms
 * (expiry, large objects); 404 when it does not exist. The caller closes the reader.
 */
export async function openForRead(req: StorageRequest, backend: ObjectBackend, account: string, container: string, name: string): Promise<ObjectReader> {
  let reader = await backend.openObject(account, container, name);
  if (!reader) throw new CairnError('storage.object_not_found');
  for (const transform of req.readers ?? []) {
    const current: ObjectReader = reader;
    try {
      reader = await transform(current, { account, container, object: name });
    } catch (err) {
      await current.close();
      throw err;
    }
  }
  return reader;
}

/** Answers a GET or HEAD from an open reader: preconditions, ranges, multipart ranges. */
export async function serveObject(req: StorageRequest, reader: ObjectReader): Promise<void> {
  const { ctx } = req;
  const { res } = ctx;
  const info = reader.info;
  const headers = objectHeaders(info);
  const verdict = evaluatePreconditions(ctx.req.headers, { ...info, etag: info.etag.replace(/"/g, '') });
  if (verdict !== 'proceed') {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (verdict === 'failed') throw new CairnError('storage.precondition_failed');
    res.writeHead(304);
    res.end();
    return;
  }
  const decision = ctx.method === 'GET' ? resolveRange(ctx.req.headers.range, info.bytes) : ({ kind: 'full' } as const);
  if (decision.kind === 'unsatisfiable') {
    // The 416 still describes the object (Swift sends its ETag and Accept-Ranges).
    for (const k of ['ETag', 'Accept-Ranges', 'Last-Modified', 'X-Timestamp']) if (headers[k] !== undefined) res.setHeader(k, headers[k]);
    res.setHeader('Content-Range', `bytes */${info.bytes}`);
    throw new CairnError('storage.range_not_satisfiable');
  }
  if (decision.kind === 'full') {
    if (ctx.method === 'HEAD' || info.bytes === 0) {
      res.writeHead(200, { ...headers, 'Content-Length': info.bytes });
      return void res.end();
    }
    const whole = { start: 0, end: info.bytes - 1 };
    const small = await readSmall(reader, whole);
    if (small) return void res.writeHead(200, { ...headers, 'Content-Length': info.bytes }).end(small);
    const body = await firstBytes(reader.stream());
    res.writeHead(200, { ...headers, 'Content-Length': info.bytes });
    return send(res, body, true);
  }
  if (decision.ranges.length === 1) {
    const r = decision.ranges[0];
    const rangeHeaders = { ...headers, 'Content-Length': r.end - r.start + 1, 'Content-Range': `bytes ${r.start}-${r.end}/${info.bytes}` };
    const small = await readSmall(reader, r);
    if (small) return void res.writeHead(206, rangeHeaders).end(small);
    const body = await firstBytes(reader.stream(r));
    res.writeHead(206, rangeHeaders);
    return send(res, body, true);
  }
  await sendMultipart(res, reader, headers, decision.ranges);
}

/** Bodies up to this size are read whole from a local file and sent in one write. */
const SMALL_BODY = 64 * 1024;

/**
 * A small range of an object kept in a local file (fs backend), read in one call: a stream and its
 * pipeline cost more than the bytes for a small object. Undefined when the fast path does not apply.
 */
async function readSmall(reader: ObjectReader, range: ByteRange): Promise<Buffer | undefined> {
  const length = range.end - range.start + 1;
  if (length > SMALL_BODY || !reader.file) return undefined;
  const { fd } = reader.file();
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = await new Promise<number>((resolve, reject) => fs.read(fd, buf, got, length - got, range.start + got, (err, bytes) => (err ? reject(err) : resolve(bytes))));
    // A data file shorter than its row says is a broken store, not a short object.
    if (n === 0) throw new CairnError('unavailable', { reason: 'An object file is shorter than its index entry.' });
    got += n;
  }
  return buf;
}

/**
 * Waits until the body has bytes (or has ended) before any status is sent: a backend whose first
 * read fails (an S3 or Swift upstream that went away) then answers with its error status (503)
 * instead of a 200 cut short.
 */
async function firstBytes(body: Readable): Promise<Readable> {
  try {
    await once(body, 'readable');
  } catch (err) {
    body.destroy();
    throw err;
  }
  return body;
}

/** Streams a body into the response; a client that went away is not an error. */
async function send(res: ServerResponse, body: Readable, end: boolean): Promise<void> {
  try {
    await pipeline(body, res, { end });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' || res.destroyed) return;
    throw err;
  }
}

/** `206 multipart/byteranges`: one part per range, each with its own Content-Range. */
async function sendMultipart(res: ServerResponse, reader: ObjectReader, headers: Record<string, string>, ranges: ByteRange[]): Promise<void> {
  const boundary = randomBytes(16).toString('hex');
  const type = headers['Content-Type'];
  const size = reader.info.bytes;
  const partHeads = ranges.map(
    (r, i) => `${i > 0 ? '\r\n' : ''}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
  );
  const tail = `\r\n--${boundary}--\r\n`;
  const length = partHeads.reduce((n, h) => n + Buffer.byteLength(h, 'latin1'), 0) + ranges.reduce((n, r) => n + r.end - r.start + 1, 0) + tail.length;
  res.writeHead(206, { ...headers, 'Content-Type': `multipart/byteranges;boundary=${boundary}`, 'Content-Length': length });
  for (let i = 0; i < ranges.length; i++) {
    if (res.destroyed) return;
    res.write(partHeads[i], 'latin1');
    await send(res, reader.stream(ranges[i]), false);
  }
  res.end(tail);
}
