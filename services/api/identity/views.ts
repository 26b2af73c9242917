// Keystone v3 JSON shapes of tokens, projects, users and errors: what keystoneauth, the openstack
// CLI and python-keystoneclient read (spec/function-api.md §1.3).
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { CairnError, isCairnError } from '../../core/errors';
import { DEFAULT_DOMAIN, type Identity, type Project, type TokenInfo, type User } from '../../core/identity';
import type { RequestContext } from '../http/context';
import { sendJson } from '../http/respond';

/** Keystone's timestamp shape: microseconds and `Z` (`2030-01-01T00:00:00.000000Z`). */
export function keystoneTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Stable role ids, the same on every replica (Keystone stores random ones once). */
export function roleId(role: string): string {
  return createHash('sha256').update(`role\0${role}`).digest('hex').slice(0, 32);
}

export function v3Url(ctx: RequestContext): string {
  return `${ctx.baseUrl.replace(/\/+$/, '')}/identity/v3`;
}

const domainView = { id: DEFAULT_DOMAIN.id, name: DEFAULT_DOMAIN.name };

export function tokenView(ctx: RequestContext, identity: Identity, info: TokenInfo, withCatalog: boolean): Record<string, unknown> {
  const token: Record<string, unknown> = {
    methods: info.methods,
    user: { id: info.userId, name: info.userName, domain: domainView, password_expires_at: null },
    audit_ids: info.auditIds,
    expires_at: keystoneTime(info.expiresAt),
    issued_at: keystoneTime(info.issuedAt),
  };
  if (info.project) {
    token.project = { id: info.project.id, name: info.project.name, domain: domainView };
    token.is_domain = false;
    token.roles = info.roles.map((r) => ({ id: roleId(r), name: r }));
    if (withCatalog) token.catalog = identity.catalog(ctx.baseUrl, info.project.id);
  }
  return { token };
}

export function projectView(ctx: RequestContext, p: Project): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    domain_id: p.domainId,
    description: p.description,
    enabled: p.enabled,
    parent_id: p.domainId,
    is_domain: false,
    tags: [],
    options: {},
    links: { self: `${v3Url(ctx)}/projects/${p.id}` },
  };
}

export function userView(ctx: RequestContext, u: User): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: u.id,
    name: u.name,
    domain_id: u.domainId,
    enabled: u.enabled,
    password_expires_at: null,
    options: {},
    links: { self: `${v3Url(ctx)}/users/${u.id}` },
  };
  if (u.defaultProjectId) view.default_project_id = u.defaultProjectId;
  return view;
}

export function domainResource(ctx: RequestContext): Record<string, unknown> {
  return { ...domainView, description: 'The default domain', enabled: true, tags: [], options: {}, links: { self: `${v3Url(ctx)}/domains/${DEFAULT_DOMAIN.id}` } };
}

/** A collection body with Keystone's `links` block (no paging: every collection here is small). */
export function collection(ctx: RequestContext, key: string, items: unknown[]): Record<string, unknown> {
  const query = ctx.rawQuery ? `?${ctx.rawQuery}` : '';
  return { [key]: items, links: { self: `${ctx.baseUrl.replace(/\/+$/, '')}${ctx.path}${query}`, previous: null, next: null } };
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Keystone's error body; 401s name this Keystone in `WWW-Authenticate`, as keystonemiddleware expects. */
export function sendKeystoneError(ctx: RequestContext, err: unknown): void {
  const e = isCairnError(err) ? err : new CairnError('internal', { requestId: ctx.requestId }, { cause: err });
  if (!isCairnError(err)) console.error(`[identity] ${ctx.requestId}:`, err);
  const res: ServerResponse = ctx.res;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  if (e.status === 401) headers['WWW-Authenticate'] = `Keystone uri="${ctx.baseUrl.replace(/\/+$/, '')}/identity"`;
  const body = { error: { code: e.status, title: TITLES[e.status] ?? 'Error', message: e.message, identifier: e.code } };
  if (ctx.method === 'HEAD') {
    res.writeHead(e.status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': 0 });
    res.end();
    return;
  }
  sendJson(res, e.status, body, headers);
}
