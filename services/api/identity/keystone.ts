// The Keystone v3 subset under /identity: version discovery, tokens, and the read-only resources
// the openstack CLI lists (projects, users, roles, services, endpoints, regions, domains).
// Administration (creating projects and users) goes through the `cairn` command, not this API.
import { CairnError } from '../../core/errors';
import { DEFAULT_DOMAIN, ROLES, type Identity, type ListFilter, type TokenInfo } from '../../core/identity';
import type { RequestContext, Surface } from '../http/context';
import { sendJson } from '../http/respond';
import { Router, type Params } from '../http/router';
import { caller, issue, revoke, validate } from './auth-tokens';
import { collection, domainResource, projectView, roleId, sendKeystoneError, userView, v3Url } from './views';

type Route = (ctx: RequestContext, params: Params) => Promise<void>;

/** Keystone's v3 version document; `self` is where keystoneauth then posts /auth/tokens. */
function versionDoc(ctx: RequestContext): Record<string, unknown> {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${v3Url(ctx)}/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

function isAdmin(me: TokenInfo): boolean {
  return me.project !== undefined && me.roles.includes('admin');
}

function listFilter(ctx: RequestContext): ListFilter {
  const filter: ListFilter = {};
  const name = ctx.query.get('name');
  const domainId = ctx.query.get('domain_id');
  if (name !== null) filter.name = name;
  if (domainId !== null) filter.domainId = domainId;
  return filter;
}

export function keystoneSurface(identity: Identity): Surface {
  const router = new Router<Route>();
  const r = (method: string, pattern: string, fn: Route): void => void router.add(method, `/identity${pattern}`, fn);

  r('GET', '', async (ctx) => sendJson(ctx.res, 300, { versions: { values: [versionDoc(ctx)] } }));
  r('GET', '/v3', async (ctx) => sendJson(ctx.res, 200, { version: versionDoc(ctx) }));

  r('POST', '/v3/auth/tokens', (ctx) => issue(ctx, identity));
  r('GET', '/v3/auth/tokens', (ctx) => validate(ctx, identity));
  r('DELETE', '/v3/auth/tokens', (ctx) => revoke(ctx, identity));

  r('GET', '/v3/auth/projects', async (ctx) => {
    const me = await caller(ctx, identity);
    const projects = await identity.projectsOfUser(me.userId);
    sendJson(ctx.res, 200, collection(ctx, 'projects', projects.map((p) => projectView(ctx, p))));
  });
  r('GET', '/v3/auth/domains', async (ctx) => {
    await caller(ctx, identity);
    sendJson(ctx.res, 200, collection(ctx, 'domains', []));
  });
  r('GET', '/v3/auth/system', async (ctx) => {
    await caller(ctx, identity);
    sendJson(ctx.res, 200, collection(ctx, 'system', []));
  });
  r('GET', '/v3/auth/catalog', async (ctx) => {
    const me = await caller(ctx, identity);
    // Keystone has no catalog for unscoped tokens.
    if (!me.project) throw new CairnError('auth.forbidden');
    sendJson(ctx.res, 200, collection(ctx, 'catalog', identity.catalog(ctx.baseUrl, me.project.id)));
  });

  // Admins see everything; everyone else sees their own projects and themselves.
  r('GET', '/v3/projects', async (ctx) => {
    const me = await caller(ctx, identity);
    const filter = listFilter(ctx);
    const projects = isAdmin(me) ? await identity.listProjects(filter) : await identity.projectsOfUser(me.userId, filter);
    sendJson(ctx.res, 200, collection(ctx, 'projects', projects.map((p) => projectView(ctx, p))));
  });
  r('GET', '/v3/projects/:id', async (ctx, { id }) => {
    const me = await caller(ctx, identity);
    const project = await identity.findProject({ id });
    // 404 before 403: the CLI looks a name up by id first and falls back to a listing only on 404.
    if (!project) throw new CairnError('identity.project_not_found', { project: id });
    if (!isAdmin(me) && (await identity.rolesOn(me.userId, id)).length === 0) throw new CairnError('auth.forbidden');
    sendJson(ctx.res, 200, { project: projectView(ctx, project) });
  });
  r('GET', '/v3/users', async (ctx) => {
    const me = await caller(ctx, identity);
    const filter = listFilter(ctx);
    const users = isAdmin(me) ? await identity.listUsers(filter) : (await identity.listUsers(filter)).filter((u) => u.id === me.userId);
    sendJson(ctx.res, 200, collection(ctx, 'users', users.map((u) => userView(ctx, u))));
  });
  r('GET', '/v3/users/:id', async (ctx, { id }) => {
    const me = await caller(ctx, identity);
    const user = await identity.findUser({ id });
    if (!user) throw new CairnError('identity.user_not_found', { user: id });
    if (!isAdmin(me) && me.userId !== id) throw new CairnError('auth.forbidden');
    sendJson(ctx.res, 200, { user: userView(ctx, user) });
  });
  r('GET', '/v3/users/:id/projects', async (ctx, { id }) => {
    const me = await caller(ctx, identity);
    if (!isAdmin(me) && me.userId !== id) throw new CairnError('auth.forbidden');
    if (!(await identity.findUser({ id }))) throw new CairnError('identity.user_not_found', { user: id });
    const projects = await identity.projectsOfUser(id, listFilter(ctx));
    sendJson(ctx.res, 200, collection(ctx, 'projects', projects.map((p) => projectView(ctx, p))));
  });

  r('GET', '/v3/roles', async (ctx) => {
    await caller(ctx, identity);
    const name = ctx.query.get('name');
    const roles = ROLES.filter((role) => name === null || role === name).map((role) => ({
      id: roleId(role),
      name: role,
      domain_id: null,
      description: null,
      options: {},
      links: { self: `${v3Url(ctx)}/roles/${roleId(role)}` },
    }));
    sendJson(ctx.res, 200, collection(ctx, 'roles', roles));
  });
  r('GET', '/v3/role_assignments', async (ctx) => {
    const me = await caller(ctx, identity);
    const q = ctx.query;
    const roleFilter = q.get('role.id');
    const role = roleFilter === null ? undefined : ROLES.find((x) => roleId(x) === roleFilter || x === roleFilter);
    const userId = q.get('user.id') ?? undefined;
    // Members see their own assignments only.
    if (!isAdmin(me) && userId !== undefined && userId !== me.userId) throw new CairnError('auth.forbidden');
    const list =
      roleFilter !== null && role === undefined
        ? []
        : await identity.listRoleAssignments({ userId: isAdmin(me) ? userId : me.userId, projectId: q.get('scope.project.id') ?? undefined, role });
    const names = q.has('include_names');
    const domain = { id: DEFAULT_DOMAIN.id, name: DEFAULT_DOMAIN.name };
    const items = list.map((a) => ({
      role: names ? { id: roleId(a.role), name: a.role } : { id: roleId(a.role) },
      user: names ? { id: a.userId, name: a.userName, domain } : { id: a.userId },
      scope: { project: names ? { id: a.projectId, name: a.projectName, domain } : { id: a.projectId } },
      links: { assignment: `${v3Url(ctx)}/projects/${a.projectId}/users/${a.userId}/roles/${roleId(a.role)}` },
    }));
    sendJson(ctx.res, 200, collection(ctx, 'role_assignments', items));
  });
  r('GET', '/v3/domains', async (ctx) => {
    await caller(ctx, identity);
    sendJson(ctx.res, 200, collection(ctx, 'domains', [domainResource(ctx)]));
  });
  r('GET', '/v3/domains/:id', async (ctx, { id }) => {
    await caller(ctx, identity);
    if (id !== DEFAULT_DOMAIN.id) throw new CairnError('request.not_found');
    sendJson(ctx.res, 200, { domain: domainResource(ctx) });
  });
  r('GET', '/v3/services', async (ctx) => {
    await caller(ctx, identity);
    const services = identity.endpointTemplates(ctx.baseUrl).map((s) => ({ id: s.id, name: s.name, type: s.type, enabled: true, links: { self: `${v3Url(ctx)}/services/${s.id}` } }));
    sendJson(ctx.res, 200, collection(ctx, 'services', services));
  });
  r('GET', '/v3/endpoints', async (ctx) => {
    await caller(ctx, identity);
    const endpoints = identity.endpointTemplates(ctx.baseUrl).flatMap((s) =>
      s.endpoints.map((e) => ({ ...e, service_id: s.id, enabled: true, links: { self: `${v3Url(ctx)}/endpoints/${e.id}` } })),
    );
    sendJson(ctx.res, 200, collection(ctx, 'endpoints', endpoints));
  });
  r('GET', '/v3/regions', async (ctx) => {
    await caller(ctx, identity);
    sendJson(ctx.res, 200, collection(ctx, 'regions', [{ id: identity.region, description: '', parent_region_id: null, links: { self: `${v3Url(ctx)}/regions/${identity.region}` } }]));
  });

  return {
    name: 'identity',
    prefixes: ['/identity'],
    async handle(ctx) {
      try {
        const { handler, params } = router.match(ctx.method, ctx.path);
        await handler(ctx, params);
      } catch (err) {
        sendKeystoneError(ctx, err);
      }
    },
  };
}
