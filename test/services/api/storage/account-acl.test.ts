// Account ACLs (X-Account-Access-Control, tempauth's account_acls): validation, who may set and
// see them, and what each level lets another project's user do in the account.
import { PROJECT_B, TOKEN_B, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;
const setAcl = (value: string): ReturnType<StorageHarness['req']> => h.req('POST', '', { headers: { 'X-Account-Access-Control': value } });
// A function: TOKEN_B is set by startStorage, after this module loads.
const asB = (): { token: string } => ({ token: TOKEN_B });

beforeAll(async () => {
  h = await startStorage();
  await h.req('PUT', 'box');
  await h.req('PUT', 'box/o', { body: 'data' });
});
afterAll(async () => {
  await h.stop();
});

test('/info advertises account ACLs; bad values are 400 naming the problem and change nothing', async () => {
  const info = JSON.parse((await h.req('GET', '/info', { token: null })).text) as { tempauth?: { account_acls?: boolean } };
  expect(info.tempauth?.account_acls).toBe(true);
  for (const [value, why] of [
    ['invalid', 'Syntax error'],
    ['[]', 'Syntax error'],
    ['{"owner": ["x"]}', "Key 'owner' not recognized"],
    ['{"admin": "x"}', "Value for key 'admin' must be a list"],
    ['{"admin": [1]}', "Elements of 'admin' list must be strings"],
  ]) {
    const r = await setAcl(value);
    expect([value, r.status]).toEqual([value, 400]);
    expect(r.text).toContain(why);
  }
  expect((await h.req('HEAD', '')).headers.get('x-account-access-control')).toBeNull();
});

test('read-only reads everything but writes nothing; read-write writes containers and objects, not the account', async () => {
  const me = `other:alice`;
  expect((await h.req('GET', 'box/o', asB())).status).toBe(403);
  expect((await setAcl(JSON.stringify({ 'read-only': [me] }))).status).toBe(204);
  // Stored compact with sorted keys, shown to the owner only.
  expect((await h.req('HEAD', '')).headers.get('x-account-access-control')).toBe('{"read-only":["other:alice"]}');
  const head = await h.req('HEAD', '', asB());
  expect(head.status).toBe(204);
  expect(head.headers.get('x-account-access-control')).toBeNull();
  expect((await h.req('GET', 'box/o', asB())).text).toBe('data');
  expect((await h.req('GET', 'box', asB())).text).toBe('o\n');
  expect((await h.req('PUT', 'box/new', { ...asB(), body: 'x' })).status).toBe(403);
  expect((await h.req('POST', '', { ...asB(), headers: { 'X-Account-Meta-A': 'b' } })).status).toBe(403);

  // By project id and user name works too.
  expect((await setAcl(JSON.stringify({ 'read-write': [`${PROJECT_B}:alice`] }))).status).toBe(204);
  expect((await h.req('PUT', 'box/new', { ...asB(), body: 'x' })).status).toBe(201);
  expect((await h.req('PUT', 'made-by-b', asB())).status).toBe(201);
  expect((await h.req('DELETE', 'box/new', asB())).status).toBe(204);
  expect((await h.req('POST', '', { ...asB(), headers: { 'X-Account-Meta-A': 'b' } })).status).toBe(403);
  expect((await h.req('POST', '', { ...asB(), headers: { 'X-Account-Access-Control': '{}' } })).status).toBe(403);
});

test("admin has the owner's rights, ACL included, and can revoke itself; {} removes the ACL", async () => {
  expect((await setAcl(JSON.stringify({ admin: ['other'] }))).status).toBe(204);
  const head = await h.req('HEAD', '', asB());
  expect(head.headers.get('x-account-access-control')).toBe('{"admin":["other"]}');
  expect((await h.req('POST', '', { ...asB(), headers: { 'X-Account-Meta-Who': 'admin' } })).status).toBe(204);
  expect((await h.req('HEAD', '')).headers.get('x-account-meta-who')).toBe('admin');
  // TempURL keys: visible to the owner and an ACL admin, hidden from read-only and read-write.
  await h.req('POST', '', { headers: { 'X-Account-Meta-Temp-URL-Key': 'k' } });
  expect((await h.req('HEAD', '', asB())).headers.get('x-account-meta-temp-url-key')).toBe('k');
  expect((await setAcl(JSON.stringify({ 'read-write': ['other'] }))).status).toBe(204);
  expect((await h.req('HEAD', '', asB())).headers.get('x-account-meta-temp-url-key')).toBeNull();
  // A read-write user may write container metadata but not container ACLs (dropped, as in Swift).
  expect((await h.req('POST', 'box', { ...asB(), headers: { 'X-Container-Read': '.r:*', 'X-Container-Meta-K': 'v' } })).status).toBe(204);
  const box = await h.req('HEAD', 'box');
  expect([box.headers.get('x-container-meta-k'), box.headers.get('x-container-read')]).toEqual(['v', null]);
  expect((await setAcl(JSON.stringify({ admin: ['other'] }))).status).toBe(204);
  expect((await h.req('POST', '', { ...asB(), headers: { 'X-Account-Access-Control': '{}' } })).status).toBe(204);
  expect((await h.req('HEAD', '', asB())).status).toBe(403);
  expect((await h.req('HEAD', '')).headers.get('x-account-access-control')).toBeNull();
});
