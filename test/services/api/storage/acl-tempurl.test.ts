// Container ACLs (X-Container-Read/Write, .r:*, .rlistings, <project>:<user>) and TempURL.
import { createHmac } from 'node:crypto';
import { startStorage, TOKEN_B, PROJECT_A, PROJECT_B, USER_B, type StorageHarness } from './harness';

let h: StorageHarness;
// Known once startStorage() has created the projects.
let acct = '';
let bob = '';

beforeAll(async () => {
  h = await startStorage();
  acct = `AUTH_${PROJECT_A}`;
  bob = `${PROJECT_B}:${USER_B}`;
  await h.req('PUT', 'shared');
  await h.req('PUT', 'shared/doc.txt', { body: 'hello' });
  await h.req('PUT', 'private');
  await h.req('PUT', 'private/secret', { body: 'no' });
});
afterAll(async () => {
  await h.stop();
});

const asBob = (method: string, path: string, body?: string): ReturnType<StorageHarness['req']> => h.req(method, path, { token: TOKEN_B, body });
const anon = (method: string, path: string, headers: Record<string, string> = {}): ReturnType<StorageHarness['req']> => h.req(method, path, { token: null, headers });

describe('container ACLs', () => {
  test('without an ACL: another project 403, anonymous 401', async () => {
    expect((await asBob('GET', 'shared/doc.txt')).status).toBe(403);
    const a = await anon('GET', 'shared/doc.txt');
    expect(a.status).toBe(401);
    expect(a.headers.get('www-authenticate')).toBe(`Swift realm="${acct}"`);
  });

  test('X-Container-Read naming <project>:<user> lets that caller read and list, not write', async () => {
    expect((await h.req('POST', 'shared', { headers: { 'X-Container-Read': ` ${bob} ` } })).status).toBe(204);
    expect((await h.req('HEAD', 'shared')).headers.get('x-container-read')).toBe(bob);
    expect((await asBob('GET', 'shared/doc.txt')).text).toBe('hello');
    const list = await asBob('GET', 'shared');
    expect(list.text).toBe('doc.txt\n');
    // ACLs are the owner's business: not shown to others.
    expect(list.headers.get('x-container-read')).toBeNull();
    expect((await asBob('PUT', 'shared/new.txt', 'x')).status).toBe(403);
    expect((await asBob('DELETE', 'shared/doc.txt')).status).toBe(403);
    expect((await asBob('POST', 'shared')).status).toBe(403);
    expect((await asBob('GET', 'private/secret')).status).toBe(403);
    expect((await anon('GET', 'shared/doc.txt')).status).toBe(401);
  });

  test('X-Container-Write lets that caller PUT and DELETE objects, never change the container', async () => {
    await h.req('POST', 'shared', { headers: { 'X-Container-Write': bob } });
    expect((await asBob('PUT', 'shared/new.txt', 'from bob')).status).toBe(201);
    expect((await h.req('GET', 'shared/new.txt')).text).toBe('from bob');
    expect((await asBob('DELETE', 'shared/new.txt')).status).toBe(204);
    expect((await asBob('PUT', 'shared', undefined)).status).toBe(403);
    expect((await asBob('DELETE', 'shared')).status).toBe(403);
    // copying out of a container bob may not read is refused
    expect((await h.req('PUT', 'shared/stolen', { token: TOKEN_B, body: '', headers: { 'X-Copy-From': 'private/secret' } })).status).toBe(403);
  });

  test('.r:* opens objects to anonymous GET/HEAD; listing needs .rlistings; anonymous writes stay 401', async () => {
    await h.req('POST', 'shared', { headers: { 'X-Container-Read': '.r:*' } });
    expect((await anon('GET', 'shared/doc.txt')).text).toBe('hello');
    expect((await anon('HEAD', 'shared/doc.txt')).status).toBe(200);
    expect((await anon('GET', 'shared')).status).toBe(401);
    expect((await anon('PUT', 'shared/x')).status).toBe(401);
    expect((await anon('DELETE', 'shared/doc.txt')).status).toBe(401);
    await h.req('POST', 'shared', { headers: { 'X-Container-Read': '.r:*,.rlistings' } });
    expect((await anon('GET', 'shared')).text).toBe('doc.txt\n');
    // referrer rules: the last matching entry wins
    await h.req('POST', 'shared', { headers: { 'X-Container-Read': '.r:*,.r:-bad.example' } });
    expect((await anon('GET', 'shared/doc.txt', { Referer: 'http://bad.example/page' })).status).toBe(401);
    expect((await anon('GET', 'shared/doc.txt', { Referer: 'http://good.example/page' })).status).toBe(200);
    // a public manifest cannot expose segments in a private container
    await h.req('PUT', 'shared/leak', { body: '', headers: { 'X-Object-Manifest': 'private/sec' } });
    expect((await anon('GET', 'shared/leak')).status).toBe(401);
    // removing the ACL closes the container again
    await h.req('POST', 'shared', { headers: { 'X-Remove-Container-Read': 'x' } });
    expect((await h.req('HEAD', 'shared')).headers.get('x-container-read')).toBeNull();
    expect((await anon('GET', 'shared/doc.txt')).status).toBe(401);
  });

  test('bad input: referrers in a write ACL and unknown designators are 400 and change nothing', async () => {
    const r = await h.req('POST', 'shared', { headers: { 'X-Container-Write': '.r:*' } });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/X-Container-Write is not valid/);
    expect((await h.req('POST', 'shared', { headers: { 'X-Container-Read': '.bogus' } })).status).toBe(400);
    // Validation comes after auth: others learn nothing from it.
    expect((await h.req('POST', 'shared', { token: TOKEN_B, headers: { 'X-Container-Read': '.bogus' } })).status).toBe(403);
    expect((await anon('POST', 'shared', { 'X-Container-Read': '.r:*' })).status).toBe(401);
    expect((await h.req('HEAD', 'shared')).headers.get('x-container-write')).toBe(bob);
  });
});

