// CAIRN_STORAGE_OPERATOR_ROLES (Swift keystoneauth's operator_roles): only project users holding
// one of them own the project's storage account; another user of the project is let in by
// container ACLs alone, as tempauth's non-.admin user is.
import { createIdentity } from '../../../../services/core/identity';
import { PROJECT_A, TOKEN_A, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;
let ownerToken = '';

beforeAll(async () => {
  // Only `admin` operates accounts here: the harness's demo user (role member) becomes a plain user.
  h = await startStorage({ env: { CAIRN_STORAGE_OPERATOR_ROLES: 'admin' } });
  const identity = await createIdentity({ config: h.config, db: h.db });
  const owner = await identity.createUser({ name: 'operator', password: 'operator-password', defaultProjectId: PROJECT_A });
  await identity.assignRole(owner.id, PROJECT_A, 'admin');
  ownerToken = (await identity.issueToken({ userId: owner.id, projectId: PROJECT_A })).token;
});
afterAll(async () => {
  await h.stop();
});

test('a project user without an operator role needs ACLs; the operator owns the account', async () => {
  const asOwner = { token: ownerToken };
  expect((await h.req('PUT', 'priv', asOwner)).status).toBe(201);
  expect((await h.req('PUT', 'priv/o', { ...asOwner, body: 'secret' })).status).toBe(201);
  // The member (TOKEN_A) can do nothing yet.
  expect((await h.req('GET', '', { token: TOKEN_A })).status).toBe(403);
  expect((await h.req('GET', 'priv/o', { token: TOKEN_A })).status).toBe(403);
  expect((await h.req('PUT', 'priv/o2', { token: TOKEN_A, body: 'x' })).status).toBe(403);
  // Named in the read ACL (project:user by name), it may read but still not write, nor see the ACLs.
  expect((await h.req('POST', 'priv', { ...asOwner, headers: { 'X-Container-Read': 'demo:demo' } })).status).toBe(204);
  expect((await h.req('GET', 'priv/o', { token: TOKEN_A })).text).toBe('secret');
  expect((await h.req('PUT', 'priv/o2', { token: TOKEN_A, body: 'x' })).status).toBe(403);
  expect((await h.req('POST', 'priv', { ...asOwner, headers: { 'X-Container-Read': 'demo:demo,.rlistings' } })).status).toBe(204);
  const head = await h.req('HEAD', 'priv', { token: TOKEN_A });
  expect(head.status).toBe(204);
  expect(head.headers.get('x-container-read')).toBeNull();
  expect((await h.req('HEAD', 'priv', asOwner)).headers.get('x-container-read')).toBe('demo:demo,.rlistings');
});

test('a bad CAIRN_STORAGE_OPERATOR_ROLES is a configuration error naming the variable', async () => {
  const { loadConfig } = await import('../../../../services/core/config');
  expect(() => loadConfig({}, { CAIRN_STORAGE_OPERATOR_ROLES: 'admin,owner' })).toThrow(/CAIRN_STORAGE_OPERATOR_ROLES=admin,owner/);
});
