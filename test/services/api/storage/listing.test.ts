import { PROJECT_A, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;
const NAMES = ['a', 'a/1', 'a/2', 'a/b/1', 'b', 'b/1', 'c-1', 'c-2', 'c/x', 'zz', 'é', '日本'];
beforeAll(async () => {
  h = await startStorage();
  await h.req('PUT', 'l');
  for (const n of NAMES) await h.req('PUT', `l/${encodeURIComponent(n)}`, { body: n, headers: { 'Content-Type': 'text/plain' } });
  await h.req('PUT', 'empty');
});
afterAll(async () => {
  await h.stop();
});

async function names(query: string): Promise<string[]> {
  const r = await h.req('GET', `l?format=json&${query}`);
  expect(r.status).toBe(200);
  return JSON.parse(r.text).map((e: { name?: string; subdir?: string }) => e.name ?? `sub:${e.subdir}`);
}

describe('container listing', () => {
  test('plain: one name per line, in UTF-8 byte order', async () => {
    const r = await h.req('GET', 'l');
    expect(r.status).toBe(200);
    expect(r.text).toBe(NAMES.map((n) => `${n}\n`).join(''));
    expect(r.headers.get('x-container-object-count')).toBe(String(NAMES.length));
  });

  test('JSON entries carry bytes, hash, name, content_type, last_modified in that order', async () => {
    const r = await h.req('GET', 'l?format=json&limit=1');
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const [e] = JSON.parse(r.text);
    expect(Object.keys(e)).toEqual(['bytes', 'hash', 'name', 'content_type', 'last_modified']);
    expect(e).toMatchObject({ bytes: 1, hash: '0cc175b9c0f1b6a831c399e269772661', name: 'a', content_type: 'text/plain' });
    expect(e.last_modified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const viaAccept = await h.req('GET', 'l?limit=1', { headers: { Accept: 'application/json' } });
    expect(JSON.parse(viaAccept.text)[0].name).toBe('a');
  });

  test('XML format', async () => {
    const r = await h.req('GET', 'l?format=xml&prefix=a/&delimiter=/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/xml; charset=utf-8');
    expect(r.text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<container name="l">/);
    expect(r.text).toContain('<object><name>a/1</name><hash>');
    expect(r.text).toContain('<subdir name="a/b/"><name>a/b/</name></subdir>');
    expect(r.text).toMatch(/<\/container>$/);
  });

  test('prefix', async () => {
    expect(await names('prefix=a/')).toEqual(['a/1', 'a/2', 'a/b/1']);
    expect(await names('prefix=c')).toEqual(['c-1', 'c-2', 'c/x']);
    expect(await names('prefix=nothing')).toEqual([]);
  });

  test('delimiter rolls names up into subdir entries, sorted in', async () => {
    expect(await names('delimiter=/')).toEqual(['a', 'sub:a/', 'b', 'sub:b/', 'c-1', 'c-2', 'sub:c/', 'zz', 'é', '日本']);
    expect(await names('prefix=a/&delimiter=/')).toEqual(['a/1', 'a/2', 'sub:a/b/']);
    expect(await names('delimiter=-')).toContain('sub:c-');
    // Legacy path= lists direct children only: no subdir roll-ups (a/b/ has no marker object).
    expect(await names('path=a')).toEqual(['a/1', 'a/2']);
  });

  test('marker, end_marker, limit; paging with marker=<subdir> as swiftclient does', async () => {
    expect(await names('marker=b')).toEqual(['b/1', 'c-1', 'c-2', 'c/x', 'zz', 'é', '日本']);
    expect(await names('end_marker=a/2')).toEqual(['a', 'a/1']);
    expect(await names('marker=a&end_marker=b')).toEqual(['a/1', 'a/2', 'a/b/1']);
    expect(await names('limit=2')).toEqual(['a', 'a/1']);
    expect(await names('limit=2&delimiter=/')).toEqual(['a', 'sub:a/']);
    expect(await names('limit=2&delimiter=/&marker=a/')).toEqual(['b', 'sub:b/']);
    const r = await h.req('GET', 'l?limit=0&format=json');
    expect(r.text).toBe('[]');
  });

  test('reverse: descending, marker caps from above, end_marker from below', async () => {
    expect(await names('reverse=true')).toEqual([...NAMES].reverse());
    expect(await names('reverse=true&marker=b&end_marker=a/1')).toEqual(['a/b/1', 'a/2']);
    expect(await names('reverse=on&delimiter=/&prefix=a/')).toEqual(['sub:a/b/', 'a/2', 'a/1']);
    expect(await names('reverse=true&delimiter=/&limit=3')).toEqual(['日本', 'é', 'zz']);
  });

  test('limit over 10000 → 412 "Maximum limit is 10000"; a non-numeric limit is ignored', async () => {
    const r = await h.req('GET', 'l?limit=10001');
    expect(r.status).toBe(412);
    expect(r.text).toBe('Maximum limit is 10000');
    expect((await h.req('GET', 'l?limit=10000')).status).toBe(200);
    expect(await names('limit=abc')).toHaveLength(NAMES.length);
    expect((await h.req('GET', `/v1/AUTH_${PROJECT_A}?limit=10001`)).status).toBe(412);
  });

  test('empty container: plain 204, JSON 200 [], XML 200', async () => {
    const plain = await h.req('GET', 'empty');
    expect(plain.status).toBe(204);
    expect(plain.text).toBe('');
    const json = await h.req('GET', 'empty?format=json');
    expect(json.status).toBe(200);
    expect(json.text).toBe('[]');
    const xml = await h.req('GET', 'empty?format=xml');
    expect(xml.status).toBe(200);
    expect(xml.text).toContain('<container name="empty"></container>');
  });

  test('account listing takes the same parameters and formats', async () => {
    await h.req('PUT', 'x-1');
    await h.req('PUT', 'x-2');
    const r = await h.req('GET', `/v1/AUTH_${PROJECT_A}?format=json&delimiter=-`);
    expect(JSON.parse(r.text).map((e: { name?: string; subdir?: string }) => e.name ?? `sub:${e.subdir}`)).toEqual(['empty', 'l', 'sub:x-']);
    const rev = await h.req('GET', `/v1/AUTH_${PROJECT_A}?reverse=true&limit=2`);
    expect(rev.text).toBe('x-2\nx-1\n');
    const xml = await h.req('GET', `/v1/AUTH_${PROJECT_A}?format=xml&prefix=l`);
    expect(xml.text).toMatch(new RegExp(`<account name="AUTH_${PROJECT_A}"><container><name>l</name><count>12</count><bytes>\\d+</bytes><last_modified>`));
  });
});
