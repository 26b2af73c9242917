// TempURL: `?temp_url_sig=<sig>&temp_url_expires=<time>` lets anyone holding the URL do one
// method on one object (or on every object under `temp_url_prefix`) until it expires, without a
// token. The signature is an HMAC (sha1, sha256 or sha512; hex, or `<digest>:<base64>`) of
// "<METHOD>\n<expires>\n<path>" (`prefix:<path to prefix>` for prefix URLs) under one of the
// account's or the container's `Temp-URL-Key(-2)` metadata. A bad or expired URL is 401; a good
// one is authorized here, before `auth`, and GETs come back as attachments
// (`Content-Disposition`, overridable with `filename=` and `inline`).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CairnError } from '../../core/errors';
import type { Metadata } from '../../core/objectstore/backend';
import { headerValue } from './metadata';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'] as const;
/** Headers that would let a TempURL upload point at data the URL does not grant (Swift's list). */
const DISALLOWED_HEADERS = ['X-Object-Manifest', 'X-Symlink-Target'] as const;
const DIGESTS = { 40: 'sha1', 64: 'sha256', 128: 'sha512' } as const;
type Digest = 'sha1' | 'sha256' | 'sha512';

export const TEMPURL_INFO = {
  methods: [...METHODS],
  incoming_remove_headers: [],
  incoming_allow_headers: [],
  outgoing_remove_headers: ['x-object-meta-*'],
  outgoing_allow_headers: ['x-object-meta-public-*'],
  allowed_digests: ['sha1', 'sha256', 'sha512'],
};

/** What a TempURL holder sees of the metadata: Swift's default hides all but `Public-*` names. */
function outgoingMeta(meta: Metadata): Metadata {
  return Object.fromEntries(Object.entries(meta).filter(([k]) => k.includes(':') || k.startsWith('public-')));
}

/** The expiry as Unix seconds: an integer, or ISO 8601 UTC (`2026-11-25T12:00:00Z`). */
function parseExpires(raw: string): number | undefined {
  if (/^\d+$/.test(raw)) return Number(raw);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(raw)) return Date.parse(raw) / 1000;
  return undefined;
}

/** The signature as bytes and its digest; undefined when it has no recognised form. */
function parseSig(raw: string): { digest: Digest; bytes: Buffer } | undefined {
  const colon = raw.indexOf(':');
  if (colon !== -1) {
    const digest = raw.slice(0, colon);
    if (digest !== 'sha1' && digest !== 'sha256' && digest !== 'sha512') return undefined;
    const b64 = raw.slice(colon + 1).replace(/-/g, '+').replace(/_/g, '/');
    if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) return undefined;
    return { digest, bytes: Buffer.from(b64, 'base64') };
  }
  const digest = DIGESTS[raw.length as keyof typeof DIGESTS];
  if (!digest || !/^[0-9a-fA-F]+$/.test(raw)) return undefined;
  return { digest, bytes: Buffer.from(raw, 'hex') };
}

function keysOf(meta: Metadata | undefined): string[] {
  if (!meta) return [];
  return [meta['temp-url-key'], meta['temp-url-key-2']].filter((k): k is string => typeof k === 'string' && k.length > 0);
}

/** Content-Disposition of a TempURL GET, as Swift writes it. */
function disposition(query: URLSearchParams, object: string): string {
  const inline = query.has('inline');
  const given = query.get('filename');
  if (inline && given === null) return 'inline';
  const name = given ?? object.slice(object.lastIndexOf('/') + 1);
  const ascii = name.replace(/["\\]/g, '_').replace(/[^\x20-\x7e]/g, '_');
  return `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function tempurl(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'tempurl',
    after: ['constraints'],
    info: { tempurl: TEMPURL_INFO },
    async handle(req: StorageRequest, next) {
      const { ctx } = req;
      const t = req.target;
      const sigRaw = ctx.query.get('temp_url_sig');
      const expRaw = ctx.query.get('temp_url_expires');
      if (!t || (sigRaw === null && expRaw === null)) return next();
      const invalid = (): CairnError => new CairnError('storage.tempurl_invalid');
      if (t.kind !== 'object' || !t.account.startsWith('AUTH_') || sigRaw === null || expRaw === null) throw invalid();
      if (!(METHODS as readonly string[]).includes(ctx.method)) throw invalid();
      const expires = parseExpires(expRaw);
      const sig = parseSig(sigRaw);
      if (expires === undefined || sig === undefined || expires <= Date.now() / 1000) throw invalid();
      const prefix = ctx.query.get('temp_url_prefix');
      if (prefix !== null && !t.object.startsWith(prefix)) throw invalid();
      const path = prefix !== null ? `prefix:/v1/${t.account}/${t.container}/${prefix}` : `/v1/${t.account}/${t.container}/${t.object}`;
      // A HEAD may use a URL signed for GET, PUT or POST, as in Swift.
      const methods = ctx.method === 'HEAD' ? ['HEAD', 'GET', 'PUT', 'POST'] : [ctx.method];
      const [account, container] = await Promise.all([deps.backend.headAccount(t.account), deps.backend.headContainer(t.account, t.container)]);
      // A container's key grants that container only (segments elsewhere stay out of reach).
      const keys = [...keysOf(account.meta).map((key) => ({ key, container: undefined })), ...keysOf(container?.meta).map((key) => ({ key, container: t.container }))];
      const match = keys.find(({ key }) =>
        methods.some((m) => {
          // Signed over the expiry as an integer: an ISO 8601 form of the same instant is the same URL.
          const mac = createHmac(sig.digest, key).update(`${m}\n${expires}\n${path}`).digest();
          return mac.length === sig.bytes.length && timingSafeEqual(mac, sig.bytes);
        }),
      );
      if (!match) throw invalid();
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        const bad = DISALLOWED_HEADERS.find((h) => ctx.req.headers[h.toLowerCase()] !== undefined);
        if (bad) throw new CairnError('storage.tempurl_header_not_allowed', { header: bad });
      }
      req.authorized = { by: 'tempurl', ...(match.container !== undefined ? { container: match.container } : {}) };
      (req.readers ??= []).push(async (reader) => {
        if (ctx.method === 'GET') {
          ctx.res.setHeader('Content-Disposition', headerValue(disposition(ctx.query, t.object)));
          ctx.res.setHeader('Expires', new Date(expires * 1000).toUTCString());
        }
        return { ...reader, info: { ...reader.info, meta: outgoingMeta(reader.info.meta) } };
      });
      await next();
    },
  };
}
