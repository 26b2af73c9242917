// Account and container GET: listings in Swift's plain, JSON and XML formats with its parameters
// (prefix, delimiter, marker, end_marker, limit ≤ 10000, reverse, legacy path). An empty plain
// listing is 204; JSON and XML answer 200 with an empty document.
import type { IncomingHttpHeaders } from 'node:http';
import { CairnError } from '../../core/errors';
import type { ContainerSummary, ListEntry, ListOptions, ObjectSummary } from '../../core/objectstore/backend';
import { sendText } from '../http/respond';
import { accountHeaders } from './account';
import { SWIFT_CONSTRAINTS } from './constraints';
import { containerHeaders, isOwner } from './container';
import type { Middleware, StorageDeps } from './pipeline';
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
  const text = (name: string): string | undefined => {
    const v = query.get(name);
    if (v === null || v === '') return undefined;
    if (v.includes('\0') || v.includes('\uFFFD')) throw new CairnError('storage.invalid_name');
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
  return { prefix, delimiter, marker: text('marker'), endMarker: text('end_marker'), limit, reverse };
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function renderContainerListing(format: ListingFormat, container: string, entries: ListEntry<ObjectSummary>[]): string {
  switch (format) {
    case 'plain':
      return entries.map((e) => `${e.kind === 'subdir' ? e.subdir : e.item.name}\n`).join('');
    case 'json':
      return JSON.stringify(
        entries.map((e) =>
          e.kind === 'subdir'
            ? { subdir: e.subdir }
            : { bytes: e.item.bytes, hash: e.item.etag, name: e.item.name, content_type: e.item.contentType, last_modified: listingDate(e.item.modifiedAt) },
        ),
      );
    case 'xml':
      return `${XML_HEAD}<container name="${escapeXml(container)}">${entries
        .map((e) =>
          e.kind === 'subdir'
            ? `<subdir name="${escapeXml(e.subdir)}"><name>${escapeXml(e.subdir)}</name></subdir>`
            : `<object><name>${escapeXml(e.item.name)}</name><hash>${e.item.etag}</hash><bytes>${e.item.bytes}</bytes>` +
              `<content_type>${escapeXml(e.item.contentType)}</content_type><last_modified>${listingDate(e.item.modifiedAt)}</last_modified></object>`,
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
        headers = accountHeaders(info);
        body = renderAccountListing(format, target.account, entries);
        empty = entries.length === 0;
      } else {
        const opts = listOptions(ctx.query, SWIFT_CONSTRAINTS.container_listing_limit);
        const info = await deps.backend.headContainer(target.account, target.container);
        if (!info) throw new CairnError('storage.container_not_found');
        const entries = await deps.backend.listObjects(target.account, target.container, opts);
        headers = containerHeaders(info, isOwner(req));
        body = renderContainerListing(format, target.container, entries);
        empty = entries.length === 0;
      }
      if (empty && format === 'plain') return sendText(ctx.res, 204, '', CONTENT_TYPES.plain, headers);
      sendText(ctx.res, 200, body, CONTENT_TYPES[format], headers);
    },
  };
}
