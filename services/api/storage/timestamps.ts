// Swift's three renderings of a stored time (microseconds since the epoch).
import type { TimestampMicros } from '../../core/objectstore/backend';

/** `X-Timestamp`: Unix seconds with exactly five decimals (`1795384151.94629`). */
export function xTimestamp(us: TimestampMicros): string {
  return (Math.round(us / 10) / 1e5).toFixed(5);
}

/** Whole seconds of `Last-Modified`: Swift rounds the timestamp up. */
export function lastModifiedSeconds(us: TimestampMicros): number {
  return Math.ceil(us / 1e6);
}

/** `Last-Modified`: RFC 1123 GMT. */
export function httpDate(us: TimestampMicros): string {
  return new Date(lastModifiedSeconds(us) * 1000).toUTCString();
}

/** Listing `last_modified`: ISO 8601 UTC with microseconds and no zone (`2026-11-22T21:49:12.126980`). */
export function listingDate(us: TimestampMicros): string {
  const micros = String(us % 1_000_000).padStart(6, '0');
  return `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${micros}`;
}
