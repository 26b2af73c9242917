// How the Swift upstream's answers read as Cairn's types (swift.ts): info from headers, listing
// rows, Swift's timestamps as microseconds, and statuses no caller expects as upstream error codes.
import type { IncomingHttpHeaders } from 'node:http';
import { CairnError } from '../errors';
import type { ContainerInfo, ListOptions, ObjectInfo } from './backend';
import { drain, readText, type UpstreamResponse } from './swift-client';
import { decodeContentType, metaFromHeaders } from './swift-names';
import { nowMicros } from './timestamp';

export function containerInfo(name: string, h: IncomingHttpHeaders): ContainerInfo {
  const createdAt = micros(h['x-timestamp']);
  const lastModified = Date.parse(String(h['last-modified'] ?? ''));
  return {
    name,
    objectCount: int(h['x-container-object-count']),
    bytesUsed: int(h['x-container-bytes-used']),
    createdAt,
    modifiedAt: Number.isFinite(lastModified) ? Math.max(createdAt, lastModified * 1000) : createdAt,
    meta: metaFromHeaders('container', h),
  };
}

export function objectInfo(name: string, h: IncomingHttpHeaders): ObjectInfo {
  return {
    name,
    bytes: int(h['content-length']),
    etag: unquote(h.etag) ?? '',
    contentType: decodeContentType(String(h['content-type'] ?? 'application/octet-stream')),
    modifiedAt: micros(h['x-timestamp']),
    meta: metaFromHeaders('object', h),
  };
}

export function listQuery(opts: ListOptions): Record<string, string | undefined> {
  return {
    format: 'json',
    limit: String(opts.limit),
    prefix: opts.prefix,
    delimiter: opts.delimiter,
    marker: opts.marker,
    end_marker: opts.endMarker,
    reverse: opts.reverse ? 'true' : undefined,
  };
}

export async function listingRows(res: UpstreamResponse, what: string): Promise<Record<string, unknown>[]> {
  if (res.status === 204) return (await drain(res.body), []);
  if (res.status !== 200) await expectOk(res, what);
  const text = await readText(res.body);
  try {
    const rows: unknown = JSON.parse(text);
    if (Array.isArray(rows)) return rows as Record<string, unknown>[];
  } catch {
    // reported below
  }
  throw new CairnError('storage.upstream_unavailable', { reason: `${what}: the listing is not a JSON array` });
}

/**
 * Passes 2xx (its body drained, so the socket serves the next request); turns every other status
 * into the upstream error codes.
 */
export async function expectOk(res: UpstreamResponse, what: string): Promise<void> {
  if (res.status >= 200 && res.status < 300) return drain(res.body);
  const text = (await readText(res.body).catch(() => '')).replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  const reason = `${what}: ${res.status}${text ? ` ${text}` : ''}`;
  if (res.status >= 500 || res.status === 401 || res.status === 403) throw new CairnError('storage.upstream_unavailable', { reason });
  throw new CairnError('storage.upstream_refused', { reason });
}

export const int = (v: string | string[] | undefined): number => Number(Array.isArray(v) ? v[0] : v ?? 0) || 0;

export function unquote(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : s.replace(/^"|"$/g, '').toLowerCase();
}

/** Swift's `1795616342.02601` → µs, exactly (no float rounding). */
export function micros(v: string | string[] | undefined): number {
  const s = String(Array.isArray(v) ? v[0] : v ?? '');
  const m = /^(\d+)(?:\.(\d{1,6})\d*)?/.exec(s);
  if (!m) return nowMicros();
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0'));
}

/** A listing's `2026-11-25T14:19:02.026010` (UTC) → µs. */
export function isoMicros(v: unknown): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?/.exec(String(v ?? ''));
  if (!m) return 0;
  return Date.parse(`${m[1]}Z`) * 1000 + Number((m[2] ?? '').padEnd(6, '0'));
}

export function httpDateMicros(v: string | undefined): number {
  const ms = Date.parse(v ?? '');
  return Number.isFinite(ms) ? ms * 1000 : nowMicros();
}
