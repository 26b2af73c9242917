// Account ACLs, as tempauth has them (`/info` `tempauth.account_acls`): the account's owner (or an
// `admin` of it) sets `X-Account-Access-Control: {"admin": [...], "read-write": [...],
// "read-only": [...]}` on the account; each entry names a caller as `<project>:<user>` (names or
// ids), `<project>` or the storage account. `read-only` may GET/HEAD anything in the account,
// `read-write` may also change containers and objects (not the account), `admin` has the owner's
// rights, ACLs included. This middleware sits before `auth` and gives it a way to ask for the
// caller's level; `{}` removes the ACL. Only owners see the header.
import type { IncomingHttpHeaders } from 'node:http';
import { CairnError } from '../../core/errors';
import type { AuthContext } from '../../core/identity/types';
import type { Metadata } from '../../core/objectstore/backend';
import { headerText } from './metadata';
import type { MetadataHeaders, Middleware, StorageDeps, StorageRequest } from './pipeline';
import { SYS } from './sysmeta';

export type AccountAccess = 'admin' | 'read-write' | 'read-only';

/** Strongest first: a caller named under several keys gets the strongest. */
const LEVELS: readonly AccountAccess[] = ['admin', 'read-write', 'read-only'];

export const ACCOUNT_ACL_HEADER = 'X-Account-Access-Control';

/**
 * Validates a header value into the stored form (Swift's format_acl v2: compact JSON, sorted
 * keys); '' means "no ACL". Throws Swift's 400s.
 */
export function cleanAccountAcl(raw: string): string {
  const bad = (reason: string): CairnError => new CairnError('storage.bad_acl', { header: ACCOUNT_ACL_HEADER, reason });
  const text = headerText(raw.trim());
  if (text === undefined) throw bad('not UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('Syntax error');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('Syntax error');
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(LEVELS as readonly string[]).includes(key)) throw bad(`Key '${key}' not recognized`);
    if (!Array.isArray(value)) throw bad(`Value for key '${key}' must be a list`);
    if (!value.every((v) => typeof v === 'string')) throw bad(`Elements of '${key}' list must be strings`);
    if (value.length) out[key] = value as string[];
  }
  const keys = Object.keys(out).sort();
  return keys.length ? JSON.stringify(Object.fromEntries(keys.map((k) => [k, out[k]]))) : '';
}

/** The change an account POST asks for, as system metadata; undefined without the header. */
export function accountAclUpdate(headers: IncomingHttpHeaders): MetadataHeaders | undefined {
  const raw = headers[ACCOUNT_ACL_HEADER.toLowerCase()];
  if (raw === undefined) return undefined;
  const value = cleanAccountAcl(String(raw));
  return value ? { set: { [SYS.accountAcl]: value }, remove: [] } : { set: {}, remove: [SYS.accountAcl] };
}

function names(who: AuthContext, account: string): Set<string> {
  const out = new Set<string>([account, who.projectId, who.projectName]);
  for (const p of [who.projectId, who.projectName]) for (const u of [who.userId, who.userName]) out.add(`${p}:${u}`);
  return out;
}

/** The level an account's stored ACL gives `who`; undefined when it names them nowhere. */
export function accountAccessOf(meta: Metadata, who: AuthContext, account: string): AccountAccess | undefined {
  const stored = meta[SYS.accountAcl];
  if (!stored) return undefined;
  let acl: Record<string, string[]>;
  try {
    acl = JSON.parse(stored) as Record<string, string[]>;
  } catch {
    return undefined;
  }
  const mine = names(who, account);
  return LEVELS.find((level) => (acl[level] ?? []).some((entry) => mine.has(entry)));
}

/** Whether a level lets a method through on a target of this kind. */
export function accountAccessAllows(level: AccountAccess, method: string, kind: 'account' | 'container' | 'object'): boolean {
  if (level === 'admin') return true;
  if (method === 'GET' || method === 'HEAD') return true;
  return level === 'read-write' && kind !== 'account';
}

export function accountAcl(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'account-acl',
    after: ['constraints'],
    info: { tempauth: { account_acls: true } },
    async handle(req: StorageRequest, next) {
      const t = req.target;
      if (t && t.account.startsWith('AUTH_')) {
        req.accountAccess = async (who) => accountAccessOf((await deps.backend.headAccount(t.account)).meta, who, t.account);
      }
      await next();
    },
  };
}
