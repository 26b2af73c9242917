// Server-side copy (COPY + Destination, PUT + X-Copy-From) and object expiry (X-Delete-At/After).
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { startStorage, TOKEN_A, TOKEN_B, PROJECT_A, PROJECT_B, type StorageHarness } from './harness';

let h: StorageHarness;
beforeAll(async () => {
  h = await startStorage();
  await h.req('PUT', 'src');
  await h.req('PUT', 'dst');
  await h.req('PUT', 'src/o', { body: 'payload', headers: { 'X-Object-Meta-Color': 'red', 'Content-Type': 'text/x-mine' } });
});
afterAll(async () => {
  await h.stop();
});

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

/** COPY is not a method fetch() will send. */
function rawReq(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${h.accountUrl}/${path}`, { method, headers: { 'X-Auth-Token': TOKEN_A, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode as number, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('copy', () => {
  test('COPY with Destination: 201, X-Copied-From headers, content and metadata copied', async () => {
    const r = await rawReq('COPY', 'src/o', { Destination: '/dst/o2', 'X-Object-Meta-Size': 'big' });
    expect(r.status).toBe(201);
    expect(r.headers.etag).toBe(md5('payload'));
    expect(r.headers['x-copied-from']).toBe('src/o');
    expect(r.headers['x-copied-from-account']).toBe(`AUTH_${PROJECT_A}`);
    expect(r.headers['x-copied-from-last-modified']).toMatch(/GMT$/);
    expect(r.headers['x-object-meta-color']).toBe('red');
    const g = await h.req('GET', 'dst/o2');
    expect(g.text).toBe('payload');
    expect(g.headers.get('content-type')).toBe('text/x-mine');
    expect(g.headers.get('x-object-meta-color')).toBe('red');
    expect(g.headers.get('x-object-meta-size')).toBe('big');
  });

  test('PUT with X-Copy-From (and X-Fresh-Metadata drops the source metadata)', async () => {
    const r = await h.req('PUT', 'dst/o3', { body: '', headers: { 'X-Copy-From': 'src/o', 'X-Fresh-Metadata': 'true', 'X-Object-Meta-New': 'yes' } });
    expect(r.status).toBe(201);
    const g = await h.req('GET', 'dst/o3');
    expect(g.text).toBe('payload');
    expect(g.headers.get('x-object-meta-color')).toBeNull();
    expect(g.headers.get('x-object-meta-new')).toBe('yes');
  });

  test('copy onto itself keeps the content; X-Copy-From-Account / Destination-Account of the own account work', async () => {
    expect((await rawReq('COPY', 'src/o', { Destination: 'src/o', 'Destination-Account': `AUTH_${PROJECT_A}` })).status).toBe(201);
    expect((await h.req('GET', 'src/o')).text).toBe('payload');
    const r = await h.req('PUT', 'dst/o4', { body: '', headers: { 'X-Copy-From': '/src/o', 'X-Copy-From-Account': `AUTH_${PROJECT_A}` } });
    expect(r.status).toBe(201);
  });

  test('bad input: missing source 404, missing destination container 404, malformed headers 412, foreign account 403', async () => {
    expect((await rawReq('COPY', 'src/nope', { Destination: 'dst/x' })).status).toBe(404);
    expect((await rawReq('COPY', 'src/o', { Destination: 'no-such/x' })).status).toBe(404);
    expect((await rawReq('COPY', 'src/o', { Destination: 'just-a-container' })).status).toBe(412);
    expect((await rawReq('COPY', 'src/o', {})).status).toBe(412);
    expect((await h.req('PUT', 'dst/x', { body: '', headers: { 'X-Copy-From': 'nosl' } })).status).toBe(412);
    expect((await h.req('PUT', 'dst/x', { body: '', headers: { 'X-Copy-From': 'src/o', 'X-Copy-From-Account': `AUTH_${PROJECT_B}` } })).status).toBe(403);
    expect((await rawReq('COPY', 'src/o', { Destination: 'dst/x', 'Destination-Account': `AUTH_${PROJECT_B}` })).status).toBe(403);
    // Someone else's token cannot copy out of this account.
    expect((await h.req('PUT', `/v1/AUTH_${PROJECT_B}/c/x`, { token: TOKEN_B, body: '', headers: { 'X-Copy-From': 'src/o', 'X-Copy-From-Account': `AUTH_${PROJECT_A}` } })).status).toBe(403);
    expect((await h.req('HEAD', 'dst/x')).status).toBe(404);
  });
});

describe('expiry', () => {
  test('X-Delete-After: shown as X-Delete-At, then 404 to GET, HEAD, POST and copy once past', async () => {
    const r = await h.req('PUT', 'src/soon', { body: 'x', headers: { 'X-Delete-After': '1' } });
    expect(r.status).toBe(201);
    const head = await h.req('HEAD', 'src/soon');
    expect(Number(head.headers.get('x-delete-at'))).toBeGreaterThan(Date.now() / 1000 - 1);
    await new Promise((res) => setTimeout(res, 2100));
    expect((await h.req('GET', 'src/soon')).status).toBe(404);
    expect((await h.req('HEAD', 'src/soon')).status).toBe(404);
    expect((await h.req('POST', 'src/soon', { headers: { 'X-Object-Meta-A': 'b' } })).status).toBe(404);
    expect((await h.req('PUT', 'dst/soon', { body: '', headers: { 'X-Copy-From': 'src/soon' } })).status).toBe(404);
    // A new PUT brings the name back.
    expect((await h.req('PUT', 'src/soon', { body: 'y' })).status).toBe(201);
    expect((await h.req('GET', 'src/soon')).text).toBe('y');
  });

  test('X-Delete-At in the future is kept; a POST without it clears it; POST can set it', async () => {
    const at = Math.floor(Date.now() / 1000) + 3600;
    await h.req('PUT', 'src/later', { body: 'x', headers: { 'X-Delete-At': String(at) } });
    expect((await h.req('HEAD', 'src/later')).headers.get('x-delete-at')).toBe(String(at));
    expect((await h.req('POST', 'src/later', { headers: { 'X-Object-Meta-A': 'b' } })).status).toBe(202);
    expect((await h.req('HEAD', 'src/later')).headers.get('x-delete-at')).toBeNull();
    expect((await h.req('POST', 'src/later', { headers: { 'X-Delete-At': String(at + 1) } })).status).toBe(202);
    expect((await h.req('HEAD', 'src/later')).headers.get('x-delete-at')).toBe(String(at + 1));
  });

  test('bad input: a time in the past is 400 "X-Delete-At in past"; non-integers are 400; nothing is written', async () => {
    let r = await h.req('PUT', 'src/past', { body: 'x', headers: { 'X-Delete-At': '1000' } });
    expect(r.status).toBe(400);
    expect(r.text).toBe('X-Delete-At in past');
    r = await h.req('PUT', 'src/past', { body: 'x', headers: { 'X-Delete-After': 'soon' } });
    expect(r.status).toBe(400);
    expect(r.text).toBe('Non-integer X-Delete-After');
    r = await h.req('PUT', 'src/past', { body: 'x', headers: { 'X-Delete-At': 'abc' } });
    expect(r.status).toBe(400);
    expect((await h.req('HEAD', 'src/past')).status).toBe(404);
    expect((await h.req('POST', 'src/o', { headers: { 'X-Delete-At': '1000' } })).status).toBe(400);
  });

  test('a client cannot forge system metadata through X-Object-Meta headers', async () => {
    // ':' cannot appear in a header name, so the nearest a client gets is a normal user key.
    await h.req('PUT', 'src/forge', { body: 'x', headers: { 'X-Object-Meta-Sys-Delete-At': '1' } });
    const r = await h.req('GET', 'src/forge');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-object-meta-sys-delete-at')).toBe('1');
  });
});
