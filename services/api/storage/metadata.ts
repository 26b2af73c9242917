// User metadata on the wire: `X-<Kind>-Meta-<name>` request headers in (validated against Swift's
// limits, with Swift's error texts) and title-cased response headers out. Header values arrive as
// latin1 strings of the raw bytes (Node's HTTP parser); they are stored as the UTF-8 text they encode.
// Object metadata values need not be UTF-8 (Swift keeps whatever bytes came, and refuses them only
// for accounts and containers): such a value is stored as base64 behind a marker that no header
// value can start with, and goes back out as the same bytes.
import { CairnError } from '../../core/errors';
import type { Metadata } from '../../core/objectstore/backend';
import type { MetadataHeaders } from './pipeline';

export type MetaKind = 'account' | 'container' | 'object';

export interface MetadataLimits {
  maxNameLength: number;
  maxValueLength: number;
  maxCount: number;
  maxOverallSize: number;
  maxHeaderSize: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text a header value's bytes encode, or undefined when they are not UTF-8. */
export function headerText(raw: string): string | undefined {
  try {
    return utf8.decode(Buffer.from(raw, 'latin1'));
  } catch {
    return undefined;
  }
}

/** A string as a header value Node can write: its UTF-8 bytes, one latin1 char each. */
export function headerValue(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Marks a stored metadata value holding bytes that are not UTF-8 (a control character never arrives in a header). */
const BYTES_MARK = '\u0001bytes:';

function storedBytes(raw: string): string {
  return BYTES_MARK + Buffer.from(raw, 'latin1').toString('base64');
}

/** A stored metadata value as the header value it came as. */
export function metadataHeaderValue(stored: string): string {
  if (stored.startsWith(BYTES_MARK)) return Buffer.from(stored.slice(BYTES_MARK.length), 'base64').toString('latin1');
  return headerValue(stored);
}

/** A stored metadata value as text for code that wants text (storlets): bytes that are not UTF-8 become U+FFFD. */
export function metadataText(stored: string): string {
  if (stored.startsWith(BYTES_MARK)) return Buffer.from(stored.slice(BYTES_MARK.length), 'base64').toString('utf8');
  return stored;
}

/** Validates and collects the metadata headers of one request, or throws Swift's 400. */
export function parseMetadataHeaders(headers: Record<string, string | string[] | undefined>, kind: MetaKind, limits: MetadataLimits): MetadataHeaders {
  const prefix = `x-${kind}-meta-`;
  const removePrefix = `x-remove-${kind}-meta-`;
  const set: Metadata = {};
  const remove: string[] = [];
  let count = 0;
  let size = 0;
  for (const [key, rawValue] of Object.entries(headers)) {
    const value = Array.isArray(rawValue) ? rawValue.join(', ') : (rawValue ?? '');
    if (value.length > limits.maxHeaderSize) throw new CairnError('storage.header_too_long', { header: key.slice(0, limits.maxNameLength) });
    if (key.startsWith(removePrefix) && kind !== 'object') {
      const name = key.slice(removePrefix.length);
      if (name) remove.push(name);
      continue;
    }
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (!name) throw new CairnError('storage.metadata_name_empty');
    const text = headerText(value);
    if (text === undefined && kind !== 'object') throw new CairnError('storage.metadata_not_utf8');
    // Limits count bytes, as Swift does (the raw value's latin1 length is its byte length).
    count += 1;
    size += name.length + value.length;
    if (name.length > limits.maxNameLength) throw new CairnError('storage.metadata_name_too_long', { header: `${prefix}${name}` });
    if (value.length > limits.maxValueLength) throw new CairnError('storage.metadata_value_too_long', { max: limits.maxValueLength, header: `${prefix}${name}` });
    if (count > limits.maxCount) throw new CairnError('storage.metadata_too_many', { max: limits.maxCount });
    if (size > limits.maxOverallSize) throw new CairnError('storage.metadata_too_large', { max: limits.maxOverallSize });
    if (text === undefined) set[name] = storedBytes(value);
    else if (text === '') remove.push(name);
    else set[name] = text;
  }
  return { set, remove };
}

/** `X-Object-Meta-Color`-style header name of a stored metadata name. */
function titleCase(name: string): string {
  return name
    .split('-')
    .map((w) => (w ? w[0].toUpperCase() + w.slice(1) : w))
    .join('-');
}

/** Response headers for stored metadata. */
export function metadataResponseHeaders(meta: Metadata, kind: MetaKind): Record<string, string> {
  const out: Record<string, string> = {};
  const prefix = `X-${titleCase(kind)}-Meta-`;
  // Names with ':' are system metadata (sysmeta.ts), rendered by the middleware that owns them.
  for (const [name, value] of Object.entries(meta)) if (!name.includes(':')) out[prefix + titleCase(name)] = metadataHeaderValue(value);
  return out;
}

/**
 * Account and container metadata accumulates over PUTs and POSTs; like Swift's account and
 * container servers, refuse an update whose result would exceed the per-resource limits.
 */
export function checkMergedMetadata(current: Metadata, update: MetadataHeaders, limits: MetadataLimits): void {
  const merged: Metadata = {};
  for (const [k, v] of Object.entries(current)) if (!k.includes(':')) merged[k] = v;
  Object.assign(merged, update.set);
  for (const name of update.remove) delete merged[name];
  const entries = Object.entries(merged);
  if (entries.length > limits.maxCount) throw new CairnError('storage.metadata_too_many', { max: limits.maxCount });
  const size = entries.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (size > limits.maxOverallSize) throw new CairnError('storage.metadata_too_large', { max: limits.maxOverallSize });
}
