// Static large objects. `PUT …?multipart-manifest=put` takes a JSON list of segments
// (`{"path": "/c/o", "etag": md5|null, "size_bytes": n|null, "range": "a-b"}`), checks every
// segment exists with the given ETag and size (all problems reported at once in Swift's
// `Errors:` body), and stores the manifest. GET/HEAD answer with the segments concatenated
// (`X-Static-Large-Object: True`, quoted ETag, `X-Manifest-Etag`); `?multipart-manifest=get`
// returns the stored manifest (`&format=raw`: in the PUT format); `DELETE
// ?multipart-manifest=delete` removes segments and manifest with a bulk-delete style report.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CairnError } from '../../core/errors';
import type { ObjectBackend, ObjectInfo, ObjectReader } from '../../core/objectstore/backend';
import { sendText } from '../http/respond';
import { deleteOne, type DeleteReport, renderReport, statusText } from './bulk-delete';
import { quotePath, renderBulkReport, reportFormat } from './bulk-report';
import { SWIFT_CONSTRAINTS } from './constraints';
import { putIfNoneMatchAny } from './conditional';
import { requireRead, requireWrite } from './container-acl';
import { guessContentType } from './content-type';
import { isExpired } from './expiry';
import { splitListingOverride, withListingOverride } from './listing-override';
import { headerText } from './metadata';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { bufferReader, readAll, type Segment, segmentedReader } from './segments';
import { SYS } from './sysmeta';
import { httpDate, listingDate, xTimestamp } from './timestamps';

/** `yield_frequency`: seconds between the spaces a `heartbeat=on` manifest PUT sends (Swift's default). */
export const SLO_INFO = { max_manifest_segments: 1000, max_manifest_size: 8 * 1024 * 1024, min_segment_size: 1, yield_frequency: 10 } as const;

/** The segment problems of a manifest, kept as `[path, reason]` for a heartbeat report. */
class SegmentErrors extends CairnError {
  constructor(readonly list: [string, string][]) {
    super('storage.slo_segment_errors', { errors: list.map(([path, why]) => `${path}, ${why}`).join('\n') });
  }
}

/** Segment HEADs in flight while a manifest is checked. */
const CHECK_CONCURRENCY = 8;

/** A segment as the manifest is stored (Swift's internal form). */
interface StoredSegment {
  name: string;
  bytes: number;
  hash: string;
  content_type: string;
  last_modified: string;
  range?: string;
  /** The segment is itself an SLO manifest (`bytes` and `hash` are its assembled size and ETag). */
  sub_slo?: boolean;
}

/** An inline data segment (`{"data": base64}`), stored as sent with its padding normalised. */
interface DataSegment {
  data: string;
}

/** One entry of a stored manifest. */
type ManifestEntry = StoredSegment | DataSegment;

function isData(s: ManifestEntry): s is DataSegment {
  return 'data' in s;
}

/** Swift's strict_b64decode: any character outside the alphabet (or bad padding) is an error. */
function strictBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*$/.test(value.replace(/^=+|=+$/g, ''))) return undefined;
  if (value.replace(/^=+/, '').length % 4 !== 0) return undefined;
  return Buffer.from(value, 'base64');
}

/** How deep manifests may nest (Swift's default max_manifest_depth). */
const MAX_DEPTH = 10;

const PUT_KEYS = new Set(['path', 'etag', 'size_bytes', 'range']);

/** `/container/object` of a segment path; undefined when it is not one. */
function splitPath(path: string): { container: string; object: string } | undefined {
  const m = /^\/?([^/]+)\/(.+)$/.exec(path);
  return m ? { container: m[1], object: m[2] } : undefined;
}

/** `a-b`, `a-` or `-n` within a segment of `size` bytes → offset and length; undefined if unsatisfiable. */
function resolveSegmentRange(spec: string, size: number): { offset: number; length: number } | undefined {
  const m = /^(\d*)-(\d*)$/.exec(spec.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) return undefined;
  return { offset: start, length: end - start + 1 };
}

/** Where a stored segment's bytes start and how many belong to the large object. */
function segmentSpan(s: StoredSegment): { offset: number; length: number } {
  if (!s.range) return { offset: 0, length: s.bytes };
  return resolveSegmentRange(s.range, s.bytes) ?? { offset: 0, length: 0 };
}

