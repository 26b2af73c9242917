// The Keystone v3 subset over real HTTP on loopback, PGlite behind it.
import { passwordAuth, startIdentityServer, type IdentityServer } from './server';

let s: IdentityServer;
beforeAll(async () => {
  s = await startIdentityServer();
}, 60_000);
afterAll(async () => s?.close());

const byName = (who: 'admin' | 'demo') => ({ name: who, domain: { name: 'Default' } });
const projectByName = (name: string) => ({ project: { name, domain: { name: 'Default' } } });

function expectKeystone401(res: { status: number; headers: Headers; body: any }): void {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe(`Keystone uri="${s.base}/identity"`);
  expect(res.body).toEqual({ error: { code: 401, title: 'Unauthorized', message: expect.any(String), identifier: expect.any(String) } });
}

test('version discovery: 300 at /identity, the v3 document with its self link at /identity/v3', async () => {
  const root = await s.call('GET', '/identity');
  expect(root.status).toBe(300);
  expect(root.body.versions.values).toHaveLength(1);
  expect(root.body.versions.values[0]).toMatchObject({ id: 'v3.14', status: 'stable' });
  for (const path of ['/identity/v3', '/identity/v3/']) {
    const v3 = await s.call('GET', path, { headers: { Accept: 'application/json' } });
    expect(v3.status).toBe(200);
    expect(v3.body.version.links).toEqual([{ rel: 'self', href: `${s.base}/identity/v3/` }]);
    expect(v3.body.version['media-types'][0].type).toBe('application/vnd.openstack.identity-v3+json');
  }
});

