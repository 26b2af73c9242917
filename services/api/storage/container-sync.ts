// Container sync, Swift's way. The owner of a container sets `X-Container-Sync-To` (where to push:
// a full URL to an allowed host, or `//REALM/CLUSTER/<account>/<container>` with realms from the
// config) and `X-Container-Sync-Key` (a secret both containers share); container.ts stores them as
// system metadata through syncUpdate, and container-sync-daemon.ts pushes the objects.
// This middleware is the receiving side: an object PUT, POST or DELETE carrying the container's
// key (`X-Container-Sync-Key` + `X-Timestamp`, tempauth/keystoneauth's rule) or a realm signature
// (`X-Container-Sync-Auth: <realm> <nonce> <sig>`, the container_sync middleware's) is let in
// without a token, for that container only, and never overwrites a newer object.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ContainerSyncConfig, SyncRealm } from '../../core/config';
import type { Queryable } from '../../core/db/database';
import { CairnError } from '../../core/errors';
import { sendEmpty } from '../http/respond';
import { headerText } from './metadata';
import type { MetadataHeaders, Middleware, StorageDeps } from './pipeline';
import { SYS } from './sysmeta';

/** Where a validated `X-Container-Sync-To` points; `realm` is set for the realm form. */
export interface SyncDestination {
  /** `<scheme>://<host>[:port]/…/<account>/<container>`, no trailing slash. */
  url: string;
  realm?: { name: string; key: string };
}

/** Methods a sync key or signature lets in: what a sync pass sends. */
const SYNC_METHODS = ['PUT', 'POST', 'DELETE'];

