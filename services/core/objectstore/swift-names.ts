// How Cairn's accounts and metadata travel to a Swift upstream (the `swift` backend). Both mappings
// are bijections, so anything read back upstream decodes to exactly what Cairn stored.
//
// Accounts: `AUTH_<rest>` becomes `<prefix><rest>` (so with the default prefix a project's data sits
// in the upstream account of the same name), every other account (the platform's `.cairn`) becomes
// `<prefix>_<account>`. The first form is used only when `<rest>` is non-empty and starts with
// neither `_` nor `.`, the second always starts with `_`: no two Cairn accounts meet. (`.` is kept
// out because tempauth and keystoneauth refuse a reseller admin any account whose name after the
// prefix starts with a dot.)
//
// Metadata: every name becomes `c-<escaped>` after `X-{Account,Container,Object}-Meta-`. The `c-`
// keeps Cairn's names out of the ones upstream middlewares act on (`temp-url-key`, `quota-bytes`,
// `web-*`, `access-control-*`) and marks what is Cairn's; upstream metadata without it is ignored.
// Escaping keeps `a-z 0-9 -` and writes every other UTF-8 byte as `%XX`: Swift title-cases
// names and folds `_` into `-`, so only case-free characters survive verbatim. Values keep printable
// ASCII; `%`, every other byte (UTF-8 sequences, controls) and leading/trailing blanks (which HTTP
// would strip) become `%XX`, and the empty value, which Swift would drop, is the lone `%`. The wire
// is pure ASCII because node:http writes the headers of a `100-continue` request as UTF-8, which
// would mangle raw bytes; the price is 3 bytes per non-ASCII byte against Swift's metadata limits.
import type { Metadata } from './backend';

/** The upstream account holding Cairn account `account`. */
export function upstreamAccount(prefix: string, account: string): string {
  const rest = account.startsWith('AUTH_') ? account.slice(5) : undefined;
  if (rest && !rest.startsWith('_') && !rest.startsWith('.')) return prefix + rest;
  return `${prefix}_${account}`;
}

/** The Cairn account an upstream account holds, or undefined when it is not one of ours. */
export function cairnAccount(prefix: string, upstream: string): string | undefined {
  if (!upstream.startsWith(prefix)) return undefined;
  const rest = upstream.slice(prefix.length);
  if (rest.startsWith('_')) return rest.slice(1);
  return rest && !rest.startsWith('.') ? `AUTH_${rest}` : undefined;
}

/**
 * Set on every container Cairn creates. Swift clears a container's metadata when deleting it, so a
 * container without the mark was deleted (and revived by a late object row) or made around Cairn.
 * Not a `c-` name, so it never shows among Cairn's metadata.
 */
export const CONTAINER_MARK = 'x-container-meta-cairn';

/**
 * Content types travel with their `swift_*` parameters renamed: Swift refuses them from clients
 * (it keeps `swift_bytes` for its own large objects), while Cairn's SLO middleware stores one.
 * Every parameter whose name starts with `swift_` or `cairn_` gets a `cairn_` prefix, so decoding
 * drops exactly one `cairn_` from each parameter that has it.
 */
export function encodeContentType(type: string): string {
  return type.replace(/(;\s*)((?:swift|cairn)_)/gi, '$1cairn_$2');
}

export function decodeContentType(type: string): string {
  return type.replace(/(;\s*)cairn_/gi, '$1');
}

export type MetaKind = 'account' | 'container' | 'object';

const NAME_MARK = 'c-';
const headerPrefix = (kind: MetaKind): string => `x-${kind}-meta-`;

function escapeBytes(bytes: Buffer, keep: (b: number, i: number) => boolean): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out += keep(b, i) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Bytes of `%XX`-escaped text; other characters stand for their own byte (latin1). */
function unescapeBytes(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(text.charCodeAt(i) & 0xff);
  }
  return Buffer.from(out);
}

/** Header-name part for a metadata name. */
export function encodeMetaName(name: string): string {
  const keep = (b: number): boolean => (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d;
  return NAME_MARK + escapeBytes(Buffer.from(name, 'utf8'), keep);
}

/** The metadata name of a header-name part, undefined when the header is not Cairn's. */
export function decodeMetaName(part: string): string | undefined {
  const lower = part.toLowerCase();
  if (!lower.startsWith(NAME_MARK)) return undefined;
  return unescapeBytes(lower.slice(NAME_MARK.length)).toString('utf8');
}

/** Header value (ASCII) for a metadata value. */
export function encodeMetaValue(value: string): string {
  if (value === '') return '%';
  const bytes = Buffer.from(value, 'utf8');
  const last = bytes.length - 1;
  return escapeBytes(bytes, (b, i) => (b > 0x20 && b < 0x7f && b !== 0x25) || (b === 0x20 && i !== 0 && i !== last));
}

/** The metadata value of a header value as node:http hands it over (latin1). */
export function decodeMetaValue(raw: string): string {
  if (raw === '%') return '';
  return unescapeBytes(raw).toString('utf8');
}

/** Headers setting `meta` (and removing `remove`) on an upstream account, container or object. */
export function metaHeaders(kind: MetaKind, meta: Metadata, remove: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of remove) if (!(name in meta)) out[`x-remove-${kind}-meta-${encodeMetaName(name)}`] = 'x';
  for (const [name, value] of Object.entries(meta)) out[headerPrefix(kind) + encodeMetaName(name)] = encodeMetaValue(value);
  return out;
}

/** Cairn's metadata among an upstream response's headers. */
export function metaFromHeaders(kind: MetaKind, headers: Record<string, string | string[] | undefined>): Metadata {
  const prefix = headerPrefix(kind);
  const out: Metadata = {};
  for (const [header, value] of Object.entries(headers)) {
    if (!header.startsWith(prefix) || typeof value !== 'string') continue;
    const name = decodeMetaName(header.slice(prefix.length));
    if (name !== undefined) out[name] = decodeMetaValue(value);
  }
  return out;
}
