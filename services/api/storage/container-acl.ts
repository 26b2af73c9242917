// Container ACLs, Swift's way. `X-Container-Read` lists who may read objects (`.r:*` anyone,
// `.r:<host>`/`.r:.<domain>`/`.r:-<host>` by Referer, `<project>:<user>` a named caller) and, with
// `.rlistings`, list the container; `X-Container-Write` names callers (`<project>:<user>`, ids or
// names, `*` for any) who may PUT, POST and DELETE objects. Only the account's owner sets them
// (the owner alone may write containers; container.ts stores the headers through aclUpdate). This
// middleware sits before `auth` and gives it a way to ask "does an ACL let this caller in?", so
// anything it does not grant still ends in auth's 401/403.
import type { IncomingHttpHeaders } from 'node:http';
import { CairnError } from '../../core/errors';
import type { AuthContext } from '../../core/identity/types';
import type { ObjectBackend } from '../../core/objectstore/backend';
import { headerText } from './metadata';
import type { MetadataHeaders, Middleware, StorageDeps, StorageRequest } from './pipeline';
import { SYS } from './sysmeta';

export type Access = 'read' | 'list' | 'write';

/** Normalises an ACL header value (`a, b` → `a,b`); throws Swift's 400 for what cannot be an ACL. */
export function cleanAcl(name: 'X-Container-Read' | 'X-Container-Write', raw: string): string {
  const text = headerText(raw);
  if (text === undefined) throw new CairnError('storage.bad_acl', { header: name, reason: 'not UTF-8' });
  const out: string[] = [];
  for (const part of text.split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    if (entry.startsWith('.')) {
      if (name === 'X-Container-Write') throw new CairnError('storage.bad_acl', { header: name, reason: `referrers not allowed in write ACL: ${entry}` });
      if (entry === '.rlistings') out.push(entry);
      else if (/^\.r(ef|eferer|eferrer)?:/.test(entry)) {
        let host = entry.slice(entry.indexOf(':') + 1).trim();
        if (!host || host === '-') throw new CairnError('storage.bad_acl', { header: name, reason: `no host given: ${entry}` });
        // `*.example.com` means the same as `.example.com` (any host in that domain), as in Swift.
        const deny = host.startsWith('-') ? '-' : '';
        const bare = host.slice(deny.length);
        if (bare.length > 1 && bare.startsWith('*')) host = `${deny}${bare.slice(1)}`;
        out.push(`.r:${host}`);
      } else throw new CairnError('storage.bad_acl', { header: name, reason: `unknown designator: ${entry}` });
    } else out.push(entry);
  }
  return out.join(',');
}

function referrerAllowed(referer: string | undefined, entries: string[]): boolean {
  let host = '';
  try {
    if (referer) host = new URL(referer).hostname.toLowerCase();
  } catch {
    host = '';
  }
  let allowed = false;
  for (const e of entries) {
    if (!e.startsWith('.r:')) continue;
    let m = e.slice(3).toLowerCase();
    const deny = m.startsWith('-');
    if (deny) m = m.slice(1);
    // The last matching entry wins, so `.r:*,.r:-bad.example` shuts one host out.
    if (m === '*' || (host && (m === host || (m.startsWith('.') && host.endsWith(m))))) allowed = !deny;
  }
  return allowed;
}

function userAllowed(who: AuthContext, entries: string[]): boolean {
  return entries.some((e) => {
    if (e.startsWith('.')) return false;
    const colon = e.indexOf(':');
    // A bare project (name or id; tempauth's account group) stands for every user of it.
    if (colon === -1) return e === who.projectId || e === who.projectName;
    if (colon === 0) return false;
    const project = e.slice(0, colon);
    const user = e.slice(colon + 1);
    const projectOk = project === '*' || project === who.projectId || project === who.projectName;
    const userOk = user === '*' || user === who.userId || user === who.userName;
    return projectOk && userOk;
  });
}

/** Whether the container's ACLs give `who` (undefined: anonymous) the access asked for. */
export async function aclAllows(backend: ObjectBackend, headers: IncomingHttpHeaders, account: string, container: string, access: Access, who: AuthContext | undefined): Promise<boolean> {
  const info = await backend.headContainer(account, container);
  if (!info) return false;
  const acl = (info.meta[access === 'write' ? SYS.write : SYS.read] ?? '').split(',').filter(Boolean);
  if (acl.length === 0) return false;
  if (who && userAllowed(who, acl)) return true;
  if (access === 'write') return false;
  if (access === 'list' && !acl.includes('.rlistings')) return false;
  return referrerAllowed(typeof headers.referer === 'string' ? headers.referer : undefined, acl);
}

