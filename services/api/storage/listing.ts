// Account and container GET: listings in Swift's plain, JSON and XML formats with its parameters
// (prefix, delimiter, marker, end_marker, limit ≤ 10000, reverse, legacy path). An empty plain
// listing is 204; JSON and XML answer 200 with an empty document.
import type { IncomingHttpHeaders } from 'node:http';
import { CairnError } from '../../core/errors';
import type { ContainerSummary, ListEntry, ListOptions, ObjectBackend, ObjectSummary } from '../../core/objectstore/backend';
import { sendText } from '../http/respond';
import { accountHeaders } from './account';
import { SWIFT_CONSTRAINTS } from './constraints';
import { containerHeaders, isOwner } from './container';
import type { Middleware, StorageDeps } from './pipeline';
import { splitListingOverride } from './listing-override';
import { listingDate } from './timestamps';

export type ListingFormat = 'plain' | 'json' | 'xml';

const CONTENT_TYPES: Record<ListingFormat, string> = {
  plain: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
};

/** `?format=` wins over `Accept`, as in Swift. */
export function listingFormat(query: URLSearchParams, headers: IncomingHttpHeaders): ListingFormat {
  const f = query.get('format')?.toLowerCase();
  if (f === 'json' || f === 'xml' || f === 'plain') return f;
  const accept = (headers.accept ?? '').toLowerCase();
  if (accept.includes('application/json')) return 'json';
  if (accept.includes('application/xml') || accept.includes('text/xml')) return 'xml';
  return 'plain';
}

/** Swift's listing parameters, validated; a `limit` above 10000 is 412, a non-numeric one ignored. */
export function listOptions(query: URLSearchParams, maxLimit: number): ListOptions {
  // A marker is only compared with names, so a NUL is fine there (`marker=b1%00` means "after
  // b1", as in Swift); a prefix or delimiter with one could match nothing and is refused.
  const text = (name: string): string | undefined => {
    const v = query.get(name);
    if (v === null || v === '') return undefined;
    if ((v.includes('\0') && !name.endsWith('marker')) || v.includes('\uFFFD')) throw new CairnError('storage.invalid_name');
    return v;
  };
  let limit = maxLimit;
  const rawLimit = query.get('limit');
  if (rawLimit && /^[0-9]+$/.test(rawLimit)) {
    limit = Number(rawLimit);
    if (limit > maxLimit) throw new CairnError('storage.limit_too_large', { max: maxLimit });
  }
  let prefix = text('prefix');
  let delimiter = text('delimiter');
  const path = query.get('path');
  if (path !== null) {
    // Legacy `path=p`: the direct children of p, i.e. prefix p/ with delimiter /.
    prefix = path === '' ? undefined : path.endsWith('/') ? path : `${path}/`;
    delimiter = '/';
  }
  const reverse = ['true', '1', 'yes', 'on', 't', 'y'].includes((query.get('reverse') ?? '').toLowerCase());
  return { prefix, delimiter, marker: nulFree(text('marker'), reverse ? 'below' : 'above'), endMarker: nulFree(text('end_marker'), reverse ? 'above' : 'below'), limit, reverse };
}

/**
 * A marker with a NUL as the same bound without one (names never hold NUL, and the stores may not
 * take it). With `p` the part before the NUL: "above p\0…" is "above p"; "below p\0…" takes p
 * itself too, which is "below p\x01".
 */
