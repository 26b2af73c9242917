// Server-side copy: `COPY <src>` + `Destination: <c>/<o>` (optional `Destination-Account`), or
// `PUT <dst>` + `X-Copy-From: <c>/<o>` (optional `X-Copy-From-Account`). The source is read
// through the request's reader transforms, so an expired source is 404 and a large object is
// copied assembled (or as its manifest with `?multipart-manifest=get`). Source user metadata is
// kept and merged with the request's unless `X-Fresh-Metadata: true`. Answers 201 with Swift's
// `X-Copied-From*` headers.
import { Readable } from 'node:stream';
import { CairnError } from '../../core/errors';
import type { Metadata } from '../../core/objectstore/backend';
import { sendEmpty } from '../http/respond';
import { parseTarget } from './constraints';
import { resolveRange } from './conditional';
import { withListingOverride } from './listing-override';
import { readAll } from './segments';
import { checkCopiedManifest, SLO_INFO } from './slo';
import { requireRead, requireWrite } from './container-acl';
import { objectLimit } from './container-quotas';
import { metadataResponseHeaders, headerText, headerValue } from './metadata';
import { openForRead } from './object';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { SYS, userPart } from './sysmeta';
import { httpDate, xTimestamp } from './timestamps';

type ObjectRef = { account: string; container: string; object: string };

function header(req: StorageRequest, name: string): string | undefined {
  const v = req.ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `<container>/<object>` (leading slash optional, %-encoded) in `account`, validated like a path. */
function parseRef(raw: string, account: string, headerName: string): ObjectRef {
  const rel = raw.trim().replace(/^\/+/, '');
  let t;
  try {
    t = parseTarget(`/v1/${account}/${rel}`);
  } catch (err) {
    // Bad UTF-8 or over-long names keep their own statuses; a malformed path is the header's fault.
    if (err instanceof CairnError && err.code !== 'storage.bad_path') throw err;
    throw new CairnError('storage.bad_copy_from', { header: headerName }, { cause: err });
  }
  if (t.kind !== 'object') throw new CairnError('storage.bad_copy_from', { header: headerName });
  return t;
}

/**
 * An account named in a header. Another tenant account is reachable as in Swift: copyObject then
 * asks for read access to the source and write access to the destination, which the other
 * account's container ACLs may grant. The platform's own accounts (outside `AUTH_`) never are.
 */
function otherAccount(req: StorageRequest, headerName: string, fallback: string): string {
  const raw = header(req, headerName);
  if (raw === undefined || raw.trim() === '') return fallback;
  const name = headerText(raw.trim());
  if (!name || name.includes('/') || name.includes('\0')) throw new CairnError('storage.bad_copy_account', { header: headerName });
  if (name !== fallback && !name.startsWith('AUTH_')) throw new CairnError(req.ctx.auth ? 'storage.account_forbidden' : 'storage.unauthorized');
  return name;
}

const quote = (s: string): string => encodeURIComponent(s).replace(/%2F/g, '/');

export function copy(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'copy',
    // The source is read through what expiry and the large-object middlewares registered.
    after: ['auth', 'expiry', 'dlo', 'slo'],
    async handle(req, next) {
      const target = req.target;
      if (!target || target.kind !== 'object') return next();
      const method = req.ctx.method;
      let source: ObjectRef;
      let dest: ObjectRef;
      if (method === 'COPY') {
        const d = header(req, 'destination');
        if (d === undefined) throw new CairnError('storage.bad_copy_from', { header: 'Destination' });
        source = target;
        dest = parseRef(d, otherAccount(req, 'destination-account', target.account), 'Destination');
      } else if (method === 'PUT' && header(req, 'x-copy-from') !== undefined) {
        dest = target;
        source = parseRef(header(req, 'x-copy-from') as string, otherAccount(req, 'x-copy-from-account', target.account), 'X-Copy-From');
      } else return next();
      await copyObject(req, deps, source, dest);
    },
  };
}