/**
 * Whether this request may read `container` of `account` (segments of a large object, the source
 * of a copy): its owner and TempURL holders may read their whole account; others need the ACL.
 */
export async function mayRead(req: StorageRequest, backend: ObjectBackend, account: string, container: string): Promise<boolean> {
  const target = req.target;
  if (target && account === target.account && (req.authorized?.by === 'token' || req.authorized?.by === 'account-acl')) return true;
  // The caller's own account, whatever let the request in (a copy into another account, say).
  if (req.ownedAccount !== undefined && account === req.ownedAccount) return true;
  if (target && account === target.account && req.authorized?.by === 'tempurl' && (req.authorized.container ?? container) === container) return true;
  // A synced SLO manifest names segments anywhere in its account; checking them is the only read
  // a sync grant reaches (container-sync.ts refuses copies), as Swift's sync skips the check entirely.
  if (target && account === target.account && req.authorized?.by === 'container-sync') return true;
  return aclAllows(backend, req.ctx.req.headers, account, container, 'read', req.ctx.auth);
}

/** Throws 401 (anonymous) or 403 unless `mayRead`. */
export async function requireRead(req: StorageRequest, backend: ObjectBackend, account: string, container: string): Promise<void> {
  if (await mayRead(req, backend, account, container)) return;
  throw new CairnError(req.ctx.auth ? 'storage.account_forbidden' : 'storage.unauthorized');
}

/** Throws 401 (anonymous) or 403 unless the caller owns `account` or its write ACL names them. */
export async function requireWrite(req: StorageRequest, backend: ObjectBackend, account: string, container: string): Promise<void> {
  const who = req.ctx.auth;
  if (req.ownedAccount !== undefined && account === req.ownedAccount) return;
  // The owner's equal (token, or an account ACL's admin) or a read-write account ACL, in the request's account.
  if (req.target && account === req.target.account && (req.authorized?.by === 'token' || req.accountLevel === 'read-write')) return;
  if (req.authorized?.by === 'tempurl' && req.target && account === req.target.account && (req.authorized.container ?? container) === container) return;
  if (await aclAllows(backend, req.ctx.req.headers, account, container, 'write', who)) return;
  throw new CairnError(who ? 'storage.account_forbidden' : 'storage.unauthorized');
}

/**
 * The ACL changes a container PUT or POST asks for, as system metadata. Called by the container
 * middleware, i.e. after auth, so only the owner's requests get as far as validation.
 */
export function aclUpdate(headers: IncomingHttpHeaders): MetadataHeaders {
  const update: MetadataHeaders = { set: {}, remove: [] };
  const pairs = [
    ['x-container-read', 'x-remove-container-read', 'X-Container-Read', SYS.read],
    ['x-container-write', 'x-remove-container-write', 'X-Container-Write', SYS.write],
  ] as const;
  for (const [h, removeHeader, name, key] of pairs) {
    const raw = headers[h];
    if (headers[removeHeader] !== undefined) update.remove.push(key);
    else if (raw !== undefined) {
      const value = cleanAcl(name, String(raw));
      if (value) update.set[key] = value;
      else update.remove.push(key);
    }
  }
  return update;
}

/** What access a request to a container or object needs; undefined when no ACL can grant it. */
function accessFor(req: StorageRequest): Access | undefined {
  const t = req.target;
  const m = req.ctx.method;
  if (!t || t.kind === 'account') return undefined;
  if (t.kind === 'container') return m === 'GET' || m === 'HEAD' ? 'list' : undefined;
  if (m === 'GET' || m === 'HEAD') return 'read';
  // A COPY reads its target; copy.ts checks write access to the destination itself.
  if (m === 'COPY') return 'read';
  if (m === 'PUT' || m === 'POST' || m === 'DELETE') return 'write';
  return undefined;
}

export function containerAcl(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'container-acl',
    after: ['constraints'],
    async handle(req, next) {
      const t = req.target;
      if (!t) return next();
      const headers = req.ctx.req.headers;
      const access = accessFor(req);
      if (access && t.kind !== 'account') {
        req.aclGrants = (who) => aclAllows(deps.backend, headers, t.account, t.container, access, who);
      }
      await next();
    },
  };
}
