// Conditional requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) and byte
// ranges on object GET/HEAD, as pure decisions over the object's info; object.ts acts on them.
import type { IncomingHttpHeaders } from 'node:http';
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
  const ms = Date.parse(header);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * Evaluates the preconditions of a GET or HEAD in RFC 7232 order: `proceed`, `not-modified` (304)
 * or `failed` (412).
 */
export function evaluatePreconditions(headers: IncomingHttpHeaders, info: ObjectInfo): 'proceed' | 'not-modified' | 'failed' {
  const modified = lastModifiedSeconds(info.modifiedAt);
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (!matches(ifMatch, info.etag)) return 'failed';
  } else {
    const since = parseDate(headers['if-unmodified-since']);
    if (since !== undefined && modified > since) return 'failed';
  }
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
export function resolveRange(header: string | undefined, size: number): RangeDecision {
  if (!header) return { kind: 'full' };
  const m = /^bytes=(.+)$/i.exec(header.trim());
  if (!m) return { kind: 'full' };
  const ranges: ByteRange[] = [];
  for (const spec of m[1].split(',')) {
    const part = /^\s*(\d*)-(\d*)\s*$/.exec(spec);
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
