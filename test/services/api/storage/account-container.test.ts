import { PROJECT_A, PROJECT_B, TOKEN_A, TOKEN_B, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;
beforeAll(async () => {
  h = await startStorage();
});
afterAll(async () => {
  await h.stop();
});

const TRANS_ID = /^tx[0-9a-f]{21}-[0-9a-f]{10}$/;
const X_TIMESTAMP = /^\d{10}\.\d{5}$/;

describe('cluster endpoints', () => {
  test('GET /healthcheck is 200 OK without a token', async () => {
    const r = await h.req('GET', '/healthcheck', { token: null });
    expect(r.status).toBe(200);
    expect(r.text).toBe('OK');
    expect(r.headers.get('x-trans-id')).toMatch(TRANS_ID);
  });

  test('GET /info advertises the constraints and only what is implemented', async () => {
    const r = await h.req('GET', '/info', { token: null });
    expect(r.status).toBe(200);
    const info = JSON.parse(r.text);
    // One key per optional feature, and only those implemented (no tempurl, symlink, versioning …).
    expect(Object.keys(info).sort()).toEqual(['bulk_delete', 'bulk_upload', 'container_quotas', 'container_sync', 'slo', 'swift', 'tempauth', 'tempurl']);
    expect(info.tempauth).toEqual({ account_acls: true });
    expect(info.tempurl.allowed_digests).toEqual(['sha1', 'sha256', 'sha512']);
    expect(info.bulk_delete.max_deletes_per_request).toBe(10000);
    expect(info.slo.max_manifest_segments).toBe(1000);
    expect(info.swift.container_listing_limit).toBe(10000);
    expect(info.swift.max_object_name_length).toBe(1024);
    expect(info.swift.max_meta_overall_size).toBe(4096);
    expect(info.swift.policies).toEqual([{ name: 'Policy-0', aliases: 'Policy-0', default: true }]);
    expect(info.swift.account_autocreate).toBe(true);
    expect(info.swift.strict_cors_mode).toBe(true);
    expect((await h.req('DELETE', '/info', { token: null })).status).toBe(405);
  });
});

describe('auth', () => {
  test('no token → 401 with the account realm and a trans id', async () => {
    const r = await h.req('HEAD', `/v1/AUTH_${PROJECT_A}`, { token: null });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe(`Swift realm="AUTH_${PROJECT_A}"`);
    expect(r.headers.get('x-trans-id')).toMatch(TRANS_ID);
    expect(r.headers.get('x-openstack-request-id')).toBe(r.headers.get('x-trans-id'));
  });

  test('a bad token → 401; X-Storage-Token works like X-Auth-Token', async () => {
    expect((await h.req('GET', `/v1/AUTH_${PROJECT_A}`, { token: 'nope' })).status).toBe(401);
    const r = await h.req('HEAD', `/v1/AUTH_${PROJECT_B}`, { token: null, headers: { 'X-Storage-Token': TOKEN_B } });
    expect(r.status).toBe(204);
  });

  test("another project's account → 403; the reserved system account → 403", async () => {
    const r = await h.req('GET', `/v1/AUTH_${PROJECT_B}`);
    expect(r.status).toBe(403);
    expect(r.text).toContain('<h1>Forbidden</h1>');
    expect((await h.req('PUT', `/v1/AUTH_${PROJECT_B}/c`)).status).toBe(403);
    expect((await h.req('GET', '/v1/.cairn/system')).status).toBe(403);
    expect((await h.req('GET', '/v1/.cairn/system', { token: null })).status).toBe(401);
  });
});

describe('account', () => {
  test('HEAD autocreates: 204 with zero counts and X-Timestamp', async () => {
    const r = await h.req('HEAD', `/v1/AUTH_${PROJECT_A}`);
    expect(r.status).toBe(204);
    expect(r.headers.get('x-account-container-count')).toBe('0');
    expect(r.headers.get('x-account-object-count')).toBe('0');
    expect(r.headers.get('x-account-bytes-used')).toBe('0');
    expect(r.headers.get('x-timestamp')).toMatch(X_TIMESTAMP);
  });

  test('POST sets and removes X-Account-Meta-*', async () => {
    let r = await h.req('POST', `/v1/AUTH_${PROJECT_A}`, { headers: { 'X-Account-Meta-Color': 'blue', 'X-Account-Meta-Size': 'L' } });
    expect(r.status).toBe(204);
    r = await h.req('HEAD', `/v1/AUTH_${PROJECT_A}`);
    expect(r.headers.get('x-account-meta-color')).toBe('blue');
    await h.req('POST', `/v1/AUTH_${PROJECT_A}`, { headers: { 'X-Remove-Account-Meta-Color': 'x', 'X-Account-Meta-Size': '' } });
    r = await h.req('HEAD', `/v1/AUTH_${PROJECT_A}`);
    expect(r.headers.get('x-account-meta-color')).toBeNull();
    expect(r.headers.get('x-account-meta-size')).toBeNull();
  });

  test('PUT and DELETE on an account are not allowed', async () => {
    expect((await h.req('PUT', `/v1/AUTH_${PROJECT_A}`)).status).toBe(405);
    expect((await h.req('DELETE', `/v1/AUTH_${PROJECT_A}`)).status).toBe(405);
  });

  test('GET lists containers with counts; empty plain listing is 204', async () => {
    const b = await h.req('GET', `/v1/AUTH_${PROJECT_B}`, { token: TOKEN_B });
    expect(b.status).toBe(204);
    expect((await h.req('GET', `/v1/AUTH_${PROJECT_B}?format=json`, { token: TOKEN_B })).text).toBe('[]');
    await h.req('PUT', 'acc1');
    await h.req('PUT', 'acc1/o1', { body: 'hello' });
    await h.req('PUT', 'acc2');
    const r = await h.req('GET', `/v1/AUTH_${PROJECT_A}?format=json&prefix=acc`);
    expect(r.status).toBe(200);
    const list = JSON.parse(r.text);
    expect(list.map((c: { name: string }) => c.name)).toEqual(['acc1', 'acc2']);
    expect(list[0]).toMatchObject({ name: 'acc1', count: 1, bytes: 5 });
    expect(list[0].last_modified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(r.headers.get('x-account-object-count')).toBe('1');
    expect(r.headers.get('x-account-bytes-used')).toBe('5');
    const plain = await h.req('GET', `/v1/AUTH_${PROJECT_A}?prefix=acc`);
    expect(plain.text).toBe('acc1\nacc2\n');
    expect(plain.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });
});

describe('container', () => {
  test('PUT 201 then 202 (metadata merged), HEAD 204 with headers', async () => {
    expect((await h.req('PUT', 'c1', { headers: { 'X-Container-Meta-A': '1' } })).status).toBe(201);
    expect((await h.req('PUT', 'c1', { headers: { 'X-Container-Meta-B': '2' } })).status).toBe(202);
    const r = await h.req('HEAD', 'c1');
    expect(r.status).toBe(204);
    expect(r.headers.get('x-container-meta-a')).toBe('1');
    expect(r.headers.get('x-container-meta-b')).toBe('2');
    expect(r.headers.get('x-container-object-count')).toBe('0');
    expect(r.headers.get('x-container-bytes-used')).toBe('0');
    expect(r.headers.get('x-storage-policy')).toBe('Policy-0');
    expect(r.headers.get('x-timestamp')).toMatch(X_TIMESTAMP);
    expect(r.headers.get('last-modified')).toMatch(/GMT$/);
  });

  test('metadata names come back title-cased and UTF-8 values round-trip', async () => {
    await h.req('PUT', 'c-meta');
    const value = Buffer.from('grüße ☃', 'utf8').toString('latin1');
    expect((await h.req('POST', 'c-meta', { headers: { 'x-container-meta-some-thing': 'v', 'X-Container-Meta-Text': value } })).status).toBe(204);
    const res = await fetch(`${h.accountUrl}/c-meta`, { method: 'HEAD', headers: { 'X-Auth-Token': TOKEN_A } });
    const raw = [...res.headers.entries()];
    expect(raw.find(([k]) => k === 'x-container-meta-some-thing')?.[1]).toBe('v');
    expect(Buffer.from(res.headers.get('x-container-meta-text') as string, 'latin1').toString('utf8')).toBe('grüße ☃');
    const rows = await h.db.query<{ meta: Record<string, string> }>("SELECT meta FROM os_containers WHERE name = 'c-meta'");
    expect(rows[0].meta).toEqual({ 'some-thing': 'v', text: 'grüße ☃' });
  });

  test('POST removes with X-Remove-Container-Meta-* or an empty value; missing container → 404', async () => {
    await h.req('PUT', 'c2', { headers: { 'X-Container-Meta-A': '1', 'X-Container-Meta-B': '2' } });
    expect((await h.req('POST', 'c2', { headers: { 'X-Remove-Container-Meta-A': 'x', 'X-Container-Meta-B': '' } })).status).toBe(204);
    const r = await h.req('HEAD', 'c2');
    expect(r.headers.get('x-container-meta-a')).toBeNull();
    expect(r.headers.get('x-container-meta-b')).toBeNull();
    expect((await h.req('POST', 'nope')).status).toBe(404);
  });

  test('HEAD/GET/DELETE of a missing container → 404 with an HTML body', async () => {
    const r = await h.req('GET', 'missing');
    expect(r.status).toBe(404);
    expect(r.text).toBe('<html><h1>Not Found</h1><p>The resource could not be found.</p></html>');
    expect(r.headers.get('x-trans-id')).toMatch(TRANS_ID);
    expect((await h.req('HEAD', 'missing')).status).toBe(404);
    expect((await h.req('DELETE', 'missing')).status).toBe(404);
  });

  test('DELETE: 409 while not empty, 204 once empty', async () => {
    await h.req('PUT', 'c3');
    await h.req('PUT', 'c3/o', { body: 'x' });
    expect((await h.req('DELETE', 'c3')).status).toBe(409);
    expect((await h.req('DELETE', 'c3/o')).status).toBe(204);
    expect((await h.req('DELETE', 'c3')).status).toBe(204);
    expect((await h.req('HEAD', 'c3')).status).toBe(404);
  });

  test('versioning headers are refused (501), not silently ignored', async () => {
    const r = await h.req('PUT', 'c-ver', { headers: { 'X-Versions-Location': 'old' } });
    expect(r.status).toBe(501);
    expect((await h.req('HEAD', 'c-ver')).status).toBe(404);
  });
});