function nulFree(marker: string | undefined, bound: 'above' | 'below'): string | undefined {
  const at = marker?.indexOf('\0') ?? -1;
  if (marker === undefined || at === -1) return marker;
  return bound === 'above' ? marker.slice(0, at) : `${marker.slice(0, at)}\u0001`;
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** One object row as Swift lists it: an SLO manifest with its assembled size and its `slo_etag`. */
function listingRow(item: ObjectSummary): { bytes: number; hash: string; name: string; content_type: string; last_modified: string; slo_etag?: string } {
  const o = splitListingOverride(item.contentType);
  return {
    bytes: o.bytes ?? item.bytes,
    hash: item.etag,
    name: item.name,
    content_type: o.contentType,
    last_modified: listingDate(item.modifiedAt),
    ...(o.sloEtag ? { slo_etag: `"${o.sloEtag}"` } : {}),
  };
}

function xmlRow(r: ReturnType<typeof listingRow>): string {
  return (
    `<object><name>${escapeXml(r.name)}</name><hash>${r.hash}</hash><bytes>${r.bytes}</bytes>` +
    `<content_type>${escapeXml(r.content_type)}</content_type><last_modified>${r.last_modified}</last_modified></object>`
  );
}

export function renderContainerListing(format: ListingFormat, container: string, entries: ListEntry<ObjectSummary>[]): string {
  switch (format) {
    case 'plain':
      return entries.map((e) => `${e.kind === 'subdir' ? e.subdir : e.item.name}\n`).join('');
    case 'json':
      return JSON.stringify(
        entries.map((e) =>
          e.kind === 'subdir'
            ? { subdir: e.subdir }
            : listingRow(e.item),
        ),
      );
    case 'xml':
      return `${XML_HEAD}<container name="${escapeXml(container)}">${entries
        .map((e) =>
          e.kind === 'subdir'
            ? `<subdir name="${escapeXml(e.subdir)}"><name>${escapeXml(e.subdir)}</name></subdir>`
            : xmlRow(listingRow(e.item)),
        )
        .join('')}</container>`;
  }
}

export function renderAccountListing(format: ListingFormat, account: string, entries: ListEntry<ContainerSummary>[]): string {
  switch (format) {
    case 'plain':
      return entries.map((e) => `${e.kind === 'subdir' ? e.subdir : e.item.name}\n`).join('');
    case 'json':
      return JSON.stringify(
        entries.map((e) =>
          e.kind === 'subdir'
            ? { subdir: e.subdir }
            : { name: e.item.name, count: e.item.objectCount, bytes: e.item.bytesUsed, last_modified: listingDate(e.item.modifiedAt) },
        ),
      );
    case 'xml':
      return `${XML_HEAD}<account name="${escapeXml(account)}">${entries
        .map((e) =>
          e.kind === 'subdir'
            ? `<subdir name="${escapeXml(e.subdir)}"><name>${escapeXml(e.subdir)}</name></subdir>`
            : `<container><name>${escapeXml(e.item.name)}</name><count>${e.item.objectCount}</count><bytes>${e.item.bytesUsed}</bytes>` +
              `<last_modified>${listingDate(e.item.modifiedAt)}</last_modified></container>`,
        )
        .join('')}</account>`;
  }
}

/**
 * Legacy `path=p`: Swift lists the objects directly inside directory p — plain names, and the
 * marker objects (`p/sub/`) of subdirectories when they exist — never p's own marker and never
 * rolled-up `subdir` entries. The backend's prefix+delimiter listing is mapped onto that.
 */
async function pathEntries(backend: ObjectBackend, account: string, container: string, prefix: string | undefined, entries: ListEntry<ObjectSummary>[]): Promise<ListEntry<ObjectSummary>[]> {
  const out: ListEntry<ObjectSummary>[] = [];
  for (const e of entries) {
    if (e.kind === 'item') {
      if (e.item.name !== prefix) out.push(e);
      continue;
    }
    const marker = await backend.headObject(account, container, e.subdir);
    if (marker) out.push({ kind: 'item', item: { name: marker.name, bytes: marker.bytes, etag: marker.etag, contentType: marker.contentType, modifiedAt: marker.modifiedAt } });
  }
  return out;
}

export function listing(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'listing',
    after: ['auth'],
    async handle(req, next) {
      const target = req.target;
      const { ctx } = req;
      if (!target || ctx.method !== 'GET' || target.kind === 'object') return next();
      const format = listingFormat(ctx.query, ctx.req.headers);
      let headers: Record<string, string>;
      let body: string;
      let empty: boolean;
      if (target.kind === 'account') {
        const opts = listOptions(ctx.query, SWIFT_CONSTRAINTS.account_listing_limit);
        const [info, entries] = await Promise.all([deps.backend.headAccount(target.account), deps.backend.listContainers(target.account, opts)]);
        headers = accountHeaders(info, isOwner(req));
        body = renderAccountListing(format, target.account, entries);
        empty = entries.length === 0;
      } else {
        const opts = listOptions(ctx.query, SWIFT_CONSTRAINTS.container_listing_limit);
        const info = await deps.backend.headContainer(target.account, target.container);
        if (!info) throw new CairnError('storage.container_not_found');
        let entries = await deps.backend.listObjects(target.account, target.container, opts);
        if (ctx.query.has('path')) entries = await pathEntries(deps.backend, target.account, target.container, opts.prefix, entries);
        headers = containerHeaders(info, isOwner(req));
        body = renderContainerListing(format, target.container, entries);
        empty = entries.length === 0;
      }
      if (empty && format === 'plain') return sendText(ctx.res, 204, '', CONTENT_TYPES.plain, headers);
      sendText(ctx.res, 200, body, CONTENT_TYPES[format], headers);
    },
  };
}