test('password auth by name and domain, scoped by project name: 201, X-Subject-Token, the full token body', async () => {
  const res = await s.call('POST', '/identity/v3/auth/tokens', { json: passwordAuth(byName('demo'), s.creds.demo.password, projectByName('demo')) });
  expect(res.status).toBe(201);
  expect(res.headers.get('x-subject-token')).toMatch(/^[A-Za-z0-9_-]{100,}$/);
  const t = res.body.token;
  expect(t).toMatchObject({
    methods: ['password'],
    user: { id: s.creds.demo.userId, name: 'demo', domain: { id: 'default', name: 'Default' } },
    project: { id: s.creds.demo.projectId, name: 'demo', domain: { id: 'default', name: 'Default' } },
    roles: [{ id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'member' }],
  });
  expect(t.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  expect(t.issued_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  expect(Date.parse(t.expires_at) - Date.parse(t.issued_at)).toBe(86400_000);
  // The catalog: every service, every interface, this region, URLs at the address the caller used.
  const byType = Object.fromEntries(t.catalog.map((c: any) => [c.type, c]));
  expect(Object.keys(byType).sort()).toEqual(['function-engine', 'identity', 'object-store']);
  expect(byType['function-engine'].name).toBe('qinling');
  expect(byType['object-store'].name).toBe('swift');
  expect(byType.identity.name).toBe('keystone');
  for (const c of t.catalog) {
    expect(c.id).toMatch(/^[0-9a-f]{32}$/);
    expect(c.endpoints.map((e: any) => e.interface).sort()).toEqual(['admin', 'internal', 'public']);
    for (const e of c.endpoints) expect(e).toMatchObject({ id: expect.any(String), region: 'RegionOne', region_id: 'RegionOne' });
  }
  expect(byType['function-engine'].endpoints[0].url).toBe(`${s.base}/function`);
  expect(byType['object-store'].endpoints[0].url).toBe(`${s.base}/v1/AUTH_${s.creds.demo.projectId}`);
  expect(byType.identity.endpoints[0].url).toBe(`${s.base}/identity/v3`);
  // ?nocatalog leaves it out.
  const bare = await s.call('POST', '/identity/v3/auth/tokens?nocatalog', { json: passwordAuth(byName('demo'), s.creds.demo.password, projectByName('demo')) });
  expect(bare.body.token.catalog).toBeUndefined();
});

test('password auth by user id and project id; no scope means the default project; "unscoped" means none', async () => {
  const byId = await s.call('POST', '/identity/v3/auth/tokens', { json: passwordAuth({ id: s.creds.admin.userId }, s.creds.admin.password, { project: { id: s.creds.admin.projectId } }) });
  expect(byId.status).toBe(201);
  expect(byId.body.token.project.id).toBe(s.creds.admin.projectId);
  expect(byId.body.token.roles.map((r: any) => r.name)).toEqual(['admin']);

  const dflt = await s.call('POST', '/identity/v3/auth/tokens', { json: passwordAuth(byName('demo'), s.creds.demo.password) });
  expect(dflt.status).toBe(201);
  expect(dflt.body.token.project.name).toBe('demo');

  const unscoped = await s.call('POST', '/identity/v3/auth/tokens', { json: { auth: { ...(passwordAuth(byName('demo'), s.creds.demo.password) as any).auth, scope: 'unscoped' } } });
  expect(unscoped.status).toBe(201);
  expect(unscoped.body.token.project).toBeUndefined();
  expect(unscoped.body.token.catalog).toBeUndefined();

  // Token method: rescope the unscoped token; it keeps the original expiry and joins its audit chain.
  const token = unscoped.headers.get('x-subject-token') as string;
  const rescoped = await s.call('POST', '/identity/v3/auth/tokens', { json: { auth: { identity: { methods: ['token'], token: { id: token } }, scope: projectByName('demo') } } });
  expect(rescoped.status).toBe(201);
  expect(rescoped.body.token).toMatchObject({ methods: ['token'], project: { name: 'demo' }, expires_at: unscoped.body.token.expires_at });
  expect(rescoped.body.token.audit_ids[1]).toBe(unscoped.body.token.audit_ids[0]);
  expect(rescoped.headers.get('x-subject-token')).not.toBe(token);
});

test('authentication failures: wrong password, unknown user, no role on the project, bad and revoked tokens', async () => {
  expectKeystone401(await s.call('POST', '/identity/v3/auth/tokens', { json: passwordAuth(byName('demo'), 'wrong', projectByName('demo')) }));
  expectKeystone401(await s.call('POST', '/identity/v3/auth/tokens', { json: passwordAuth({ name: 'ghost', domain: { name: 'Default' } }, 'x') }));
  expectKeystone401(await s.call('POST', '/identity/v3/auth/tokens', { json: passwordAuth(byName('demo'), s.creds.demo.password, projectByName('admin')) }));
  expectKeystone401(await s.call('POST', '/identity/v3/auth/tokens', { json: passwordAuth(byName('demo'), s.creds.demo.password, projectByName('nope')) }));
  expectKeystone401(await s.call('POST', '/identity/v3/auth/tokens', { json: { auth: { identity: { methods: ['token'], token: { id: 'garbage' } } } } }));
});

test('malformed auth requests get 400 naming the field', async () => {
  const noMethods = await s.call('POST', '/identity/v3/auth/tokens', { json: { auth: { identity: {} } } });
  expect(noMethods.status).toBe(400);
  expect(noMethods.body.error.message).toContain('auth.identity.methods');
  const badPw = await s.call('POST', '/identity/v3/auth/tokens', { json: { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', password: 5 } } } } } });
  expect(badPw.status).toBe(400);
  expect(badPw.body.error.message).toContain('auth.identity.password.user.password');
  const totp = await s.call('POST', '/identity/v3/auth/tokens', { json: { auth: { identity: { methods: ['totp'] } } } });
  expect(totp.status).toBe(400);
  const domainScope = await s.call('POST', '/identity/v3/auth/tokens', { json: passwordAuth(byName('demo'), s.creds.demo.password, { domain: { id: 'default' } }) });
  expect(domainScope.status).toBe(400);
  expect(domainScope.body.error.identifier).toBe('identity.unsupported_scope');
  const notJson = await fetch(`${s.base}/identity/v3/auth/tokens`, { method: 'POST', body: '{', headers: { 'Content-Type': 'application/json' } });
  expect(notJson.status).toBe(400);
});

test('validate (GET/HEAD) and revoke (DELETE) a token; a revoked, expired or tampered token is refused', async () => {
  const admin = await s.login('admin');
  const demo = await s.login('demo');
  const other = await s.login('demo');

  const got = await s.call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Auth-Token': demo, 'X-Subject-Token': other } });
  expect(got.status).toBe(200);
  expect(got.headers.get('x-subject-token')).toBe(other);
  expect(got.body.token.user.name).toBe('demo');
  expect(got.body.token.catalog).toHaveLength(3);
  const head = await s.call('HEAD', '/identity/v3/auth/tokens', { headers: { 'X-Auth-Token': admin, 'X-Subject-Token': other } });
  expect(head.status).toBe(200);
  // A member may look at their own tokens only.
  expect((await s.call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Auth-Token': demo, 'X-Subject-Token': admin } })).status).toBe(403);
  expect((await s.call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Auth-Token': admin, 'X-Subject-Token': 'nope' } })).status).toBe(404);
  expectKeystone401(await s.call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Subject-Token': other } }));

  expect((await s.call('DELETE', '/identity/v3/auth/tokens', { headers: { 'X-Auth-Token': demo, 'X-Subject-Token': other } })).status).toBe(204);
  expect((await s.call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Auth-Token': demo, 'X-Subject-Token': other } })).status).toBe(404);
  expectKeystone401(await s.call('GET', '/identity/v3/auth/projects', { headers: { 'X-Auth-Token': other } }));
  expect((await s.call('GET', '/identity/v3/auth/projects', { headers: { 'X-Auth-Token': demo } })).status).toBe(200);

  // Minted through the public token API with a lifetime already over.
  const hour = 3600_000;
  const expired = await s.identity.issueToken({ userId: s.creds.demo.userId, projectId: s.creds.demo.projectId, issuedAt: new Date(Date.now() - 2 * hour), expiresAt: new Date(Date.now() - hour) });
  expectKeystone401(await s.call('GET', '/identity/v3/auth/projects', { headers: { 'X-Auth-Token': expired.token } }));
  expect((await s.call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Auth-Token': admin, 'X-Subject-Token': expired.token } })).status).toBe(404);

  const i = Math.floor(demo.length / 2);
  const tampered = demo.slice(0, i) + (demo[i] === 'x' ? 'y' : 'x') + demo.slice(i + 1);
  expectKeystone401(await s.call('GET', '/identity/v3/auth/projects', { headers: { 'X-Auth-Token': tampered } }));
});

test('projects and users: admins see all, members see their own', async () => {
  const admin = await s.login('admin');
  const demo = await s.login('demo');
  const names = (r: any, key: string) => r.body[key].map((x: any) => x.name).sort();

  const all = await s.call('GET', '/identity/v3/projects', { headers: { 'X-Auth-Token': admin } });
  expect(all.status).toBe(200);
  expect(names(all, 'projects')).toEqual(['admin', 'demo']);
  expect(all.body.projects[0]).toMatchObject({ domain_id: 'default', enabled: true, is_domain: false, links: { self: expect.stringContaining('/identity/v3/projects/') } });
  expect(all.body.links).toMatchObject({ self: `${s.base}/identity/v3/projects`, next: null, previous: null });
  expect(names(await s.call('GET', '/identity/v3/projects?name=demo', { headers: { 'X-Auth-Token': admin } }), 'projects')).toEqual(['demo']);

  expect(names(await s.call('GET', '/identity/v3/projects', { headers: { 'X-Auth-Token': demo } }), 'projects')).toEqual(['demo']);
  expect(names(await s.call('GET', '/identity/v3/auth/projects', { headers: { 'X-Auth-Token': demo } }), 'projects')).toEqual(['demo']);
  expect(names(await s.call('GET', '/identity/v3/projects?name=admin', { headers: { 'X-Auth-Token': demo } }), 'projects')).toEqual([]);
  expect((await s.call('GET', `/identity/v3/projects/${s.creds.admin.projectId}`, { headers: { 'X-Auth-Token': demo } })).status).toBe(403);
  expect((await s.call('GET', '/identity/v3/projects/demo', { headers: { 'X-Auth-Token': demo } })).status).toBe(404);
  const own = await s.call('GET', `/identity/v3/projects/${s.creds.demo.projectId}`, { headers: { 'X-Auth-Token': demo } });
  expect(own.body.project).toMatchObject({ id: s.creds.demo.projectId, name: 'demo' });
  expect((await s.call('GET', `/identity/v3/projects/${s.creds.demo.projectId}`, { headers: { 'X-Auth-Token': admin } })).status).toBe(200);

  expect(names(await s.call('GET', '/identity/v3/users', { headers: { 'X-Auth-Token': admin } }), 'users')).toEqual(['admin', 'demo']);
  const meOnly = await s.call('GET', '/identity/v3/users', { headers: { 'X-Auth-Token': demo } });
  expect(names(meOnly, 'users')).toEqual(['demo']);
  expect(meOnly.body.users[0]).not.toHaveProperty('password_hash');
  expect((await s.call('GET', `/identity/v3/users/${s.creds.admin.userId}`, { headers: { 'X-Auth-Token': demo } })).status).toBe(403);
  expect((await s.call('GET', `/identity/v3/users/${s.creds.demo.userId}/projects`, { headers: { 'X-Auth-Token': demo } })).status).toBe(200);
  expectKeystone401(await s.call('GET', '/identity/v3/projects'));
});

test('catalog, services, endpoints, regions, roles, domains', async () => {
  const demo = await s.login('demo');
  const h = { headers: { 'X-Auth-Token': demo } };
  const catalog = await s.call('GET', '/identity/v3/auth/catalog', h);
  expect(catalog.body.catalog.map((c: any) => c.type)).toEqual(['function-engine', 'object-store', 'identity']);
  const endpoints = await s.call('GET', '/identity/v3/endpoints', h);
  expect(endpoints.body.endpoints).toHaveLength(9);
  expect(endpoints.body.endpoints.map((e: any) => e.url)).toContain(`${s.base}/v1/AUTH_$(project_id)s`);
  expect((await s.call('GET', '/identity/v3/services', h)).body.services.map((x: any) => x.name)).toEqual(['qinling', 'swift', 'keystone']);
  expect((await s.call('GET', '/identity/v3/regions', h)).body.regions[0].id).toBe('RegionOne');
  expect((await s.call('GET', '/identity/v3/roles', h)).body.roles.map((r: any) => r.name)).toEqual(['admin', 'member']);
  expect((await s.call('GET', '/identity/v3/domains/default', h)).body.domain.name).toBe('Default');
  const mine = await s.call('GET', '/identity/v3/role_assignments?include_names', h);
  expect(mine.body.role_assignments).toEqual([
    expect.objectContaining({ role: expect.objectContaining({ name: 'member' }), user: expect.objectContaining({ name: 'demo' }), scope: { project: expect.objectContaining({ id: s.creds.demo.projectId, name: 'demo' }) } }),
  ]);
  expect((await s.call('GET', `/identity/v3/role_assignments?user.id=${s.creds.admin.userId}`, h)).status).toBe(403);
  const admin = await s.login('admin');
  const all = await s.call('GET', '/identity/v3/role_assignments', { headers: { 'X-Auth-Token': admin } });
  expect(all.body.role_assignments).toHaveLength(2);
  const missing = await s.call('GET', '/identity/v3/nothing', h);
  expect(missing.status).toBe(404);
  expect(missing.body.error.code).toBe(404);
});
