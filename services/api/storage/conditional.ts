// Conditional requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) and byte
// ranges on object GET/HEAD, as pure decisions over the object's info; object.ts acts on them.
import type { IncomingHttpHeaders } from 'node:http';
import { CairnError } from '../../core/errors';
import type { ByteRange, ObjectInfo } from '../../core/objectstore/backend';
import { lastModifiedSeconds } from './timestamps';

/** Entity tags listed in an If-Match / If-None-Match header, unquoted; `*` stays `*`. */
function etagList(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'))
    .filter((t) => t.length > 0);
}

function matches(header: string, etag: string): boolean {
  const tags = etagList(header);
  return tags.includes('*') || tags.includes(etag);
}

function parseDate(header: string | undefined): number | undefined {
  if (!header) return undefined;
  // HTTP dates are GMT; the asctime form (`Sun Nov  6 08:49:37 1994`) carries no zone, so say so.
  const ms = Date.parse(/^[A-Za-z]{3} [A-Za-z]{3} +\d{1,2} \d\d:\d\d:\d\d \d{4}$/.test(header.trim()) ? `${header.trim()} GMT` : header);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * Evaluates the preconditions of a GET or HEAD in RFC 7232 order: `proceed`, `not-modified` (304)
 * or `failed` (412).
 */
export function evaluatePreconditions(headers: IncomingHttpHeaders, info: ObjectInfo): 'proceed' | 'not-modified' | 'failed' {
  const modified = lastModifiedSeconds(info.modifiedAt);
  // Swift checks If-Unmodified-Since even next to a matching If-Match (RFC 7232 would skip it).
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined && !matches(ifMatch, info.etag)) return 'failed';
  const unmodifiedSince = parseDate(headers['if-unmodified-since']);
  if (unmodifiedSince !== undefined && modified > unmodifiedSince) return 'failed';
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (matches(ifNoneMatch, info.etag)) return 'not-modified';
  } else {
    const since = parseDate(headers['if-modified-since']);
    if (since !== undefined && modified <= since) return 'not-modified';
  }
  return 'proceed';
}

export type RangeDecision = { kind: 'full' } | { kind: 'ranges'; ranges: ByteRange[] } | { kind: 'unsatisfiable' };

/**
 * Resolves a `Range` header against the object size. A syntactically invalid header is ignored
 * (full object), as Swift does; ranges that all miss the object are unsatisfiable.
 */
/** `If-None-Match` on a PUT: only `*` (refuse to overwrite) means something; anything else is 400. */
export function putIfNoneMatchAny(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value.trim() !== '*') throw new CairnError('storage.if_none_match_unsupported');
  return true;
}

export function resolveRange(header: string | undefined, size: number): RangeDecision {
  if (!header) return { kind: 'full' };
  // Linear white space around `=` and `-` is allowed (RFC 7230), as Swift accepts it.
  const m = /^bytes\s*=\s*(.+)$/i.exec(header.trim());
  if (!m) return { kind: 'full' };
  const ranges: ByteRange[] = [];
  for (const spec of m[1].split(',')) {
    const part = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(spec);
    if (!part || (part[1] === '' && part[2] === '')) return { kind: 'full' };
    if (part[1] === '') {
      // Suffix range: the last N bytes.
      const n = Number(part[2]);
      if (n === 0) continue;
      ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(part[1]);
    const end = part[2] === '' ? size - 1 : Number(part[2]);
    if (end < start) return { kind: 'full' };
    if (start >= size) continue;
    ranges.push({ start, end: Math.min(end, size - 1) });
  }
  if (ranges.length === 0) return size === 0 ? { kind: 'full' } : { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges };
}