async function copyObject(req: StorageRequest, deps: Pick<StorageDeps, 'backend'>, source: ObjectRef, dest: ObjectRef): Promise<void> {
  const { backend } = deps;
  const headers = req.ctx.req.headers;
  // Auth let the request in for its target; the other side of the copy needs its own right. As in
  // Swift, the source is fetched before the destination's write access is checked, so a missing
  // source is 404 whatever the destination.
  await requireRead(req, backend, source.account, source.container);
  const reader = await openForRead(req, backend, source.account, source.container, source.object);
  let info;
  let srcInfo;
  try {
    await requireWrite(req, backend, dest.account, dest.container);
    srcInfo = reader.info;
    const fresh = String(headers['x-fresh-metadata'] ?? '').toLowerCase() === 'true';
    // Copying a manifest as such (`?multipart-manifest=get`) keeps it a manifest; otherwise the
    // assembled bytes are written and the copy is a plain object.
    const manifestGet = req.ctx.query.get('multipart-manifest') === 'get';
    const kept: Metadata = {};
    if (manifestGet) for (const k of [SYS.dloManifest, SYS.sloEtag, SYS.sloSize]) if (srcInfo.meta[k] !== undefined) kept[k] = srcInfo.meta[k];
    const meta: Metadata = {
      ...(fresh ? {} : userPart(srcInfo.meta)),
      ...kept,
      ...(req.meta?.set ?? {}),
      ...(req.sysmeta?.set ?? {}),
    };
    const sentType = headerText(String(headers['content-type'] ?? '').trim());
    // A `Range` copies that part of the source, as Swift's copy does (one range only).
    const decision = resolveRange(headers.range, srcInfo.bytes);
    if (decision.kind === 'unsatisfiable') {
      req.ctx.res.setHeader('Content-Range', `bytes */${srcInfo.bytes}`);
      throw new CairnError('storage.range_not_satisfiable');
    }
    const range = decision.kind === 'ranges' && decision.ranges.length === 1 ? decision.ranges[0] : undefined;
    // The raw bytes of an unassembled object are checked against its stored MD5 on the way.
    const assembled = srcInfo.meta[SYS.dloManifest] !== undefined || srcInfo.meta[SYS.sloEtag] !== undefined;
    // A manifest copied as such still lists as its assembled object, whatever type it is given.
    const sloEtag = srcInfo.meta[SYS.sloEtag];
    const contentType = manifestGet && sentType && sloEtag !== undefined ? withListingOverride(sentType, Number(srcInfo.meta[SYS.sloSize] ?? 0), sloEtag) : sentType || srcInfo.contentType;
    // A manifest copied into another account must hold there too (slo.ts checks it as a PUT).
    let body: ReturnType<typeof reader.stream>;
    if (manifestGet && sloEtag !== undefined && dest.account !== source.account) {
      const manifest = await readAll(reader, SLO_INFO.max_manifest_size * 2);
      await checkCopiedManifest(req, backend, dest, manifest);
      body = Readable.from([manifest]);
    } else body = reader.stream(range);
    info = await backend.putObject(dest.account, dest.container, dest.object, body, {
      contentType,
      meta,
      contentLength: range ? range.end - range.start + 1 : srcInfo.bytes,
      maxBytes: await objectLimit(req, dest),
      expectedEtag: (assembled && !manifestGet) || range ? undefined : srcInfo.etag.replace(/"/g, ''),
    });
  } finally {
    await reader.close();
  }
  return sendEmpty(req.ctx.res, 201, {
    ETag: info.etag,
    'Last-Modified': httpDate(info.modifiedAt),
    'X-Timestamp': xTimestamp(info.modifiedAt),
    'X-Copied-From': headerValue(quote(`${source.container}/${source.object}`)),
    'X-Copied-From-Account': headerValue(quote(source.account)),
    'X-Copied-From-Last-Modified': httpDate(srcInfo.modifiedAt),
    ...metadataResponseHeaders(info.meta, 'object'),
    'Content-Type': 'text/html; charset=UTF-8',
  });
}
