// Store, bootstrap and token behaviour, run against PGlite (identity.test.ts) and PostgreSQL
// (identity.pg.test.ts).
import { CairnError } from '../../../../services/core/errors';
import { createIdentity, type Identity } from '../../../../services/core/identity';
import { openFixture, type Fixture } from './fixture';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CairnError) return err.code;
    throw err;
  }
  return 'resolved';
}

export function identitySuite(kind: 'pglite' | 'postgres'): void {
  let fx: Fixture;
  let identity: Identity;

  beforeAll(async () => {
    fx = await openFixture(kind);
    identity = await createIdentity({ config: fx.config(), db: fx.db });
  }, 60_000);
  afterAll(async () => fx?.close());

  test('bootstrap is idempotent: a second run keeps projects, users and passwords', async () => {
    const first = await identity.bootstrap();
    const second = await identity.bootstrap();
    expect(second).toEqual(first);
    expect(first.admin.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(first.admin.password).not.toBe(first.demo.password);
    // A restart (a new Identity on the same database) finds the same credentials.
    const again = await (await createIdentity({ config: fx.config(), db: fx.db })).bootstrap();
    expect(again).toEqual(first);
    expect(await identity.rolesOn(first.admin.userId, first.admin.projectId)).toEqual(['admin']);
    expect(await identity.rolesOn(first.demo.userId, first.demo.projectId)).toEqual(['member']);
    expect(await identity.rolesOn(first.demo.userId, first.admin.projectId)).toEqual([]);
    expect((await identity.listProjects()).map((p) => p.name)).toEqual(['admin', 'demo']);
  });

  test('a configured password resets the bootstrap user and revokes their tokens', async () => {
    const creds = await identity.bootstrap();
    const old = await identity.issueToken({ userId: creds.demo.userId, projectId: creds.demo.projectId });
    const configured = await createIdentity({ config: fx.config({ CAIRN_DEMO_PASSWORD: 'configured-pw' }), db: fx.db });
    const after = await configured.bootstrap();
    expect(after.demo.password).toBe('configured-pw');
    expect(after.demo.userId).toBe(creds.demo.userId);
    expect(after.admin.password).toBe(creds.admin.password);
    await expect(identity.authenticatePassword({ name: 'demo' }, 'configured-pw')).resolves.toMatchObject({ id: creds.demo.userId });
    expect(await code(identity.authenticatePassword({ name: 'demo' }, creds.demo.password))).toBe('auth.bad_credentials');
    expect(await code(identity.validate(old.token))).toBe('auth.invalid_token');
    // Without the variable, the stored password stays (no reset back to a generated one).
    expect((await identity.bootstrap()).demo.password).toBe('configured-pw');
  });

  test('password authentication by name and domain, by id; wrong password, unknown user and domain fail alike', async () => {
    const { admin } = await identity.bootstrap();
    await expect(identity.authenticatePassword({ name: 'admin', domain: { name: 'Default' } }, admin.password)).resolves.toMatchObject({ id: admin.userId, name: 'admin' });
    await expect(identity.authenticatePassword({ name: 'admin', domain: { id: 'default' } }, admin.password)).resolves.toMatchObject({ id: admin.userId });
    await expect(identity.authenticatePassword({ id: admin.userId }, admin.password)).resolves.toMatchObject({ id: admin.userId });
    // Cached verification still checks the password.
    expect(await code(identity.authenticatePassword({ id: admin.userId }, `${admin.password}x`))).toBe('auth.bad_credentials');
    expect(await code(identity.authenticatePassword({ name: 'nobody' }, admin.password))).toBe('auth.bad_credentials');
    expect(await code(identity.authenticatePassword({ name: 'admin', domain: { name: 'Other' } }, admin.password))).toBe('auth.bad_credentials');
  });

  test('tokens validate without the database knowing them; admin-ness comes from the role', async () => {
    const { admin, demo } = await identity.bootstrap();
    const a = await identity.issueToken({ userId: admin.userId, projectId: admin.projectId });
    const ctx = await identity.validate(a.token);
    expect(ctx).toMatchObject({ userId: admin.userId, userName: 'admin', projectId: admin.projectId, projectName: 'admin', domainId: 'default', roles: ['admin'], isAdmin: true });
    expect(ctx.expiresAt.getTime() - Date.now()).toBeGreaterThan(86_000_000);
    const d = await identity.validate((await identity.issueToken({ userId: demo.userId, projectId: demo.projectId })).token);
    expect(d).toMatchObject({ projectName: 'demo', roles: ['member'], isAdmin: false });
    // Another Identity on the same database (another replica) accepts it: the key is shared.
    const replica = await createIdentity({ config: fx.config(), db: fx.db });
    await expect(replica.validate(a.token)).resolves.toMatchObject({ userId: admin.userId });
  });

  test('scoping needs a role on the project; unscoped tokens are valid but not for services', async () => {
    const { admin, demo } = await identity.bootstrap();
    expect(await code(identity.issueToken({ userId: demo.userId, projectId: admin.projectId }))).toBe('identity.no_project_access');
    expect(await code(identity.issueToken({ userId: demo.userId, projectId: 'missing' }))).toBe('identity.no_project_access');
    const unscoped = await identity.issueToken({ userId: demo.userId });
    await expect(identity.validateToken(unscoped.token)).resolves.toMatchObject({ userId: demo.userId, project: undefined, roles: [] });
    expect(await code(identity.validate(unscoped.token))).toBe('auth.invalid_token');
  });

  test('expired, tampered, forged and revoked tokens are refused', async () => {
    const { demo } = await identity.bootstrap();
    const hour = 3600_000;
    const expired = await identity.issueToken({ userId: demo.userId, projectId: demo.projectId, issuedAt: new Date(Date.now() - 2 * hour), expiresAt: new Date(Date.now() - hour) });
    expect(await code(identity.validate(expired.token))).toBe('auth.invalid_token');
    expect(await code(identity.issueToken({ userId: demo.userId, expiresAt: new Date(Date.now() + 400 * 86400_000) }))).toBe('request.invalid_param');

    const good = await identity.issueToken({ userId: demo.userId, projectId: demo.projectId });
    for (const i of [0, 5, 20, Math.floor(good.token.length / 2), good.token.length - 1]) {
      const c = good.token[i];
      const tampered = good.token.slice(0, i) + (c === 'A' ? 'B' : 'A') + good.token.slice(i + 1);
      expect(await code(identity.validate(tampered))).toBe('auth.invalid_token');
    }
    expect(await code(identity.validate(`${good.token}!`))).toBe('auth.invalid_token');
    expect(await code(identity.validate(''))).toBe('auth.invalid_token');
    expect(await code(identity.validate('AUTH_tk0123456789abcdef0123456789abcdef'))).toBe('auth.invalid_token');

    const other = await identity.issueToken({ userId: demo.userId, projectId: demo.projectId });
    await identity.revokeToken(good.token);
    expect(await code(identity.validate(good.token))).toBe('auth.invalid_token');
    await expect(identity.validate(other.token)).resolves.toMatchObject({ userId: demo.userId });
    // A replica learns of the revocation from the database.
    const replica = await createIdentity({ config: fx.config(), db: fx.db });
    expect(await code(replica.validate(good.token))).toBe('auth.invalid_token');
  });

  test('a token validated before (its decoding remembered) is still refused once revoked or expired', async () => {
    const { demo } = await identity.bootstrap();
    const revoked = await identity.issueToken({ userId: demo.userId, projectId: demo.projectId });
    const byPassword = await identity.issueToken({ userId: demo.userId, projectId: demo.projectId });
    const short = await identity.issueToken({ userId: demo.userId, projectId: demo.projectId, expiresAt: new Date(Date.now() + 1500) });
    for (const t of [revoked, byPassword, short]) await expect(identity.validate(t.token)).resolves.toMatchObject({ userId: demo.userId });
    // Callers get their own copy of what was decoded once.
    (await identity.validate(revoked.token)).roles.push('admin');
    expect((await identity.validate(revoked.token)).roles).toEqual(['member']);

    await identity.revokeToken(revoked.token);
    expect(await code(identity.validate(revoked.token))).toBe('auth.invalid_token');
    // A revocation by user (a password change) reaches remembered tokens at once too.
    const u = await identity.createUser({ name: 'cache-user', password: 'pw-1' });
    await identity.assignRole(u.id, demo.projectId, 'member');
    const own = await identity.issueToken({ userId: u.id, projectId: demo.projectId });
    await expect(identity.validate(own.token)).resolves.toMatchObject({ userId: u.id });
    await identity.setPassword(u.id, 'pw-2');
    expect(await code(identity.validate(own.token))).toBe('auth.invalid_token');
    await expect(identity.validate(byPassword.token)).resolves.toMatchObject({ userId: demo.userId });

    await new Promise((r) => setTimeout(r, 1600));
    expect(await code(identity.validate(short.token))).toBe('auth.invalid_token');
  });

  test('admin operations: create project and user, assign and unassign roles, change password', async () => {
    const p = await identity.createProject({ name: 'team-a', description: 'Team A' });
    expect(await code(identity.createProject({ name: 'team-a' }))).toBe('identity.conflict');
    expect(await code(identity.createProject({ name: 'a:b' }))).toBe('request.invalid_param');
    const u = await identity.createUser({ name: 'alice', password: 'alice-pw', defaultProjectId: p.id });
    expect(u).toMatchObject({ name: 'alice', domainId: 'default', defaultProjectId: p.id, enabled: true });
    expect(u).not.toHaveProperty('passwordHash');
    expect(await code(identity.createUser({ name: 'alice', password: 'x' }))).toBe('identity.conflict');
    expect(await code(identity.createUser({ name: 'bob', password: '' }))).toBe('request.invalid_param');
    expect(await code(identity.assignRole(u.id, 'missing', 'member'))).toBe('identity.project_not_found');

    await identity.assignRole(u.id, p.id, 'member');
    await identity.assignRole(u.id, p.id, 'member');
    expect(await identity.rolesOn(u.id, p.id)).toEqual(['member']);
    expect((await identity.projectsOfUser(u.id)).map((x) => x.name)).toEqual(['team-a']);
    const t = await identity.issueToken({ userId: u.id, projectId: p.id });
    await identity.unassignRole(u.id, p.id, 'member');
    expect(await code(identity.validate(t.token))).toBe('auth.invalid_token');

    await identity.assignRole(u.id, p.id, 'admin');
    const t2 = await identity.issueToken({ userId: u.id, projectId: p.id });
    expect((await identity.validate(t2.token)).isAdmin).toBe(true);
    await identity.setPassword(u.id, 'new-pw');
    expect(await code(identity.validate(t2.token))).toBe('auth.invalid_token');
    expect(await code(identity.authenticatePassword({ name: 'alice' }, 'alice-pw'))).toBe('auth.bad_credentials');
    await expect(identity.authenticatePassword({ name: 'alice' }, 'new-pw')).resolves.toMatchObject({ id: u.id });
  });

  test('the catalog: three services, three interfaces each, this region, URLs under the base', () => {
    const catalog = identity.catalog('http://h:1/', 'p1');
    expect(catalog.map((s) => [s.type, s.name])).toEqual([
      ['function-engine', 'qinling'],
      ['object-store', 'swift'],
      ['identity', 'keystone'],
    ]);
    for (const s of catalog) {
      expect(s.id).toMatch(/^[0-9a-f]{32}$/);
      expect(s.endpoints.map((e) => e.interface)).toEqual(['public', 'internal', 'admin']);
      for (const e of s.endpoints) expect(e).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), region: 'RegionOne', region_id: 'RegionOne' });
    }
    expect(catalog.map((s) => s.endpoints[0].url)).toEqual(['http://h:1/function', 'http://h:1/v1/AUTH_p1', 'http://h:1/identity/v3']);
    expect(identity.catalog('http://other:2', 'p2')[0].id).toBe(catalog[0].id);
  });
}