/** Swift's SLO ETag: the MD5 of the segments' ETags, a ranged one written `etag:range;`. */
function sloEtag(segments: ManifestEntry[]): string {
  const md5 = createHash('md5');
  for (const s of segments) {
    if (isData(s)) md5.update(createHash('md5').update(Buffer.from(s.data, 'base64')).digest('hex'));
    else md5.update(s.range ? `${s.hash}:${s.range};` : s.hash);
  }
  return md5.digest('hex');
}

async function readBody(req: StorageRequest, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req.ctx.req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new CairnError('storage.slo_too_large', { max });
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** The number of bytes an entry adds to the large object. */
function entryLength(s: ManifestEntry): number {
  return isData(s) ? Buffer.from(s.data, 'base64').length : segmentSpan(s).length;
}

/** Validates a manifest PUT body against the stored segments; throws Swift's 400s. */
async function checkManifest(
  backend: ObjectBackend,
  target: { account: string; container: string; object: string },
  body: Buffer,
  mayRead: (container: string) => Promise<void>,
  /** Called once the body is a valid manifest, before any segment is looked at. */
  onValid?: () => void,
): Promise<ManifestEntry[]> {
  const { account } = target;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new CairnError('storage.slo_invalid', { reason: 'Manifest must be valid JSON.' });
  }
  if (!Array.isArray(parsed)) throw new CairnError('storage.slo_invalid', { reason: 'Manifest must be a list.' });
  if (parsed.length === 0) throw new CairnError('storage.slo_invalid', { reason: 'Manifest must have at least one segment.' });
  if (parsed.length > SLO_INFO.max_manifest_segments) {
    throw new CairnError('storage.slo_invalid', { reason: `Number of segments must be <= ${SLO_INFO.max_manifest_segments}` });
  }
  const problems: string[] = [];
  type PutItem = DataSegment | { path: string; etag: string | undefined; size: number | undefined; range: string | undefined };
  const items = parsed.map((raw: unknown, i): PutItem | undefined => {
    const bad = (why: string): undefined => void problems.push(`Index ${i}: ${why}`);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('not a JSON object');
    const o = raw as Record<string, unknown>;
    if ('data' in o && !('path' in o)) {
      const others = Object.keys(o).filter((k) => k !== 'data');
      if (others.length) return bad(`extraneous keys ${others.map((k) => `"${k}"`).join(', ')}`);
      const data = strictBase64(o.data);
      if (!data) return bad('data must be valid base64');
      if (data.length < 1) return bad('too small; each segment must be at least 1 byte.');
      return { data: data.toString('base64') };
    }
    const extra = Object.keys(o).filter((k) => !PUT_KEYS.has(k));
    if (extra.length) return bad(`extraneous keys ${extra.map((k) => `"${k}"`).join(', ')}`);
    const where = typeof o.path === 'string' ? splitPath(o.path) : undefined;
    if (!where) return bad('"path" must be a string of the form "container/object"');
    // Overwriting a segment with a manifest naming it would lose the segment's bytes.
    if (where.container === target.container && where.object === target.object) return bad('manifest must not include itself as a segment');
    if (o.etag !== undefined && o.etag !== null && typeof o.etag !== 'string') return bad('"etag" must be a string or null');
    if (o.size_bytes !== undefined && o.size_bytes !== null && !(Number.isInteger(Number(o.size_bytes)) && Number(o.size_bytes) >= 0)) {
      return bad('"size_bytes" must be an integer or null');
    }
    if (o.range !== undefined && typeof o.range !== 'string') return bad('"range" must be a string');
    return {
      path: o.path as string,
      etag: typeof o.etag === 'string' ? o.etag.replace(/"/g, '').toLowerCase() : undefined,
      size: o.size_bytes === undefined || o.size_bytes === null ? undefined : Number(o.size_bytes),
      range: o.range as string | undefined,
    };
  });
  if (!problems.length && items.every((it) => it && 'data' in it)) problems.push('Inline data segments require at least one object-backed segment.');
  if (problems.length) throw new CairnError('storage.slo_invalid', { reason: problems.join('\n') });
  onValid?.();

  // Checking a segment reveals its size and ETag: only for containers the caller may read.
  const paths = new Set<string>();
  for (const it of items) if (it && !('data' in it)) paths.add(splitPath(it.path)?.container ?? '');
  // A segment the caller may not read is that segment's error (`403 Forbidden`), as in Swift.
  const readable = new Set<string>();
  for (const c of paths) {
    const ok = await mayRead(c).then(
      () => true,
      (err: unknown) => {
        if (err instanceof CairnError && (err.status === 401 || err.status === 403)) return false;
        throw err;
      },
    );
    if (ok) readable.add(c);
  }
  const out: ManifestEntry[] = new Array(items.length);
  const errors: ([string, string] | undefined)[] = new Array(items.length).fill(undefined);
  let at = 0;
  const worker = async (): Promise<void> => {
    while (at < items.length) {
      const i = at++;
      const entry = items[i] as NonNullable<(typeof items)[number]>;
      if (isData(entry as ManifestEntry)) {
        out[i] = entry as DataSegment;
        continue;
      }
      const item = entry as Exclude<PutItem, DataSegment>;
      const where = splitPath(item.path) as { container: string; object: string };
      if (!readable.has(where.container)) {
        errors[i] = [item.path, '403 Forbidden'];
        continue;
      }
      const info = await backend.headObject(account, where.container, where.object);
      if (!info || isExpired(info)) {
        errors[i] = [item.path, '404 Not Found'];
        continue;
      }
      if (info.meta[SYS.dloManifest] !== undefined) {
        errors[i] = [item.path, 'Dynamic large objects cannot be segments'];
        continue;
      }
      // A nested SLO counts with its assembled size and ETag, as Swift checks it.
      const sub = info.meta[SYS.sloEtag] !== undefined;
      const bytes = sub ? Number(info.meta[SYS.sloSize] ?? 0) : info.bytes;
      const etag = sub ? (info.meta[SYS.sloEtag] as string) : info.etag;
      const why: string[] = [];
      if (item.etag !== undefined && item.etag !== etag) why.push('Etag Mismatch');
      if (item.size !== undefined && item.size !== bytes) why.push('Size Mismatch');
      let stored: StoredSegment = {
        name: `/${where.container}/${where.object}`,
        bytes,
        hash: etag,
        content_type: splitListingOverride(info.contentType).contentType,
        last_modified: listingDate(info.modifiedAt),
        ...(sub ? { sub_slo: true } : {}),
      };
      if (item.range !== undefined) {
        const span = resolveSegmentRange(item.range, bytes);
        if (!span) why.push('Unsatisfiable Range');
        else stored = { ...stored, range: `${span.offset}-${span.offset + span.length - 1}` };
      }
      if (segmentSpan(stored).length < SLO_INFO.min_segment_size && why.length === 0) why.push(`Too small; each segment must be at least ${SLO_INFO.min_segment_size} byte.`);
      if (why.length) errors[i] = [item.path, why.join(', ')];
      out[i] = stored;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, items.length) }, worker));
  const failed = errors.filter((e): e is [string, string] => e !== undefined);
  if (failed.length) throw new SegmentErrors(failed);
  return out;
}

