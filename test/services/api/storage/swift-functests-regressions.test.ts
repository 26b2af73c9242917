// Behaviours Swift's own functional tests (openstack/swift 2.30.1, run by tools/swift-functests.sh)
// found missing or wrong; each test pins one fix, checked here against the real pipeline.
import { createHash, createHmac } from 'node:crypto';
import { PROJECT_A, PROJECT_B, TOKEN_B, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  h = await startStorage();
  await h.req('PUT', 'c');
  await h.req('PUT', 'c/seg1', { body: 'x'.repeat(10) });
  await h.req('PUT', 'c/seg2', { body: 'y'.repeat(5) });
});
afterAll(async () => {
  await h.stop();
});

describe('SLO', () => {
  test('inline data segments are assembled in order and counted in the ETag and size', async () => {
    const pre = Buffer.from('PRE!');
    const post = Buffer.from('post');
    const manifest = [{ data: pre.toString('base64') }, { path: '/c/seg1' }, { data: post.toString('base64') }, { path: '/c/seg2' }];
    const put = await h.req('PUT', 'c/mixed?multipart-manifest=put', { body: JSON.stringify(manifest) });
    expect(put.status).toBe(201);
    const etag = md5(md5(pre) + md5('x'.repeat(10)) + md5(post) + md5('y'.repeat(5)));
    expect(put.headers.get('etag')).toBe(`"${etag}"`);
    const g = await h.req('GET', 'c/mixed');
    expect(g.text).toBe(`PRE!${'x'.repeat(10)}post${'y'.repeat(5)}`);
    expect(g.headers.get('content-length')).toBe('23');
    const r = await h.req('GET', 'c/mixed', { headers: { Range: 'bytes=2-5' } });
    expect(r.status).toBe(206);
    expect(r.text).toBe('E!xx');
    // The raw manifest keeps data segments in the PUT form.
    const raw = JSON.parse((await h.req('GET', 'c/mixed?multipart-manifest=get&format=raw')).text) as Record<string, unknown>[];
    expect(raw[0]).toEqual({ data: pre.toString('base64') });
    expect(raw[1]).toEqual({ etag: md5('x'.repeat(10)), path: '/c/seg1', size_bytes: 10 });
  });

  test('bad data segments and all-data manifests are 400 with Swift wording; nothing is written', async () => {
    const bad = await h.req('PUT', 'c/bad?multipart-manifest=put', { body: JSON.stringify([{ data: 'not base64!' }, { path: '/c/seg1' }]) });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Index 0: data must be valid base64');
    const only = await h.req('PUT', 'c/bad?multipart-manifest=put', { body: JSON.stringify([{ data: 'QUJD' }]) });
    expect(only.status).toBe(400);
    expect(only.text).toContain('Inline data segments require at least one object-backed segment.');
    expect((await h.req('HEAD', 'c/bad')).status).toBe(404);
  });

  test('a manifest naming itself as a segment is refused and the segment survives', async () => {
    const r = await h.req('PUT', 'c/seg1?multipart-manifest=put', { body: JSON.stringify([{ path: '/c/seg1' }, { path: '/c/seg2' }]) });
    expect(r.status).toBe(400);
    expect(r.text).toContain('manifest must not include itself as a segment');
    expect((await h.req('GET', 'c/seg1')).text).toBe('x'.repeat(10));
  });

  test('If-None-Match on a manifest PUT: only * is understood, and it refuses an existing name', async () => {
    const body = JSON.stringify([{ path: '/c/seg1' }]);
    expect((await h.req('PUT', 'c/inm?multipart-manifest=put', { body, headers: { 'If-None-Match': '"x"' } })).status).toBe(400);
    expect((await h.req('PUT', 'c/inm?multipart-manifest=put', { body, headers: { 'If-None-Match': '*' } })).status).toBe(201);
    expect((await h.req('PUT', 'c/inm?multipart-manifest=put', { body, headers: { 'If-None-Match': '*' } })).status).toBe(412);
  });

  test('format=raw answers with the manifest ETag of its own body; a copied manifest keeps its type', async () => {
    await h.req('PUT', 'c/typed?multipart-manifest=put', { body: JSON.stringify([{ path: '/c/seg1' }]), headers: { 'Content-Type': 'application/octet-stream' } });
    const raw = await h.req('GET', 'c/typed?multipart-manifest=get&format=raw');
    expect(raw.headers.get('etag')).toBe(md5(raw.body));
    expect(raw.headers.get('content-type')).toBe('application/octet-stream');
    expect((await h.req('COPY', 'c/typed?multipart-manifest=get', { headers: { Destination: 'c/typed-copy' } })).status).toBe(201);
    const copied = await h.req('HEAD', 'c/typed-copy');
    expect(copied.headers.get('x-static-large-object')).toBe('True');
    expect(copied.headers.get('content-type')).toBe('application/octet-stream');
    // Given a new type, the copied manifest still lists with its assembled size.
    await h.req('COPY', 'c/typed?multipart-manifest=get', { headers: { Destination: 'c/typed-jpeg', 'Content-Type': 'image/jpeg' } });
    const rows = JSON.parse((await h.req('GET', 'c?format=json&prefix=typed-jpeg')).text) as Record<string, unknown>[];
    expect(rows[0]).toMatchObject({ bytes: 10, content_type: 'image/jpeg' });
  });
});