describe('TempURL', () => {
  const key = 'sekrit';
  const sign = (method: string, expires: number | string, path: string, digest = 'sha256', k = key): string => createHmac(digest, k).update(`${method}\n${expires}\n${path}`).digest('hex');
  let objPath = '';

  beforeAll(async () => {
    objPath = `/v1/${acct}/private/secret`;
    await h.req('POST', '', { headers: { 'X-Account-Meta-Temp-URL-Key': key } });
  });

  test('a good signature (sha1, sha256, sha512, base64 form) lets GET through as an attachment', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    for (const d of ['sha1', 'sha256', 'sha512']) {
      const r = await anon('GET', `${objPath}?temp_url_sig=${sign('GET', exp, objPath, d)}&temp_url_expires=${exp}`);
      expect(r.status).toBe(200);
      expect(r.text).toBe('no');
      expect(r.headers.get('content-disposition')).toBe(`attachment; filename="secret"; filename*=UTF-8''secret`);
      expect(r.headers.get('expires')).toBe(new Date(exp * 1000).toUTCString());
    }
    // Only Public-* metadata reaches a TempURL holder.
    await h.req('POST', 'private/secret', { headers: { 'X-Object-Meta-Public-Tag': 'ok', 'X-Object-Meta-Internal': 'hidden' } });
    const m = await anon('GET', `${objPath}?temp_url_sig=${sign('GET', exp, objPath)}&temp_url_expires=${exp}`);
    expect(m.headers.get('x-object-meta-public-tag')).toBe('ok');
    expect(m.headers.get('x-object-meta-internal')).toBeNull();
    const b64 = createHmac('sha512', key).update(`GET\n${exp}\n${objPath}`).digest('base64url');
    expect((await anon('GET', `${objPath}?temp_url_sig=sha512:${b64}&temp_url_expires=${exp}`)).status).toBe(200);
    const sig = sign('GET', exp, objPath);
    expect((await anon('GET', `${objPath}?temp_url_sig=${sig}&temp_url_expires=${exp}&filename=report.txt`)).headers.get('content-disposition')).toMatch(/^attachment; filename="report.txt"/);
    expect((await anon('GET', `${objPath}?temp_url_sig=${sig}&temp_url_expires=${exp}&inline`)).headers.get('content-disposition')).toBe('inline');
    // HEAD with a GET signature, as Swift allows
    expect((await anon('HEAD', `${objPath}?temp_url_sig=${sig}&temp_url_expires=${exp}`)).status).toBe(200);
  });

  test('PUT with a PUT signature; container keys; prefix URLs', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const p = `/v1/${acct}/private/upload`;
    expect((await h.req('PUT', `${p}?temp_url_sig=${sign('PUT', exp, p)}&temp_url_expires=${exp}`, { token: null, body: 'up' })).status).toBe(201);
    expect((await h.req('GET', 'private/upload')).text).toBe('up');
    await h.req('POST', 'shared', { headers: { 'X-Container-Meta-Temp-URL-Key-2': 'ckey' } });
    const sp = `/v1/${acct}/shared/doc.txt`;
    expect((await anon('GET', `${sp}?temp_url_sig=${sign('GET', exp, sp, 'sha256', 'ckey')}&temp_url_expires=${exp}`)).status).toBe(200);
    // the container key is not good for another container
    expect((await anon('GET', `${objPath}?temp_url_sig=${sign('GET', exp, objPath, 'sha256', 'ckey')}&temp_url_expires=${exp}`)).status).toBe(401);
    const prefixSig = sign('GET', exp, `prefix:/v1/${acct}/private/sec`);
    expect((await anon('GET', `${objPath}?temp_url_sig=${prefixSig}&temp_url_expires=${exp}&temp_url_prefix=sec`)).status).toBe(200);
    expect((await anon('GET', `/v1/${acct}/private/upload?temp_url_sig=${prefixSig}&temp_url_expires=${exp}&temp_url_prefix=sec`)).status).toBe(401);
  });

  test('bad input: wrong signature, expired, wrong method, wrong path, malformed → 401', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const past = Math.floor(Date.now() / 1000) - 1;
    const cases = [
      `${objPath}?temp_url_sig=${sign('GET', exp, objPath, 'sha256', 'wrong')}&temp_url_expires=${exp}`,
      `${objPath}?temp_url_sig=${sign('GET', past, objPath)}&temp_url_expires=${past}`,
      `${objPath}?temp_url_sig=${sign('PUT', exp, objPath)}&temp_url_expires=${exp}`,
      `${objPath}?temp_url_sig=${sign('GET', exp, `/v1/${acct}/private/other`)}&temp_url_expires=${exp}`,
      `${objPath}?temp_url_sig=zz&temp_url_expires=${exp}`,
      `${objPath}?temp_url_sig=${sign('GET', exp, objPath)}&temp_url_expires=soon`,
      `${objPath}?temp_url_sig=${sign('GET', exp, objPath)}`,
    ];
    for (const url of cases) {
      const r = await anon('GET', url);
      expect([url, r.status]).toEqual([url, 401]);
    }
    // a GET signature does not allow a DELETE
    expect((await anon('DELETE', `${objPath}?temp_url_sig=${sign('GET', exp, objPath)}&temp_url_expires=${exp}`)).status).toBe(401);
    expect((await h.req('HEAD', 'private/secret')).status).toBe(200);
  });
});