function parseStored(data: Buffer): ManifestEntry[] {
  const list = JSON.parse(data.toString('utf8')) as ManifestEntry[];
  if (!Array.isArray(list)) throw new Error('stored SLO manifest is not a list');
  return list;
}

export function slo(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'slo',
    after: ['auth', 'expiry'],
    info: { slo: SLO_INFO },
    async handle(req, next) {
      const target = req.target;
      if (!target || target.kind !== 'object') return next();
      const { ctx } = req;
      const mode = ctx.query.get('multipart-manifest');
      // The marker is system metadata: a client header must never make a plain object look like one.
      if (ctx.method === 'PUT' && mode === 'put') return putManifest(req, deps.backend, target);
      if (ctx.method === 'DELETE' && mode === 'delete') return deleteManifest(req, deps.backend, target);
      if (ctx.method === 'PUT' || ctx.method === 'POST') await keepListingOverride(req, deps.backend, target);
      (req.readers ??= []).push((reader, source) => assemble(req, deps.backend, reader, source.account));
      await next();
    },
  };
}

/**
 * The listing override parameters of a Content-Type are the SLO's alone: a client's are dropped,
 * and a POST that changes a manifest's type carries them over (Swift's SLO rewrites the header the
 * same way before the object server sees it).
 */
async function keepListingOverride(req: StorageRequest, backend: ObjectBackend, target: { account: string; container: string; object: string }): Promise<void> {
  const headers = req.ctx.req.headers;
  const sent = headers['content-type'];
  if (sent === undefined) return;
  const { contentType } = splitListingOverride(sent);
  headers['content-type'] = contentType;
  if (req.ctx.method !== 'POST' || !contentType.trim()) return;
  const info = await backend.headObject(target.account, target.container, target.object);
  const etag = info?.meta[SYS.sloEtag];
  if (info && etag !== undefined) headers['content-type'] = withListingOverride(contentType.trim(), Number(info.meta[SYS.sloSize] ?? 0), etag);
}