describe('SLO in container listings', () => {
  test('a manifest lists with its assembled size, the manifest MD5 as hash and the SLO ETag, also after a POST', async () => {
    await h.req('PUT', 'listed');
    const put = await h.req('PUT', 'listed/m?multipart-manifest=put', { body: JSON.stringify([{ path: '/c/seg1' }, { path: '/c/seg2' }]), headers: { 'Content-Type': 'text/x-big' } });
    expect(put.status).toBe(201);
    const manifestMd5 = (await h.req('GET', 'listed/m?multipart-manifest=get')).headers.get('etag');
    const row = async (): Promise<Record<string, unknown>> => (JSON.parse((await h.req('GET', 'listed?format=json')).text) as Record<string, unknown>[])[0];
    expect(await row()).toMatchObject({ name: 'm', bytes: 15, hash: manifestMd5, content_type: 'text/x-big', slo_etag: put.headers.get('etag') });
    const head = await h.req('HEAD', 'listed/m');
    expect(head.headers.get('content-type')).toBe('text/x-big');
    expect(head.headers.get('content-length')).toBe('15');
    expect((await h.req('POST', 'listed/m', { headers: { 'Content-Type': 'text/x-other' } })).status).toBe(202);
    expect(await row()).toMatchObject({ bytes: 15, content_type: 'text/x-other', slo_etag: put.headers.get('etag') });
    expect((await h.req('HEAD', 'listed/m')).headers.get('content-type')).toBe('text/x-other');
    const xml = (await h.req('GET', 'listed?format=xml')).text;
    expect(xml).toContain('<bytes>15</bytes><content_type>text/x-other</content_type>');
  });

  test('a client cannot make a plain object list with another size', async () => {
    await h.req('PUT', 'listed/plain', { body: 'abc', headers: { 'Content-Type': 'text/plain;swift_bytes=999;slo_etag=0123456789abcdef0123456789abcdef' } });
    const rows = JSON.parse((await h.req('GET', 'listed?format=json&prefix=plain')).text) as Record<string, unknown>[];
    expect(rows[0]).toEqual(expect.objectContaining({ bytes: 3, content_type: 'text/plain' }));
    expect(rows[0].slo_etag).toBeUndefined();
    expect((await h.req('GET', 'listed/plain')).headers.get('content-type')).toBe('text/plain');
  });
});

