// CORS: container metadata Access-Control-Allow-Origin / -Max-Age / -Expose-Headers, OPTIONS
// preflights without a token (200 allowed, 401 not), and Access-Control-* on actual responses
// for an allowed Origin only (strict mode).
import { startStorage, type StorageHarness } from './harness';

let h: StorageHarness;

beforeAll(async () => {
  h = await startStorage();
  await h.req('PUT', 'web', {
    headers: {
      'X-Container-Meta-Access-Control-Allow-Origin': 'http://a.example  http://b.example',
      'X-Container-Meta-Access-Control-Max-Age': '600',
      'X-Container-Meta-Access-Control-Expose-Headers': 'X-Custom-One x-custom-two',
    },
  });
  await h.req('PUT', 'web/page.html', { body: '<p>hi</p>', headers: { 'X-Object-Meta-Colour': 'blue' } });
  await h.req('PUT', 'open', { headers: { 'X-Container-Meta-Access-Control-Allow-Origin': '*' } });
  await h.req('PUT', 'open/cat', { body: 'test' });
  await h.req('PUT', 'closed');
  await h.req('PUT', 'closed/cat', { body: 'test' });
});
afterAll(async () => {
  await h.stop();
});

const preflight = (path: string, headers: Record<string, string>): ReturnType<StorageHarness['req']> => h.req('OPTIONS', path, { token: null, headers });

test('/info has swift.strict_cors_mode', async () => {
  const info = JSON.parse((await h.req('GET', '/info', { token: null })).text);
  expect(info.swift.strict_cors_mode).toBe(true);
  expect(info.swift.version).toBeDefined();
});

describe('preflight', () => {
  test('an allowed origin and method: 200 with the Access-Control-Allow-* headers, no token needed', async () => {
    const r = await preflight('web/page.html', {
      Origin: 'http://b.example',
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'X-Auth-Token, Content-Type, x-auth-token',
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('http://b.example');
    expect(r.headers.get('access-control-allow-methods')).toBe('GET, HEAD, PUT, POST, DELETE, OPTIONS');
    expect(r.headers.get('access-control-allow-headers')).toBe('X-Auth-Token, Content-Type, x-auth-token');
    expect(r.headers.get('access-control-max-age')).toBe('600');
    expect(r.headers.get('vary')).toBe('Origin, Access-Control-Request-Headers');
    expect(r.headers.get('allow')).toBe('GET, HEAD, PUT, POST, DELETE, OPTIONS');
    expect(r.text).toBe('');
  });

  test('a container allowing `*` answers `*` (on the container path too)', async () => {
    const r = await preflight('open', { Origin: 'http://m.example', 'Access-Control-Request-Method': 'GET' });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-max-age')).toBeNull();
    expect(r.headers.get('vary')).toBeNull();
  });

  test.each([
    ['an origin the container does not list', 'web/page.html', { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'GET' }],
    ['no Access-Control-Request-Method', 'open/cat', { Origin: 'http://m.example' }],
    ['a method not served there', 'open/cat', { Origin: 'http://m.example', 'Access-Control-Request-Method': 'PATCH' }],
    ['a container without CORS metadata', 'closed/cat', { Origin: 'http://m.example', 'Access-Control-Request-Method': 'GET' }],
    ['a container that does not exist', 'nowhere/cat', { Origin: 'http://m.example', 'Access-Control-Request-Method': 'GET' }],
  ])('%s: 401 without Access-Control-Allow-Origin', async (_what, path, headers) => {
    const r = await preflight(path, headers);
    expect(r.status).toBe(401);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(r.headers.get('allow')).toBe('GET, HEAD, PUT, POST, DELETE, OPTIONS');
  });

  test('OPTIONS without Origin, or on the account, is a plain 200 naming the methods', async () => {
    const plain = await preflight('closed/cat', {});
    expect(plain.status).toBe(200);
    expect(plain.headers.get('allow')).toBe('GET, HEAD, PUT, POST, DELETE, OPTIONS');
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const acct = await h.req('OPTIONS', h.accountUrl, { token: null, headers: { Origin: 'http://m.example', 'Access-Control-Request-Method': 'GET' } });
    expect(acct.status).toBe(200);
    expect(acct.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
  });
});

describe('actual requests', () => {
  test('an allowed origin gets Allow-Origin and Expose-Headers with the metadata and the listed headers', async () => {
    const r = await h.req('GET', 'web/page.html', { headers: { Origin: 'http://a.example' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('<p>hi</p>');
    expect(r.headers.get('access-control-allow-origin')).toBe('http://a.example');
    expect(r.headers.get('vary')).toBe('Origin');
    const exposed = (r.headers.get('access-control-expose-headers') ?? '').split(', ');
    expect(exposed).toEqual(expect.arrayContaining(['etag', 'content-type', 'x-timestamp', 'x-trans-id', 'x-object-meta-colour', 'x-custom-one', 'x-custom-two']));
  });

  test('`*` on a HEAD and on a container GET', async () => {
    const head = await h.req('HEAD', 'open/cat', { headers: { Origin: 'http://m.example' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('access-control-allow-origin')).toBe('*');
    const list = await h.req('GET', 'open', { headers: { Origin: 'http://m.example' } });
    expect(list.text).toBe('cat\n');
    expect(list.headers.get('access-control-allow-origin')).toBe('*');
    expect(list.headers.get('access-control-expose-headers')).toContain('x-container-meta-access-control-allow-origin');
  });

  test('error responses carry them too, so the page can read the status', async () => {
    const missing = await h.req('GET', 'open/none', { headers: { Origin: 'http://m.example' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    const anon = await h.req('GET', 'open/cat', { token: null, headers: { Origin: 'http://m.example' } });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('access-control-allow-origin')).toBe('*');
  });

  test('strict mode: an origin the container does not allow, or no Origin, gets no CORS headers', async () => {
    for (const [path, headers] of [
      ['web/page.html', { Origin: 'http://evil.example' }],
      ['closed/cat', { Origin: 'http://a.example' }],
      ['open/cat', {}],
    ] as const) {
      const r = await h.req('GET', path, { headers });
      expect(r.status).toBe(200);
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      expect(r.headers.get('access-control-expose-headers')).toBeNull();
    }
  });

  test('changing the container metadata changes the answer at once', async () => {
    await h.req('PUT', 'swap', { headers: { 'X-Container-Meta-Access-Control-Allow-Origin': '*' } });
    await h.req('PUT', 'swap/cat', { body: 'test' });
    expect((await preflight('swap/cat', { Origin: 'http://m.example', 'Access-Control-Request-Method': 'GET' })).status).toBe(200);
    await h.req('POST', 'swap', { headers: { 'X-Container-Meta-Access-Control-Allow-Origin': 'http://secret.example' } });
    expect((await preflight('swap/cat', { Origin: 'http://m.example', 'Access-Control-Request-Method': 'GET' })).status).toBe(401);
    const secret = await h.req('GET', 'swap/cat', { headers: { Origin: 'http://secret.example' } });
    expect(secret.headers.get('access-control-allow-origin')).toBe('http://secret.example');
  });
});