/** Python's repr() of a str, as Swift's messages quote values with %r. */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${quote}${out}${quote}`;
}

/** Python's urllib quote() (safe `/`): how Swift encodes the paths it signs. */
export function pyQuote(s: string): string {
  return encodeURIComponent(s)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The parts of a URL as Python's urlparse splits them (enough for validate_sync_to). */
function urlParts(value: string): { scheme: string; hostname: string; path: string; extras: boolean } {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value);
  const scheme = m ? m[1].toLowerCase() : '';
  let rest = m ? value.slice(m[0].length) : value;
  let netloc = '';
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?#]/);
    netloc = end === -1 ? rest.slice(2) : rest.slice(2, end + 2);
    rest = end === -1 ? '' : rest.slice(end + 2);
  }
  const q = rest.search(/[?#]/);
  let path = q === -1 ? rest : rest.slice(0, q);
  const hasQuery = q !== -1;
  // `;params` of the last segment.
  const hasParams = path.slice(path.lastIndexOf('/') + 1).includes(';');
  if (hasParams) path = path.slice(0, path.lastIndexOf(';'));
  const host = netloc.slice(netloc.lastIndexOf('@') + 1);
  const hostname = (host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:[^:]*$/, '')).toLowerCase();
  return { scheme, hostname, path, extras: hasParams || hasQuery };
}

/**
 * Checks an `X-Container-Sync-To` value as Swift's validate_sync_to does (same 400 texts); undefined
 * for a value that clears the setting.
 */
export function validateSyncTo(value: string, config: ContainerSyncConfig): SyncDestination | undefined {
  const bad = (reason: string): CairnError => new CairnError('storage.bad_sync_to', { reason });
  const trimmed = value.replace(/\/+$/, '');
  if (!trimmed) return undefined;
  if (trimmed.startsWith('//')) {
    const parts = trimmed.slice(2).split('/');
    if (parts.length !== 4) throw bad(`Invalid X-Container-Sync-To format ${pyRepr(value)}`);
    const [realmName, cluster, account, container] = parts;
    const realm: SyncRealm | undefined = config.realms[realmName.toUpperCase()];
    if (!realm?.key) throw bad(`No realm key for ${pyRepr(realmName)}`);
    const endpoint = realm.clusters[cluster.toUpperCase()];
    if (!endpoint) throw bad(`No cluster endpoint for ${pyRepr(realmName)} ${pyRepr(cluster)}`);
    return { url: `${endpoint.replace(/\/+$/, '')}/${account}/${container}`, realm: { name: realmName.toUpperCase(), key: realm.key } };
  }
  const p = urlParts(trimmed);
  if (p.scheme !== 'http' && p.scheme !== 'https') throw bad(`Invalid scheme ${pyRepr(p.scheme)} in X-Container-Sync-To, must be "//", "http", or "https".`);
  if (!p.path) throw bad('Path required in X-Container-Sync-To');
  if (p.extras || trimmed.includes('#')) throw bad('Params, queries, and fragments not allowed in X-Container-Sync-To');
  if (!config.allowedHosts.includes(p.hostname)) throw bad(`Invalid host ${pyRepr(p.hostname)} in X-Container-Sync-To`);
  return { url: trimmed };
}

/**
 * The sync settings a container PUT or POST asks for, as system metadata (the owner's only:
 * container.ts drops them from anyone else, as Swift's swift_owner_headers). An empty value or
 * `X-Remove-Container-Sync-*` clears one; a value beats a remove sent with it, as in Swift.
 */
export function syncUpdate(headers: IncomingHttpHeaders, config: ContainerSyncConfig): MetadataHeaders {
  const update: MetadataHeaders = { set: {}, remove: [] };
  const pairs = [
    ['x-container-sync-to', 'x-remove-container-sync-to', SYS.syncTo],
    ['x-container-sync-key', 'x-remove-container-sync-key', SYS.syncKey],
  ] as const;
  for (const [h, removeHeader, key] of pairs) {
    const raw = headers[h];
    if (raw === undefined) {
      if (headers[removeHeader] !== undefined) update.remove.push(key);
      continue;
    }
    const text = headerText(String(raw).trim());
    if (text === undefined) throw new CairnError('storage.metadata_not_utf8');
    if (h === 'x-container-sync-to' && validateSyncTo(text, config) === undefined) update.remove.push(key);
    else if (text === '') update.remove.push(key);
    else update.set[key] = text;
  }
  return update;
}

/** Swift's container_sync_realms get_sig: hex HMAC-SHA1 of the request under the realm key. */
export function realmSignature(method: string, path: string, timestamp: string, nonce: string, realmKey: string, userKey: string): string {
  return createHmac('sha1', realmKey).update(`${method}\n${path}\n${timestamp}\n${nonce}\n${userKey}`).digest('hex');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** An `X-Timestamp` as microseconds (`1700000000.12345`, optionally `_<offset>`); throws Swift's 400. */
export function parseXTimestamp(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:_[0-9a-f]+)?$/.exec(raw.trim());
  if (!m) throw new CairnError('storage.bad_timestamp', { value: raw });
  return Math.round(Number(m[1]) * 1e6);
}

/** Swift keeps five decimals of a timestamp: compare at that granularity. */
const tick = (us: number): number => Math.floor(us / 10);

/** Remembers a container whose owner configured sync, so the sync pass finds it on any backend. */
export async function registerSyncContainer(db: Queryable, account: string, container: string): Promise<void> {
  await db.query('INSERT INTO os_sync_containers (account, container) VALUES ($1, $2) ON CONFLICT DO NOTHING', [account, container]);
}

/** Container sync's `/info` entry: the realms and their clusters, never their keys or endpoints. */
export function syncInfo(config: ContainerSyncConfig): Record<string, unknown> {
  const realms: Record<string, unknown> = {};
  for (const [name, realm] of Object.entries(config.realms)) {
    const clusters = Object.keys(realm.clusters);
    if (clusters.length) realms[name] = { clusters: Object.fromEntries(clusters.map((c) => [c, {}])) };
  }
  return { container_sync: { realms } };
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function containerSync(deps: StorageDeps): Middleware {
  const config = deps.config.containerSync;
  return {
    name: 'container-sync',
    after: ['constraints'],
    info: syncInfo(config),
    async handle(req, next) {
      const t = req.target;
      const { ctx } = req;
      const headers = ctx.req.headers;
      const sigHeader = one(headers['x-container-sync-auth']);
      const keyHeader = one(headers['x-container-sync-key']);
      if (!t || t.kind !== 'object' || req.authorized || !t.account.startsWith('AUTH_') || (sigHeader === undefined && keyHeader === undefined)) return next();
      const stamp = one(headers['x-timestamp']);
      const info = await deps.backend.headContainer(t.account, t.container);
      const userKey = info?.meta[SYS.syncKey];
      if (sigHeader !== undefined) {
        // A realm signature that does not verify is refused outright (Swift's container_sync).
        const parts = sigHeader.trim().split(/\s+/);
        const realm = parts.length === 3 ? config.realms[parts[0].toUpperCase()] : undefined;
        const path = `/v1/${pyQuote(t.account)}/${pyQuote(t.container)}/${pyQuote(t.object)}`;
        const valid =
          realm !== undefined &&
          userKey !== undefined &&
          [realm.key, realm.key2]
            .filter((k): k is string => k !== undefined)
            .some((k) => sameText(parts[2], realmSignature(ctx.method, path, stamp ?? '0', parts[1], k, userKey)));
        if (!valid) throw new CairnError('storage.sync_auth_invalid');
      } else if (userKey === undefined || stamp === undefined || !sameText(keyHeader!, userKey)) {
        // Not the container's key: an ordinary request, which auth lets in or refuses (401).
        return next();
      }
      // A copy would read other containers with the sync grant: never something a sync sends.
      if (!SYNC_METHODS.includes(ctx.method) || headers['x-copy-from'] !== undefined) return next();
      const incoming = parseXTimestamp(stamp ?? '0');
      req.authorized = { by: 'container-sync', container: t.container };
      // Last writer wins by the source's timestamp: an older sync write leaves a newer object be
      // (a PUT is accepted and dropped, as Swift's proxy answers 202; a DELETE or POST is 409).
      const current = await deps.backend.headObject(t.account, t.container, t.object);
      if (current) {
        const synced = current.meta[SYS.syncTimestamp];
        const existing = synced !== undefined ? Number(synced) : current.modifiedAt;
        if (tick(incoming) <= tick(existing)) {
          if (ctx.method === 'PUT') return sendEmpty(ctx.res, 202, { 'Content-Type': 'text/html; charset=UTF-8' });
          throw new CairnError('storage.sync_conflict');
        }
      }
      if (ctx.method !== 'DELETE') {
        req.sysmeta ??= { set: {}, remove: [] };
        req.sysmeta.set[SYS.syncTimestamp] = String(incoming);
      }
      await next();
    },
  };
}