/**
 * `heartbeat=on` (Swift's true values): once the body is a valid manifest the answer is a 202 at
 * once, a space every `yield_frequency` seconds while the segments are checked, and the outcome
 * as a report (bulk-report.ts, root `upload`): `Response Status`, `Response Body`, `Etag` and
 * `Last Modified` on success, `Errors` with the problem segments. A manifest that does not parse
 * is refused before the 202, with the usual status.
 */
async function putManifest(req: StorageRequest, backend: ObjectBackend, target: { account: string; container: string; object: string }): Promise<void> {
  const { ctx } = req;
  if (!(await backend.headContainer(target.account, target.container))) throw new CairnError('storage.container_not_found');
  const heartbeat = TRUE_VALUES.has((ctx.query.get('heartbeat') ?? '').toLowerCase());
  if (!heartbeat) {
    await storeManifest(req, backend, target);
    return;
  }
  const format = reportFormat(ctx.req.headers.accept) ?? 'text/plain';
  let timer: NodeJS.Timeout | undefined;
  const started = (): void => {
    ctx.res.writeHead(202, { 'Content-Type': format });
    ctx.res.write(' ');
    timer = setInterval(() => {
      if (!ctx.res.destroyed) ctx.res.write(' ');
    }, SLO_INFO.yield_frequency * 1000);
  };
  let fields: [string, string | number][];
  let errors: [string, string][] = [];
  try {
    const stored = await storeManifest(req, backend, target, started);
    fields = [
      ['Etag', `"${stored.etag}"`],
      ['Last Modified', httpDate(stored.modifiedAt)],
      ['Response Body', ''],
      ['Response Status', '201 Created'],
    ];
  } catch (err) {
    // Before the 202 (an unparsable manifest): the normal error response.
    if (!ctx.res.headersSent || !(err instanceof CairnError)) {
      clearInterval(timer);
      throw err;
    }
    if (err instanceof SegmentErrors) errors = err.list.map(([path, why]) => [quotePath(Buffer.from(path, 'utf8')), why]);
    const reason = HEARTBEAT_REASONS[err.status];
    fields = [
      ['Response Body', reason ?? err.message],
      ['Response Status', statusText(err.status)],
    ];
  } finally {
    clearInterval(timer);
  }
  ctx.res.end(`\r\n\r\n${renderBulkReport(format, fields, errors, 'upload')}`);
}

/** Swift's config_true_value spellings. */
const TRUE_VALUES = new Set(['true', '1', 'yes', 'on', 't', 'y']);

/** Swift's report bodies for the refusals it words itself (its status reasons, title and text). */
const HEARTBEAT_REASONS: Record<number, string> = {
  400: 'Bad Request\nThe server could not comply with the request since it is either malformed or otherwise incorrect.',
  422: 'Unprocessable Entity\nUnable to process the contained instructions',
};