describe('objects', () => {
  test('If-None-Match on a plain PUT other than * is 400', async () => {
    const r = await h.req('PUT', 'c/o-inm', { body: 'a', headers: { 'If-None-Match': 'abc' } });
    expect(r.status).toBe(400);
    expect(r.text).toContain('If-None-Match only supports *');
  });

  test('Range headers with white space are understood; a 416 still carries ETag and Accept-Ranges', async () => {
    await h.req('PUT', 'c/ten', { body: '0123456789' });
    for (const range of ['BYTES=2-4', 'bytes = 2-4', 'bytes = 2 - 4', 'bytes=2-4 ']) {
      const r = await h.req('GET', 'c/ten', { headers: { Range: range } });
      expect([range, r.status, r.text]).toEqual([range, 206, '234']);
    }
    const bad = await h.req('GET', 'c/ten', { headers: { Range: 'bytes=50-60' } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('etag')).toBe(md5('0123456789'));
    expect(bad.headers.get('accept-ranges')).toBe('bytes');
  });

  test('a copy with Range copies that part of the source', async () => {
    const r = await h.req('COPY', 'c/ten', { headers: { Destination: 'c/ten-part', Range: 'bytes=3-5' } });
    expect(r.status).toBe(201);
    const g = await h.req('GET', 'c/ten-part');
    expect(g.text).toBe('345');
    expect(g.headers.get('etag')).toBe(md5('345'));
  });

  test("a cross-account copy is allowed by the other account's write ACL, refused without it", async () => {
    const other = `AUTH_${PROJECT_B}`;
    expect((await h.req('PUT', `/v1/${other}/closed`, { token: TOKEN_B })).status).toBe(201);
    expect((await h.req('COPY', 'c/ten', { headers: { Destination: 'closed/x', 'Destination-Account': other } })).status).toBe(403);
    // A missing source is 404 before the destination is looked at, as in Swift.
    expect((await h.req('COPY', 'c/nothing', { headers: { Destination: 'closed/x', 'Destination-Account': other } })).status).toBe(404);
    expect((await h.req('PUT', `/v1/${other}/open`, { token: TOKEN_B, headers: { 'X-Container-Write': `*:*` } })).status).toBe(201);
    expect((await h.req('COPY', 'c/ten', { headers: { Destination: 'open/x', 'Destination-Account': other } })).status).toBe(201);
    expect((await h.req('GET', `/v1/${other}/open/x`, { token: TOKEN_B })).text).toBe('0123456789');
    // A manifest copied as such into the other account is checked there: its segments are missing
    // (404) or unreadable (403), each named in the 400.
    await h.req('PUT', 'c/m-for-b?multipart-manifest=put', { body: JSON.stringify([{ path: '/c/seg1' }]) });
    const noRead = await h.req('COPY', 'c/m-for-b?multipart-manifest=get', { headers: { Destination: 'open/m', 'Destination-Account': other } });
    expect([noRead.status, noRead.text]).toEqual([400, 'Errors:\n/c/seg1, 403 Forbidden']);
    expect((await h.req('PUT', `/v1/${other}/c`, { token: TOKEN_B, headers: { 'X-Container-Read': '*:*' } })).status).toBe(201);
    const missing404 = await h.req('COPY', 'c/m-for-b?multipart-manifest=get', { headers: { Destination: 'open/m', 'Destination-Account': other } });
    expect([missing404.status, missing404.text]).toEqual([400, 'Errors:\n/c/seg1, 404 Not Found']);
    // The source side of X-Copy-From-Account needs read access too: a missing source is 404 once allowed.
    const missing = await h.req('PUT', `/v1/${other}/open/y`, { headers: { 'X-Copy-From': 'c/nothing', 'X-Copy-From-Account': `AUTH_${PROJECT_A}` }, body: '' });
    expect(missing.status).toBe(404);
  });

  test('the 401 realm is URL-quoted, so an account name cannot inject headers', async () => {
    const r = await h.req('GET', `/v1/${encodeURIComponent('AUTH_x"\nX-Evil: 1')}`, { token: null });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Swift realm="AUTH_x%22%0AX-Evil%3A%201"');
    expect(r.headers.get('x-evil')).toBeNull();
  });
});

describe('paths, listings, preconditions, expiry, containers', () => {
  test('a path that is not /v1/<account>… is 412 Bad URL', async () => {
    const r = await h.req('PUT', '/v1');
    expect([r.status, r.text]).toEqual([412, 'Bad URL']);
    expect((await h.req('GET', '/v1/')).status).toBe(412);
  });

  test('a NUL in a marker bounds the listing just after (or, reversed, at) the name before it', async () => {
    await h.req('PUT', 'marks');
    for (const n of ['a', 'b1', 'b2', 'c']) await h.req('PUT', `marks/${n}`, { body: n });
    const names = async (q: string): Promise<string> => (await h.req('GET', `marks?${q}`)).text.trim().split('\n').join(',');
    expect(await names('marker=b1%00')).toBe('b2,c');
    expect(await names('end_marker=b1%00')).toBe('a,b1');
    expect(await names('reverse=on&marker=b2%00&end_marker=a')).toBe('b2,b1');
    expect((await h.req('GET', 'marks?prefix=b%00')).status).toBe(412);
  });

  test('a legacy path= listing leaves out the directory marker object itself', async () => {
    await h.req('PUT', 'tree');
    for (const n of ['dir1/', 'dir1/file2', 'dir1/sub/', 'dir1/sub/file3', 'other']) await h.req('PUT', `tree/${n}`, { body: '' });
    expect((await h.req('GET', 'tree?path=dir1')).text).toBe('dir1/file2\ndir1/sub/\n');
    expect((await h.req('GET', 'tree?path=dir1/')).text).toBe('dir1/file2\ndir1/sub/\n');
    // A directory without a marker object is not listed (no `subdir` roll-ups in path mode).
    await h.req('PUT', 'tree/dir2/deep/file', { body: '' });
    expect((await h.req('GET', 'tree?path=')).text).toBe('dir1/\nother\n');
  });

  test('If-Unmodified-Since counts next to a matching If-Match; asctime dates are GMT', async () => {
    await h.req('PUT', 'c/cond', { body: 'v' });
    const old = 'Sun Nov  6 08:49:37 1994';
    expect((await h.req('GET', 'c/cond', { headers: { 'If-Match': md5('v'), 'If-Unmodified-Since': old } })).status).toBe(412);
    const future = new Date(Date.now() + 86_400_000).toUTCString();
    expect((await h.req('GET', 'c/cond', { headers: { 'If-Match': md5('v'), 'If-Unmodified-Since': future } })).status).toBe(200);
    const bogus = await h.req('GET', 'c/cond', { headers: { 'If-Match': 'bogus', 'If-Unmodified-Since': future } });
    expect([bogus.status, bogus.headers.get('etag')]).toEqual([412, md5('v')]);
  });

  test('X-Delete-At far in the future is clamped to 9999999999; a bad X-If-Delete-At is 400, a wrong one 412', async () => {
    expect((await h.req('PUT', 'c/far', { body: '', headers: { 'X-Delete-At': '1'.repeat(100) } })).status).toBe(201);
    expect((await h.req('HEAD', 'c/far')).headers.get('x-delete-at')).toBe('9999999999');
    expect((await h.req('DELETE', 'c/far', { headers: { 'X-If-Delete-At': 'bad' } })).status).toBe(400);
    expect((await h.req('DELETE', 'c/far', { headers: { 'X-If-Delete-At': '12345' } })).status).toBe(412);
    expect((await h.req('DELETE', 'c/far', { headers: { 'X-If-Delete-At': '9999999999' } })).status).toBe(204);
  });

  test('an unknown X-Storage-Policy is 400; the one policy by name (any case) is fine', async () => {
    const r = await h.req('PUT', 'pol', { headers: { 'X-Storage-Policy': 'gold' } });
    expect(r.status).toBe(400);
    expect(r.text).toContain("Invalid X-Storage-Policy 'gold'");
    expect((await h.req('HEAD', 'pol')).status).toBe(404);
    expect((await h.req('PUT', 'pol', { headers: { 'X-Storage-Policy': 'policy-0' } })).status).toBe(201);
    expect((await h.req('PUT', 'pol-default', { headers: { 'X-Storage-Policy': '' } })).status).toBe(201);
    expect((await h.req('HEAD', 'pol-default')).headers.get('x-storage-policy')).toBe('Policy-0');
  });

  test("an over-long container name's 400 is labelled text/html, an object's text/plain (as Swift does)", async () => {
    const c = await h.req('PUT', 'X'.repeat(300));
    expect([c.status, c.headers.get('content-type')]).toEqual([400, 'text/html; charset=UTF-8']);
    const o = await h.req('PUT', `c/${'o'.repeat(1100)}`, { body: '' });
    expect([o.status, o.headers.get('content-type')]).toEqual([400, 'text/plain; charset=UTF-8']);
  });

  test('a DLO answers a multi-range GET with the whole object; /info claims strict CORS (cors.ts)', async () => {
    await h.req('PUT', 'c/dlo-mr', { body: '', headers: { 'X-Object-Manifest': 'c/seg' } });
    const r = await h.req('GET', 'c/dlo-mr', { headers: { Range: 'bytes=0-1,3-4' } });
    expect([r.status, r.text]).toEqual([200, `${'x'.repeat(10)}${'y'.repeat(5)}`]);
    const info = JSON.parse((await h.req('GET', '/info', { token: null })).text) as { swift: Record<string, unknown> };
    expect(info.swift.strict_cors_mode).toBe(true);
  });
});

describe('container ACLs', () => {
  test('a `.r:*.example.com` referrer means any host of that domain (stored as `.r:.example.com`)', async () => {
    await h.req('PUT', 'ref', { headers: { 'X-Container-Read': '.r:*.example.com,.rlistings' } });
    await h.req('PUT', 'ref/o', { body: 'r' });
    expect((await h.req('HEAD', 'ref')).headers.get('x-container-read')).toBe('.r:.example.com,.rlistings');
    expect((await h.req('GET', 'ref/o', { token: null, headers: { Referer: 'http://blah.example.com/x' } })).status).toBe(200);
    expect((await h.req('GET', 'ref/o', { token: null, headers: { Referer: 'http://example.org/' } })).status).toBe(401);
  });

  test('an SLO readable through an ACL whose segments are not is 409, as in Swift; readable segments make it 200', async () => {
    await h.req('PUT', 'slo-pub', { headers: { 'X-Container-Read': '.r:*' } });
    await h.req('PUT', 'slo-segs');
    await h.req('PUT', 'slo-segs/s', { body: 'seg' });
    await h.req('PUT', 'slo-pub/m?multipart-manifest=put', { body: JSON.stringify([{ path: '/slo-segs/s' }]) });
    expect((await h.req('GET', 'slo-pub/m', { token: null })).status).toBe(409);
    await h.req('POST', 'slo-segs', { headers: { 'X-Container-Read': '.r:*' } });
    expect((await h.req('GET', 'slo-pub/m', { token: null })).text).toBe('seg');
  });

  test('a bare project name in a read ACL admits every user of that project (tempauth account group)', async () => {
    await h.req('PUT', 'proj-read', { headers: { 'X-Container-Read': 'other' } });
    await h.req('PUT', 'proj-read/o', { body: 'p' });
    expect((await h.req('GET', 'proj-read/o', { token: TOKEN_B })).text).toBe('p');
    expect((await h.req('PUT', 'proj-read/o', { token: TOKEN_B, body: 'no' })).status).toBe(403);
  });
});

describe('TempURL', () => {
  const key = 'functest-key';
  const sign = (method: string, expires: number, path: string, k = key): string => createHmac('sha256', k).update(`${method}\n${expires}\n${path}`).digest('hex');

  beforeAll(async () => {
    await h.req('POST', '', { headers: { 'X-Account-Meta-Temp-URL-Key': key } });
    await h.req('PUT', 'scoped', { headers: { 'X-Container-Meta-Temp-URL-Key': 'ckey' } });
    await h.req('PUT', 'scoped/dlo', { body: '', headers: { 'X-Object-Manifest': 'c/seg' } });
  });

  test('an ISO 8601 expiry is the same URL as the integer it stands for', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const path = `/v1/AUTH_${PROJECT_A}/c/ten`;
    const iso = new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const r = await h.req('GET', `${path}?temp_url_sig=${sign('GET', exp, path)}&temp_url_expires=${iso}`, { token: null });
    expect(r.status).toBe(200);
    expect(r.text).toBe('0123456789');
  });

  test('X-Object-Manifest and X-Symlink-Target are refused on TempURL uploads', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const path = `/v1/AUTH_${PROJECT_A}/c/via-tempurl`;
    const q = `?temp_url_sig=${sign('PUT', exp, path)}&temp_url_expires=${exp}`;
    const r = await h.req('PUT', `${path}${q}`, { token: null, body: '', headers: { 'X-Object-Manifest': 'elsewhere/x' } });
    expect(r.status).toBe(400);
    expect(r.text).toContain("The header 'X-Object-Manifest' is not allowed in this tempurl");
    expect((await h.req('HEAD', 'c/via-tempurl')).status).toBe(404);
    expect((await h.req('PUT', `${path}${q}`, { token: null, body: 'ok' })).status).toBe(201);
  });

  test("a container key's URL reaches only that container: a DLO with segments elsewhere is 401", async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const path = `/v1/AUTH_${PROJECT_A}/scoped/dlo`;
    const withContainerKey = await h.req('GET', `${path}?temp_url_sig=${sign('GET', exp, path, 'ckey')}&temp_url_expires=${exp}`, { token: null });
    expect(withContainerKey.status).toBe(401);
    const withAccountKey = await h.req('GET', `${path}?temp_url_sig=${sign('GET', exp, path)}&temp_url_expires=${exp}`, { token: null });
    expect(withAccountKey.status).toBe(200);
    expect(withAccountKey.text).toBe(`${'x'.repeat(10)}${'y'.repeat(5)}`);
  });
});
