// Swift tempauth v1.0 over real HTTP, and the auth middleware the function API uses.
import { authenticate } from '../../../../services/api/http/auth';
import type { Surface } from '../../../../services/api/http/context';
import { sendJson } from '../../../../services/api/http/respond';
import { isCairnError } from '../../../../services/core/errors';
import { startIdentityServer, type IdentityServer } from './server';

let s: IdentityServer;
beforeAll(async () => {
  // A stand-in protected surface: the middleware and what it puts on ctx.auth.
  s = await startIdentityServer((identity): Surface[] => {
    const auth = authenticate(identity);
    return [
      {
        name: 'probe',
        prefixes: ['/probe'],
        async handle(ctx) {
          try {
            const who = await auth(ctx);
            sendJson(ctx.res, 200, { same: who === ctx.auth, ...who });
          } catch (err) {
            if (!isCairnError(err)) throw err;
            sendJson(ctx.res, err.status, { code: err.code });
          }
        },
      },
    ];
  });
}, 60_000);
afterAll(async () => s?.close());

test('GET /auth/v1.0 with X-Auth-User/X-Auth-Key: 200, token headers, storage URL of the project', async () => {
  for (const path of ['/auth/v1.0', '/auth/v1.0/']) {
    const res = await s.call('GET', path, { headers: { 'X-Auth-User': 'demo:demo', 'X-Auth-Key': s.creds.demo.password } });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const token = res.headers.get('x-auth-token');
    expect(token).toBeTruthy();
    expect(res.headers.get('x-storage-token')).toBe(token);
    expect(res.headers.get('x-storage-url')).toBe(`${s.base}/v1/AUTH_${s.creds.demo.projectId}`);
    const left = Number(res.headers.get('x-auth-token-expires'));
    expect(left).toBeGreaterThan(86000);
    expect(left).toBeLessThanOrEqual(86400);
    await expect(s.identity.validate(token as string)).resolves.toMatchObject({ projectName: 'demo', userName: 'demo' });
  }
});

test('X-Storage-User/X-Storage-Pass work too, and a repeated login hands out the same token', async () => {
  const a = await s.call('GET', '/auth/v1.0', { headers: { 'X-Storage-User': 'admin:admin', 'X-Storage-Pass': s.creds.admin.password } });
  const b = await s.call('GET', '/auth/v1.0', { headers: { 'X-Auth-User': 'admin:admin', 'X-Auth-Key': s.creds.admin.password } });
  expect(a.status).toBe(200);
  expect(b.headers.get('x-auth-token')).toBe(a.headers.get('x-auth-token'));
  // Once revoked, a fresh one.
  await s.identity.revokeToken(a.headers.get('x-auth-token') as string);
  const c = await s.call('GET', '/auth/v1.0', { headers: { 'X-Auth-User': 'admin:admin', 'X-Auth-Key': s.creds.admin.password } });
  expect(c.status).toBe(200);
  expect(c.headers.get('x-auth-token')).not.toBe(a.headers.get('x-auth-token'));
});

test('bad credentials: 401 with Www-Authenticate: Swift realm="unknown"', async () => {
  const cases: Record<string, string>[] = [
    { 'X-Auth-User': 'demo:demo', 'X-Auth-Key': 'wrong' },
    { 'X-Auth-User': 'demo', 'X-Auth-Key': s.creds.demo.password },
    { 'X-Auth-User': 'admin:demo', 'X-Auth-Key': s.creds.demo.password },
    { 'X-Auth-User': 'nope:demo', 'X-Auth-Key': s.creds.demo.password },
    { 'X-Auth-User': 'demo:demo' },
    {},
  ];
  for (const headers of cases) {
    const res = await s.call('GET', '/auth/v1.0', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Swift realm="unknown"');
  }
  expect((await s.call('GET', '/auth/v1', { headers: cases[0] })).status).toBe(404);
});

test('authenticate(): X-Auth-Token to ctx.auth; missing is auth.required, bad is auth.invalid_token', async () => {
  const token = await s.login('admin');
  const ok = await s.call('GET', '/probe', { headers: { 'X-Auth-Token': token } });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ same: true, token, userName: 'admin', projectId: s.creds.admin.projectId, isAdmin: true, roles: ['admin'] });
  expect((await s.call('GET', '/probe')).body).toEqual({ code: 'auth.required' });
  expect((await s.call('GET', '/probe', { headers: { 'X-Auth-Token': 'bogus' } })).body).toEqual({ code: 'auth.invalid_token' });
  // Unscoped tokens identify a user but no project: not enough for a service.
  const unscoped = await s.identity.issueToken({ userId: s.creds.admin.userId });
  expect((await s.call('GET', '/probe', { headers: { 'X-Auth-Token': unscoped.token } })).status).toBe(401);
});