/** Checks and writes the manifest; without `onValid` it answers 201 itself. */
async function storeManifest(
  req: StorageRequest,
  backend: ObjectBackend,
  target: { account: string; container: string; object: string },
  onValid?: () => void,
): Promise<ObjectInfo> {
  const { ctx } = req;
  const ifNoneMatchAny = putIfNoneMatchAny(ctx.req.headers['if-none-match']);
  const segments = await checkManifest(backend, target, await readBody(req, SLO_INFO.max_manifest_size), (c) => requireRead(req, backend, target.account, c), onValid);
  const etag = sloEtag(segments);
  const sent = ctx.req.headers.etag?.trim().replace(/"/g, '').toLowerCase();
  if (sent && sent !== etag) throw new CairnError('storage.etag_mismatch');
  const size = segments.reduce((n, s) => n + entryLength(s), 0);
  if (size > SWIFT_CONSTRAINTS.max_file_size * SLO_INFO.max_manifest_segments) throw new CairnError('storage.too_large');
  const manifest = Buffer.from(JSON.stringify(segments));
  const sentType = headerText(String(ctx.req.headers['content-type'] ?? '').trim());
  const info = await backend.putObject(target.account, target.container, target.object, Readable.from([manifest]), {
    contentType: withListingOverride(sentType || guessContentType(target.object), size, etag),
    meta: { ...(req.meta?.set ?? {}), ...(req.sysmeta?.set ?? {}), [SYS.sloEtag]: etag, [SYS.sloSize]: String(size) },
    contentLength: manifest.length,
    maxBytes: SLO_INFO.max_manifest_size * 2,
    ifNoneMatchAny,
  });
  if (onValid) return { ...info, etag };
  ctx.res.writeHead(201, {
    ETag: `"${etag}"`,
    'Last-Modified': httpDate(info.modifiedAt),
    'X-Timestamp': xTimestamp(info.modifiedAt),
    'Content-Type': 'text/html; charset=UTF-8',
    'Content-Length': 0,
  });
  ctx.res.end();
  return info;
}

/**
 * A manifest copied as such into another account names containers of that account: Swift checks
 * it there as if it were PUT (each segment must exist and be readable by the caller), 400 otherwise.
 */
export async function checkCopiedManifest(req: StorageRequest, backend: ObjectBackend, dest: { account: string; container: string; object: string }, manifest: Buffer): Promise<void> {
  await checkManifest(backend, dest, manifestAsPut(manifest), (c) => requireRead(req, backend, dest.account, c));
}

/** A stored manifest as the body of a `?multipart-manifest=put` naming the same segments (container sync). */
export function manifestAsPut(manifest: Buffer): Buffer {
  const asPut = parseStored(manifest).map((s) =>
    isData(s) ? s : { path: s.name, etag: s.hash, size_bytes: s.bytes, ...(s.range ? { range: s.range } : {}) },
  );
  return Buffer.from(JSON.stringify(asPut));
}

async function readManifest(reader: ObjectReader): Promise<ManifestEntry[]> {
  return parseStored(await readAll(reader, SLO_INFO.max_manifest_size * 2));
}

async function assemble(req: StorageRequest, backend: ObjectBackend, reader: ObjectReader, account: string): Promise<ObjectReader> {
  const etag = reader.info.meta[SYS.sloEtag];
  if (etag === undefined) return reader;
  const { query, method } = req.ctx;
  const close = (): Promise<void> => reader.close();
  if (query.get('multipart-manifest') === 'get') {
    // Served as JSON; a copy of the manifest (COPY, PUT + X-Copy-From) keeps its stored type.
    const json: ObjectInfo = method === 'GET' || method === 'HEAD' ? { ...reader.info, contentType: 'application/json; charset=utf-8' } : reader.info;
    if (query.get('format') !== 'raw') return { ...reader, info: json };
    // The PUT form, keys sorted as Swift writes them, with the stored Content-Type and an ETag of
    // this body (so a client can check what it got).
    const raw = (await readManifest(reader)).map((s) => (isData(s) ? s : { etag: s.hash, path: s.name, ...(s.range ? { range: s.range } : {}), size_bytes: s.bytes }));
    const body = Buffer.from(JSON.stringify(raw));
    return bufferReader({ ...reader.info, etag: createHash('md5').update(body).digest('hex') }, body, close);
  }
  const info: ObjectInfo = {
    ...reader.info,
    contentType: splitListingOverride(reader.info.contentType).contentType,
    bytes: Number(reader.info.meta[SYS.sloSize] ?? 0),
    etag: `"${etag}"`,
    meta: { ...reader.info.meta, [SYS.manifestEtag]: reader.info.etag },
  };
  // A HEAD needs only what the manifest's metadata says; a GET reads the segment list.
  if (method === 'HEAD') return { info, stream: () => Readable.from([]), close };
  const segments = await expand(req, backend, account, await readManifest(reader), 0);
  return segmentedReader(backend, info, segments, close);
}

/**
 * The plain segments of a manifest, nested manifests opened and cut to their ranges. Segments are
 * read with the caller's rights: a public manifest cannot expose a private container.
 */
async function expand(req: StorageRequest, backend: ObjectBackend, account: string, stored: ManifestEntry[], depth: number): Promise<Segment[]> {
  for (const c of new Set(stored.flatMap((s) => (isData(s) ? [] : [splitPath(s.name)?.container ?? ''])))) {
    // The manifest was readable but a segment is not: Swift answers 409 (segments unavailable).
    await requireRead(req, backend, account, c).catch((err: unknown) => {
      if (err instanceof CairnError && (err.status === 401 || err.status === 403)) throw new CairnError('storage.slo_segment_forbidden', { container: c }, { cause: err });
      throw err;
    });
  }
  const out: Segment[] = [];
  for (const s of stored) {
    if (isData(s)) {
      const data = Buffer.from(s.data, 'base64');
      out.push({ account, container: '', object: '', offset: 0, length: data.length, data });
      continue;
    }
    const where = splitPath(s.name) as { container: string; object: string };
    const span = segmentSpan(s);
    if (!s.sub_slo) {
      out.push({ account, ...where, ...span, expect: { etag: s.hash, bytes: s.bytes } });
      continue;
    }
    if (depth + 1 >= MAX_DEPTH) throw new CairnError('unavailable', { reason: `Manifests nest deeper than ${MAX_DEPTH}.` });
    const sub = await backend.openObject(account, where.container, where.object);
    if (!sub || sub.info.meta[SYS.sloEtag] !== s.hash) {
      await sub?.close();
      throw new CairnError('storage.segment_invalid', { segment: s.name });
    }
    let inner: ManifestEntry[];
    try {
      inner = await readManifest(sub);
    } finally {
      await sub.close();
    }
    out.push(...cut(await expand(req, backend, account, inner, depth + 1), span.offset, span.length));
  }
  return out;
}

/** The part of a segment list from byte `offset`, `length` bytes long. */
function cut(segments: Segment[], offset: number, length: number): Segment[] {
  const out: Segment[] = [];
  let pos = 0;
  const end = offset + length;
  for (const seg of segments) {
    const from = Math.max(offset, pos);
    const to = Math.min(end, pos + seg.length);
    if (to > from) out.push({ ...seg, offset: seg.offset + (from - pos), length: to - from });
    pos += seg.length;
    if (pos >= end) break;
  }
  return out;
}

async function deleteManifest(req: StorageRequest, backend: ObjectBackend, target: { account: string; container: string; object: string }): Promise<void> {
  const { ctx } = req;
  const { account } = target;
  if (!(await backend.headObject(account, target.container, target.object))) throw new CairnError('storage.object_not_found');
  // Everything to delete, segments before the manifests that name them (nested ones included),
  // so a failure part-way leaves every remaining manifest pointing at what remains.
  const order: { container: string; object: string }[] = [];
  const collect = async (where: { container: string; object: string }, depth: number): Promise<void> => {
    const reader = depth < MAX_DEPTH ? await backend.openObject(account, where.container, where.object) : undefined;
    let segments: StoredSegment[] = [];
    try {
      if (reader && reader.info.meta[SYS.sloEtag] !== undefined) segments = (await readManifest(reader)).filter((s): s is StoredSegment => !isData(s));
    } finally {
      await reader?.close();
    }
    for (const c of new Set(segments.map((s) => splitPath(s.name)?.container ?? ''))) await requireWrite(req, backend, account, c);
    for (const s of segments) {
      const seg = splitPath(s.name);
      if (seg && s.sub_slo) await collect(seg, depth + 1);
      else if (seg) order.push(seg);
    }
    order.push(where);
  };
  await collect({ container: target.container, object: target.object }, 0);
  const report: DeleteReport = { deleted: 0, notFound: 0, errors: [] };
  for (const w of order) await deleteOne(backend, account, w.container, w.object, `/${w.container}/${w.object}`, report);
  const { type, body } = renderReport(report, ctx.req.headers.accept);
  sendText(ctx.res, 200, body, type);
}
