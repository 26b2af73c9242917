// Dynamic (X-Object-Manifest) and static (?multipart-manifest=put) large objects, and bulk delete.
import { createHash } from 'node:crypto';
import { PROJECT_B, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');
const parts = ['aaaaa', 'bbbbbbb', 'cc'];
const whole = parts.join('');

beforeAll(async () => {
  h = await startStorage();
  await h.req('PUT', 'c');
  await h.req('PUT', 'segs');
  for (let i = 0; i < parts.length; i++) await h.req('PUT', `segs/big/${String(i).padStart(8, '0')}`, { body: parts[i] });
});
afterAll(async () => {
  await h.stop();
});

describe('DLO', () => {
  test('GET/HEAD concatenate the prefix in order, with a quoted ETag of the segment ETags', async () => {
    expect((await h.req('PUT', 'c/dlo', { body: '', headers: { 'X-Object-Manifest': 'segs/big/' } })).status).toBe(201);
    const etag = `"${md5(parts.map(md5).join(''))}"`;
    const g = await h.req('GET', 'c/dlo');
    expect(g.status).toBe(200);
    expect(g.text).toBe(whole);
    expect(g.headers.get('etag')).toBe(etag);
    expect(g.headers.get('x-object-manifest')).toBe('segs/big/');
    const head = await h.req('HEAD', 'c/dlo');
    expect(head.headers.get('content-length')).toBe(String(whole.length));
    expect(head.headers.get('etag')).toBe(etag);
    // ranges across segment boundaries
    const r = await h.req('GET', 'c/dlo', { headers: { Range: 'bytes=3-7' } });
    expect(r.status).toBe(206);
    expect(r.text).toBe(whole.slice(3, 8));
    expect(r.headers.get('content-range')).toBe(`bytes 3-7/${whole.length}`);
    expect((await h.req('GET', 'c/dlo', { headers: { 'If-None-Match': etag } })).status).toBe(304);
    // the manifest itself
    const m = await h.req('GET', 'c/dlo?multipart-manifest=get');
    expect(m.text).toBe('');
    expect(m.headers.get('etag')).toBe(md5(''));
    expect(m.headers.get('x-object-manifest')).toBe('segs/big/');
  });

  test('segments added later are picked up; a missing segment container is an empty object', async () => {
    await h.req('PUT', 'c/dlo-empty', { body: '', headers: { 'X-Object-Manifest': 'nowhere/x' } });
    const g = await h.req('GET', 'c/dlo-empty');
    expect(g.status).toBe(200);
    expect(g.text).toBe('');
    await h.req('PUT', 'segs/grow/1', { body: 'one' });
    await h.req('PUT', 'c/dlo-grow', { body: '', headers: { 'X-Object-Manifest': 'segs/grow/' } });
    await h.req('PUT', 'segs/grow/2', { body: 'two' });
    expect((await h.req('GET', 'c/dlo-grow')).text).toBe('onetwo');
    // a POST that repeats X-Object-Manifest keeps the object a manifest; one without it makes the
    // manifest an ordinary object again, as in Swift 2.30 (its functional test_dlo checks this)
    await h.req('POST', 'c/dlo-grow', { headers: { 'X-Object-Meta-A': 'b', 'X-Object-Manifest': 'segs/grow/' } });
    expect((await h.req('GET', 'c/dlo-grow')).text).toBe('onetwo');
    await h.req('POST', 'c/dlo-grow', { headers: { 'X-Object-Meta-A': 'b' } });
    const plain = await h.req('GET', 'c/dlo-grow');
    expect(plain.text).toBe('');
    expect(plain.headers.get('x-object-manifest')).toBeNull();
  });

  test('bad input: a manifest without container/prefix is 400 and nothing is written; unsatisfiable range 416', async () => {
    const r = await h.req('PUT', 'c/bad-dlo', { body: '', headers: { 'X-Object-Manifest': 'no-slash' } });
    expect(r.status).toBe(400);
    expect(r.text).toBe('X-Object-Manifest must be in the format container/prefix');
    expect((await h.req('HEAD', 'c/bad-dlo')).status).toBe(404);
    expect((await h.req('GET', 'c/dlo', { headers: { Range: 'bytes=100-200' } })).status).toBe(416);
  });
});

describe('SLO', () => {
  const manifest = (): string =>
    JSON.stringify(parts.map((p, i) => ({ path: `/segs/big/${String(i).padStart(8, '0')}`, etag: md5(p), size_bytes: p.length })));
  const sloEtag = md5(parts.map(md5).join(''));

  test('PUT ?multipart-manifest=put: 201 quoted ETag; GET/HEAD assembled with X-Static-Large-Object and X-Manifest-Etag', async () => {
    const put = await h.req('PUT', 'c/slo?multipart-manifest=put', { body: manifest(), headers: { 'Content-Type': 'text/plain', 'X-Object-Meta-K': 'v' } });
    expect(put.status).toBe(201);
    expect(put.headers.get('etag')).toBe(`"${sloEtag}"`);
    const g = await h.req('GET', 'c/slo');
    expect(g.text).toBe(whole);
    expect(g.headers.get('x-static-large-object')).toBe('True');
    expect(g.headers.get('etag')).toBe(`"${sloEtag}"`);
    expect(g.headers.get('x-manifest-etag')).toMatch(/^[0-9a-f]{32}$/);
    expect(g.headers.get('content-type')).toBe('text/plain');
    expect(g.headers.get('x-object-meta-k')).toBe('v');
    const head = await h.req('HEAD', 'c/slo');
    expect(head.headers.get('content-length')).toBe(String(whole.length));
    const r = await h.req('GET', 'c/slo', { headers: { Range: 'bytes=-4' } });
    expect(r.text).toBe(whole.slice(-4));
  });

  test('?multipart-manifest=get returns the stored manifest; &format=raw the PUT form', async () => {
    const m = await h.req('GET', 'c/slo?multipart-manifest=get');
    expect(m.headers.get('content-type')).toMatch(/^application\/json/);
    const list = JSON.parse(m.text) as { name: string; bytes: number; hash: string }[];
    expect(list.map((s) => [s.name, s.bytes, s.hash])).toEqual(parts.map((p, i) => [`/segs/big/${String(i).padStart(8, '0')}`, p.length, md5(p)]));
    const raw = JSON.parse((await h.req('GET', 'c/slo?multipart-manifest=get&format=raw')).text);
    expect(raw[0]).toEqual({ path: '/segs/big/00000000', etag: md5(parts[0]), size_bytes: parts[0].length });
  });

  test('ranged segments and null etag/size are accepted', async () => {
    const body = JSON.stringify([{ path: '/segs/big/00000001', etag: null, size_bytes: null, range: '1-3' }, { path: 'segs/big/00000002' }]);
    expect((await h.req('PUT', 'c/slo-ranged?multipart-manifest=put', { body })).status).toBe(201);
    expect((await h.req('GET', 'c/slo-ranged')).text).toBe('bbbcc');
  });

  test('bad input: missing segment, wrong etag or size → 400 "Errors:" listing each; invalid JSON 400; nothing written', async () => {
    const body = JSON.stringify([
      { path: '/segs/big/00000000', etag: 'ffffffffffffffffffffffffffffffff', size_bytes: 5 },
      { path: '/segs/nope', etag: null, size_bytes: null },
      { path: '/segs/big/00000001', etag: null, size_bytes: 99 },
    ]);
    const r = await h.req('PUT', 'c/slo-bad?multipart-manifest=put', { body });
    expect(r.status).toBe(400);
    expect(r.text).toBe('Errors:\n/segs/big/00000000, Etag Mismatch\n/segs/nope, 404 Not Found\n/segs/big/00000001, Size Mismatch');
    expect((await h.req('PUT', 'c/slo-bad?multipart-manifest=put', { body: '{nope' })).status).toBe(400);
    expect((await h.req('PUT', 'c/slo-bad?multipart-manifest=put', { body: '{}' })).text).toBe('Manifest must be a list.');
    expect((await h.req('PUT', 'c/slo-bad?multipart-manifest=put', { body: '[]' })).status).toBe(400);
    expect((await h.req('PUT', 'c/slo-bad?multipart-manifest=put', { body: '[{"path": "/segs/big/00000000", "x": 1}]' })).status).toBe(400);
    expect((await h.req('PUT', 'c/slo-bad?multipart-manifest=put', { body: '[{"path": "/segs/big/00000000", "range": "9-20"}]' })).status).toBe(400);
    expect((await h.req('HEAD', 'c/slo-bad')).status).toBe(404);
  });

  test('a manifest may name another SLO (whole or a range of it); a DLO segment is refused', async () => {
    const inner = JSON.parse((await h.req('HEAD', 'c/slo')).headers.get('etag') as string);
    const body = JSON.stringify([{ path: '/segs/big/00000000' }, { path: '/c/slo', etag: inner, size_bytes: whole.length }, { path: '/c/slo', range: '4-8' }]);
    expect((await h.req('PUT', 'c/slo-nested?multipart-manifest=put', { body })).status).toBe(201);
    const g = await h.req('GET', 'c/slo-nested');
    expect(g.text).toBe(parts[0] + whole + whole.slice(4, 9));
    expect((await h.req('GET', 'c/slo-nested', { headers: { Range: 'bytes=3-12' } })).text).toBe((parts[0] + whole + whole.slice(4, 9)).slice(3, 13));
    // deleting the outer manifest removes the nested one and every segment
    await h.req('PUT', 'segs/n1', { body: 'n1' });
    await h.req('PUT', 'c/inner?multipart-manifest=put', { body: JSON.stringify([{ path: '/segs/n1' }]) });
    await h.req('PUT', 'c/outer?multipart-manifest=put', { body: JSON.stringify([{ path: '/c/inner' }]) });
    expect((await h.req('GET', 'c/outer')).text).toBe('n1');
    const del = await h.req('DELETE', 'c/outer?multipart-manifest=delete', { headers: { Accept: 'application/json' } });
    expect(JSON.parse(del.text)['Number Deleted']).toBe(3);
    expect((await h.req('HEAD', 'segs/n1')).status).toBe(404);
    const dloSeg = await h.req('PUT', 'c/slo-dlo?multipart-manifest=put', { body: JSON.stringify([{ path: '/c/dlo' }]) });
    expect(dloSeg.status).toBe(400);
    expect(dloSeg.text).toMatch(/^Errors:\n\/c\/dlo, /);
  });

  test('a segment changed after the manifest was written breaks the GET instead of returning other bytes', async () => {
    await h.req('PUT', 'segs/mut', { body: 'original' });
    await h.req('PUT', 'c/slo-mut?multipart-manifest=put', { body: JSON.stringify([{ path: '/segs/mut', etag: md5('original') }]) });
    await h.req('PUT', 'segs/mut', { body: 'replaced' });
    // Found before any byte is sent: 409, as Swift's first-segment check answers.
    expect((await h.req('GET', 'c/slo-mut')).status).toBe(409);
    // Found after the first segment was sent: the connection is cut, never other bytes.
    await h.req('PUT', 'segs/first', { body: 'x'.repeat(100_000) });
    await h.req('PUT', 'segs/second', { body: 'original' });
    const manifest = [{ path: '/segs/first', etag: md5('x'.repeat(100_000)) }, { path: '/segs/second', etag: md5('original') }];
    await h.req('PUT', 'c/slo-mut2?multipart-manifest=put', { body: JSON.stringify(manifest) });
    await h.req('PUT', 'segs/second', { body: 'replaced' });
    await expect(h.req('GET', 'c/slo-mut2')).rejects.toThrow();
  });

  test('copy of an SLO copies the assembled bytes; with ?multipart-manifest=get the manifest', async () => {
    expect((await h.req('PUT', 'c/slo-copy', { body: '', headers: { 'X-Copy-From': 'c/slo' } })).status).toBe(201);
    const g = await h.req('GET', 'c/slo-copy');
    expect(g.text).toBe(whole);
    expect(g.headers.get('x-static-large-object')).toBeNull();
    expect((await h.req('PUT', 'c/slo-copy2?multipart-manifest=get', { body: '', headers: { 'X-Copy-From': 'c/slo' } })).status).toBe(201);
    const g2 = await h.req('GET', 'c/slo-copy2');
    expect(g2.headers.get('x-static-large-object')).toBe('True');
    expect(g2.text).toBe(whole);
  });

  test('DELETE ?multipart-manifest=delete removes segments and manifest with a report', async () => {
    await h.req('PUT', 'segs/d1', { body: 'x' });
    await h.req('PUT', 'segs/d2', { body: 'y' });
    await h.req('PUT', 'c/slo-del?multipart-manifest=put', { body: JSON.stringify([{ path: '/segs/d1' }, { path: '/segs/d2' }]) });
    const r = await h.req('DELETE', 'c/slo-del?multipart-manifest=delete', { headers: { Accept: 'application/json' } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ 'Number Deleted': 3, 'Number Not Found': 0, Errors: [] });
    expect((await h.req('HEAD', 'segs/d1')).status).toBe(404);
    expect((await h.req('HEAD', 'c/slo-del')).status).toBe(404);
  });
});

describe('bulk delete', () => {
  test('POST ?bulk-delete deletes objects and containers; JSON and text reports; 409 for a non-empty container', async () => {
    await h.req('PUT', 'bulk');
    for (let i = 0; i < 5; i++) await h.req('PUT', `bulk/o ${i}`, { body: 'x' });
    const lines = ['/bulk/o%200', '/bulk/o%201', '/bulk/missing', '/bulk'].join('\n');
    const r = await h.req('POST', '?bulk-delete', { body: lines, headers: { 'Content-Type': 'text/plain', Accept: 'application/json' } });
    expect(r.status).toBe(200);
    const report = JSON.parse(r.text);
    expect(report).toEqual({ 'Number Deleted': 2, 'Number Not Found': 1, 'Response Status': '400 Bad Request', 'Response Body': 'Invalid bulk delete.', Errors: [['/bulk', '409 Conflict']] });
    const rest = ['/bulk/o%202', '/bulk/o%203', '/bulk/o%204', '/bulk'].join('\n');
    const t = await h.req('DELETE', '?bulk-delete', { body: rest, headers: { 'Content-Type': 'text/plain' } });
    expect(t.text).toBe('Number Deleted: 4\nNumber Not Found: 0\nResponse Status: 200 OK\nResponse Body: \nErrors:\n');
    expect((await h.req('HEAD', 'bulk')).status).toBe(404);
  });

  test('bad input: more than 10000 paths is 413 before anything is deleted; another account is 403', async () => {
    await h.req('PUT', 'keep');
    await h.req('PUT', 'keep/o', { body: 'x' });
    const many = ['/keep/o', ...Array.from({ length: 10_000 }, (_, i) => `/keep/x${i}`)].join('\n');
    expect((await h.req('POST', '?bulk-delete', { body: many })).status).toBe(413);
    expect((await h.req('HEAD', 'keep/o')).status).toBe(200);
    expect((await h.req('POST', `/v1/AUTH_${PROJECT_B}?bulk-delete`, { body: '/keep/o' })).status).toBe(403);
  });
});
