// Server-side copy: `COPY <src>` + `Destination: <c>/<o>` (optional `Destination-Account`), or
// `PUT <dst>` + `X-Copy-From: <c>/<o>` (optional `X-Copy-From-Account`). The source is read
// through the request's reader transforms, so an expired source is 404 and a large object is
// copied assembled (or as its manifest with `?multipart-manifest=get`). Source user metadata is
// kept and merged with the request's unless `X-Fresh-Metadata: true`. Answers 201 with Swift's
// `X-Copied-From*` headers.
import { CairnError } from '../../core/errors';
import { storageAccount } from '../../core/identity/types';
import type { Metadata } from '../../core/objectstore/backend';
import { sendEmpty } from '../http/respond';
import { parseTarget, SWIFT_CONSTRAINTS } from './constraints';
import { requireRead, requireWrite } from './container-acl';
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

/** An account named in a header: only the caller's own (or the request's) account is reachable. */
function otherAccount(req: StorageRequest, headerName: string, fallback: string): string {
  const raw = header(req, headerName);
  if (raw === undefined || raw.trim() === '') return fallback;
  const name = headerText(raw.trim());
  if (!name || name.includes('/') || name.includes('\0')) throw new CairnError('storage.bad_copy_account', { header: headerName });
  if (name === fallback) return name;
  // Cross-account copies need the caller to own the other account too (no account ACLs here).
  const who = req.ctx.auth;
  if (!who || name !== storageAccount(who.projectId)) throw new CairnError('storage.account_forbidden');
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
  // Auth let the request in for its target; the other side of the copy needs its own right.
  await requireRead(req, backend, source.account, source.container);
  await requireWrite(req, backend, dest.account, dest.container);
  const reader = await openForRead(req, backend, source.account, source.container, source.object);
  let info;
  let srcInfo;
  try {
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
    // The raw bytes of an unassembled object are checked against its stored MD5 on the way.
    const assembled = srcInfo.meta[SYS.dloManifest] !== undefined || srcInfo.meta[SYS.sloEtag] !== undefined;
    info = await backend.putObject(dest.account, dest.container, dest.object, reader.stream(), {
      contentType: sentType || srcInfo.contentType,
      meta,
      contentLength: srcInfo.bytes,
      maxBytes: SWIFT_CONSTRAINTS.max_file_size,
      expectedEtag: assembled && !manifestGet ? undefined : srcInfo.etag.replace(/"/g, ''),
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
