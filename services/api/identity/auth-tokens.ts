// /identity/v3/auth/tokens: issue (password or token method), validate, revoke. The request body is
// checked field by field before anything is looked up; a 400 names the field.
import { CairnError } from '../../core/errors';
import type { DomainRef, Identity, ProjectRef, TokenInfo, UserRef } from '../../core/identity';
import { readJsonObject } from '../http/body';
import type { RequestContext } from '../http/context';
import { sendEmpty, sendJson } from '../http/respond';
import { tokenView } from './views';

/** Auth requests are small; anything bigger is not one. @default 64 KiB */
const AUTH_BODY_MAX = 64 * 1024;

type Scope = { kind: 'default' } | { kind: 'unscoped' } | { kind: 'project'; ref: ProjectRef };

interface AuthRequest {
  methods: string[];
  password?: { user: UserRef; password: string };
  token?: string;
  scope: Scope;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function object(v: unknown, field: string): Json {
  if (v === undefined) throw new CairnError('request.missing_param', { params: field });
  if (!isObject(v)) throw new CairnError('request.invalid_param', { name: field, reason: 'expected an object' });
  return v;
}

function optString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 1024) throw new CairnError('request.invalid_param', { name: field, reason: 'expected a non-empty string' });
  return v;
}

function domainRef(v: unknown, field: string): DomainRef | undefined {
  if (v === undefined) return undefined;
  const d = object(v, field);
  return { id: optString(d.id, `${field}.id`), name: optString(d.name, `${field}.name`) };
}

/** `{id}` or `{name, domain}`, as Keystone takes users and projects. */
function namedRef(v: unknown, field: string): { id?: string; name?: string; domain?: DomainRef } {
  const o = object(v, field);
  const ref = { id: optString(o.id, `${field}.id`), name: optString(o.name, `${field}.name`), domain: domainRef(o.domain, `${field}.domain`) };
  if (ref.id === undefined && ref.name === undefined) throw new CairnError('request.missing_param', { params: `${field}.id or ${field}.name` });
  return ref;
}

export function parseAuthRequest(body: Json): AuthRequest {
  const auth = object(body.auth, 'auth');
  const ident = object(auth.identity, 'auth.identity');
  const methods = ident.methods;
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === 'string')) {
    throw new CairnError('request.invalid_param', { name: 'auth.identity.methods', reason: 'expected a non-empty list of method names' });
  }
  const out: AuthRequest = { methods: methods as string[], scope: { kind: 'default' } };
  for (const m of out.methods) {
    if (m === 'password') {
      const user = object(object(ident.password, 'auth.identity.password').user, 'auth.identity.password.user');
      const password = user.password;
      if (typeof password !== 'string') throw new CairnError('request.invalid_param', { name: 'auth.identity.password.user.password', reason: 'expected a string' });
      out.password = { user: namedRef(user, 'auth.identity.password.user'), password };
    } else if (m === 'token') {
      out.token = optString(object(ident.token, 'auth.identity.token').id, 'auth.identity.token.id');
      if (!out.token) throw new CairnError('request.missing_param', { params: 'auth.identity.token.id' });
    } else {
      throw new CairnError('auth.unknown_method', { method: m });
    }
  }
  const scope = auth.scope;
  if (scope === 'unscoped') out.scope = { kind: 'unscoped' };
  else if (scope !== undefined) {
    const s = object(scope, 'auth.scope');
    if (s.project !== undefined) out.scope = { kind: 'project', ref: namedRef(s.project, 'auth.scope.project') };
    else throw new CairnError('identity.unsupported_scope', { scope: Object.keys(s).join(', ') || '{}' });
  }
  return out;
}

function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s ? s : undefined;
}

/** The caller's token (any valid one, scoped or not). */
export async function caller(ctx: RequestContext, identity: Identity): Promise<TokenInfo> {
  const token = header(ctx, 'x-auth-token');
  if (!token) throw new CairnError('auth.required');
  return identity.validateToken(token);
}

function noCatalog(ctx: RequestContext): boolean {
  return ctx.query.has('nocatalog');
}

/** POST: authenticate, pick the scope, mint. 201 with the token in `X-Subject-Token`. */
export async function issue(ctx: RequestContext, identity: Identity): Promise<void> {
  const req = parseAuthRequest(await readJsonObject(ctx.req, AUTH_BODY_MAX));
  let userId: string | undefined;
  let prior: TokenInfo | undefined;
  if (req.password) userId = (await identity.authenticatePassword(req.password.user, req.password.password)).id;
  if (req.token) {
    prior = await identity.validateToken(req.token);
    // Every method of one request must prove the same user.
    if (userId !== undefined && prior.userId !== userId) throw new CairnError('auth.bad_credentials');
    userId = prior.userId;
  }
  if (userId === undefined) throw new CairnError('auth.bad_credentials');

  let projectId: string | undefined;
  if (req.scope.kind === 'project') {
    const project = await identity.findProject(req.scope.ref);
    const named = req.scope.ref.id ?? req.scope.ref.name ?? '';
    if (!project) throw new CairnError('identity.no_project_access', { user: userId, project: named });
    projectId = project.id;
  } else if (req.scope.kind === 'default') {
    // Keystone scopes to the user's default project when no scope is asked for and the user still
    // holds a role there; otherwise the token is unscoped.
    const user = await identity.findUser({ id: userId });
    if (user?.defaultProjectId && (await identity.rolesOn(userId, user.defaultProjectId)).length > 0) projectId = user.defaultProjectId;
  }
  const issued = await identity.issueToken({
    userId,
    projectId,
    methods: req.methods,
    // A token obtained with a token lives no longer than that token, and joins its audit chain.
    expiresAt: prior?.expiresAt,
    auditChainId: prior ? prior.auditIds[prior.auditIds.length - 1] : undefined,
  });
  sendJson(ctx.res, 201, tokenView(ctx, identity, issued.info, !noCatalog(ctx)), { 'X-Subject-Token': issued.token });
}

/** The subject token of GET/HEAD/DELETE, after checking the caller may look at it. */
async function subject(ctx: RequestContext, identity: Identity): Promise<{ token: string; info: TokenInfo }> {
  const me = await caller(ctx, identity);
  const token = header(ctx, 'x-subject-token');
  if (!token) throw new CairnError('request.missing_param', { params: 'X-Subject-Token' });
  let info: TokenInfo;
  try {
    info = await identity.validateToken(token);
  } catch (err) {
    if (err instanceof CairnError && err.code === 'auth.invalid_token') throw new CairnError('identity.token_not_found');
    throw err;
  }
  // Keystone's policy: admins check any token, everyone else only their own.
  if (info.userId !== me.userId && !me.roles.includes('admin')) throw new CairnError('auth.forbidden');
  return { token, info };
}

export async function validate(ctx: RequestContext, identity: Identity): Promise<void> {
  const { token, info } = await subject(ctx, identity);
  if (ctx.method === 'HEAD') return sendEmpty(ctx.res, 200, { 'X-Subject-Token': token, 'Content-Type': 'application/json' });
  sendJson(ctx.res, 200, tokenView(ctx, identity, info, !noCatalog(ctx)), { 'X-Subject-Token': token });
}

export async function revoke(ctx: RequestContext, identity: Identity): Promise<void> {
  const { token } = await subject(ctx, identity);
  await identity.revokeToken(token);
  sendEmpty(ctx.res, 204);
}
