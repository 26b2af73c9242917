// Container quotas: X-Container-Meta-Quota-Bytes / -Count refuse (413) a PUT, a copy or a chunked
// upload that would exceed them, leaving nothing stored; quota values must be integers (400).
import * as http from 'node:http';
import { startStorage, TOKEN_A, type StorageHarness } from './harness';

let h: StorageHarness;

beforeAll(async () => {
  h = await startStorage();
});
afterAll(async () => {
  await h.stop();
});

/** A chunked PUT (no Content-Length), written in two pieces. */
function chunkedPut(path: string, pieces: string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(`${h.accountUrl}/${path}`, { method: 'PUT', headers: { 'X-Auth-Token': TOKEN_A, 'Transfer-Encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    // The server may answer and close before the whole body is written.
    r.on('error', reject);
    for (const p of pieces) r.write(p);
    r.end();
  });
}

const usage = async (container: string): Promise<{ count: string | null; bytes: string | null }> => {
  const r = await h.req('HEAD', container);
  return { count: r.headers.get('x-container-object-count'), bytes: r.headers.get('x-container-bytes-used') };
};

test('/info advertises container_quotas', async () => {
  const info = await (await h.req('GET', '/info', { token: null })).body;
  expect(JSON.parse(info.toString())).toHaveProperty('container_quotas');
});

test('a quota set on a container already written to (known to have none) applies to the next write', async () => {
  expect((await h.req('PUT', 'later')).status).toBe(201);
  expect((await h.req('PUT', 'later/a', { body: 'a' })).status).toBe(201);
  expect((await h.req('POST', 'later', { headers: { 'X-Container-Meta-Quota-Count': '1' } })).status).toBe(204);
  expect((await h.req('PUT', 'later/b', { body: 'b' })).status).toBe(413);
  expect((await h.req('POST', 'later', { headers: { 'X-Remove-Container-Meta-Quota-Count': 'x' } })).status).toBe(204);
  expect((await h.req('PUT', 'later/b', { body: 'b' })).status).toBe(201);
});

describe('bytes quota', () => {
  beforeAll(async () => {
    expect((await h.req('PUT', 'qb', { headers: { 'X-Container-Meta-Quota-Bytes': '10' } })).status).toBe(201);
  });

  test('an object over the quota is 413 with Swift\'s text and is not stored; one that fits is 201', async () => {
    const over = await h.req('PUT', 'qb/obj', { body: '01234567890' });
    expect(over.status).toBe(413);
    expect(over.text).toBe('Upload exceeds quota.');
    expect((await h.req('HEAD', 'qb/obj')).status).toBe(404);
    expect((await h.req('PUT', 'qb/obj', { body: '0123456789' })).status).toBe(201);
    expect((await h.req('GET', 'qb/obj')).text).toBe('0123456789');
    // Full now: even an empty object fits (10 + 0 <= 10), one more byte does not.
    expect((await h.req('PUT', 'qb/empty', { body: '' })).status).toBe(201);
    expect((await h.req('PUT', 'qb/one', { body: 'x' })).status).toBe(413);
    expect(await usage('qb')).toEqual({ count: '2', bytes: '10' });
  });

  test('a chunked upload that runs over the quota is 413 and leaves nothing', async () => {
    await h.req('PUT', 'qchunk', { headers: { 'X-Container-Meta-Quota-Bytes': '8' } });
    const over = await chunkedPut('qchunk/big', ['12345', '67890']);
    expect(over.status).toBe(413);
    expect(over.text).toBe('Upload exceeds quota.');
    expect((await h.req('HEAD', 'qchunk/big')).status).toBe(404);
    expect(await usage('qchunk')).toEqual({ count: '0', bytes: '0' });
    const fits = await chunkedPut('qchunk/small', ['1234', '5678']);
    expect(fits.status).toBe(201);
    expect((await h.req('GET', 'qchunk/small')).text).toBe('12345678');
  });

  test('X-Copy-From and COPY into a container without room are 413; the destination quota counts', async () => {
    await h.req('PUT', 'src');
    await h.req('PUT', 'src/eleven', { body: '01234567890' });
    await h.req('PUT', 'src/five', { body: '01234' });
    await h.req('PUT', 'qcopy', { headers: { 'X-Container-Meta-Quota-Bytes': '10' } });
    const put = await h.req('PUT', 'qcopy/a', { body: '', headers: { 'X-Copy-From': 'src/eleven' } });
    expect(put.status).toBe(413);
    expect(put.text).toBe('Upload exceeds quota.');
    const cp = await h.req('COPY', 'src/eleven', { headers: { Destination: 'qcopy/b' } });
    expect(cp.status).toBe(413);
    expect(await usage('qcopy')).toEqual({ count: '0', bytes: '0' });
    expect((await h.req('COPY', 'src/five', { headers: { Destination: 'qcopy/c' } })).status).toBe(201);
    expect((await h.req('PUT', 'qcopy/d', { body: '', headers: { 'X-Copy-From': 'src/five' } })).status).toBe(201);
    expect((await h.req('PUT', 'qcopy/e', { body: '', headers: { 'X-Copy-From': 'src/five' } })).status).toBe(413);
    expect(await usage('qcopy')).toEqual({ count: '2', bytes: '10' });
    // The source container has no quota: copies into it are not limited by the destination's.
    expect((await h.req('COPY', 'qcopy/c', { headers: { Destination: 'src/c' } })).status).toBe(201);
  });

  test('a quota lowered below the usage refuses every upload; removing it lifts the limit', async () => {
    await h.req('PUT', 'qlow');
    await h.req('PUT', 'qlow/a', { body: 'abcdef' });
    expect((await h.req('POST', 'qlow', { headers: { 'X-Container-Meta-Quota-Bytes': '3' } })).status).toBe(204);
    expect((await h.req('PUT', 'qlow/b', { body: '' })).status).toBe(413);
    expect((await h.req('POST', 'qlow', { headers: { 'X-Remove-Container-Meta-Quota-Bytes': 'x' } })).status).toBe(204);
    expect((await h.req('PUT', 'qlow/b', { body: 'more bytes' })).status).toBe(201);
  });
});

describe('count quota', () => {
  test('the object past the count is 413 and not stored', async () => {
    expect((await h.req('PUT', 'qc', { headers: { 'X-Container-Meta-Quota-Count': '2' } })).status).toBe(201);
    expect((await h.req('HEAD', 'qc')).headers.get('x-container-meta-quota-count')).toBe('2');
    expect((await h.req('PUT', 'qc/1', { body: 'a' })).status).toBe(201);
    expect((await h.req('PUT', 'qc/2', { body: 'b' })).status).toBe(201);
    const third = await h.req('PUT', 'qc/3', { body: 'c' });
    expect(third.status).toBe(413);
    expect(third.text).toBe('Upload exceeds quota.');
    expect((await h.req('HEAD', 'qc/3')).status).toBe(404);
    expect((await h.req('PUT', 'qc/4', { body: '', headers: { 'X-Copy-From': 'qc/1' } })).status).toBe(413);
    expect(await usage('qc')).toEqual({ count: '2', bytes: '2' });
    // After a delete there is room again.
    expect((await h.req('DELETE', 'qc/1')).status).toBe(204);
    expect((await h.req('PUT', 'qc/3', { body: 'c' })).status).toBe(201);
  });
});

describe('quota values', () => {
  test.each([
    ['PUT', 'X-Container-Meta-Quota-Bytes', '-1', 'Invalid bytes quota.'],
    ['PUT', 'X-Container-Meta-Quota-Bytes', '1.5', 'Invalid bytes quota.'],
    ['POST', 'X-Container-Meta-Quota-Bytes', 'ten', 'Invalid bytes quota.'],
    ['PUT', 'X-Container-Meta-Quota-Count', 'abc', 'Invalid count quota.'],
    ['POST', 'X-Container-Meta-Quota-Count', '-3', 'Invalid count quota.'],
  ])('%s with %s: %s is 400', async (method, header, value, message) => {
    await h.req('PUT', 'qv');
    const r = await h.req(method, 'qv', { headers: { [header]: value } });
    expect(r.status).toBe(400);
    expect(r.text).toBe(message);
    expect((await h.req('HEAD', 'qv')).headers.get(header.toLowerCase())).toBeNull();
  });

  test('an unauthorized caller gets 401, not the quota check', async () => {
    expect((await h.req('POST', 'qv', { token: null, headers: { 'X-Container-Meta-Quota-Bytes': 'x' } })).status).toBe(401);
    expect((await h.req('PUT', 'qb/anon', { token: null, body: 'way too many bytes' })).status).toBe(401);
  });
});
