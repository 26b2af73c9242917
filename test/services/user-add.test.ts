// `cairn user-add`: creates the project, the user and the role once; running it again changes
// nothing; a new password replaces the old one; bad arguments are a usage error, nothing written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../services/core/config';
import { openDatabase } from '../../services/core/db/database';
import { createIdentity } from '../../services/core/identity';
import { UsageError, userAdd } from '../../services/user-add';

jest.setTimeout(60_000);

let dataDir = '';
beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-user-add-'));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterAll(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
  jest.restoreAllMocks();
});

async function withIdentity<T>(fn: (identity: Awaited<ReturnType<typeof createIdentity>>) => Promise<T>): Promise<T> {
  const config = loadConfig({}, { CAIRN_DATA_DIR: dataDir });
  const db = await openDatabase({ dataDir: path.join(dataDir, 'db') });
  try {
    return await fn(await createIdentity({ config, db }));
  } finally {
    await db.close();
  }
}

test('creates project, user and role; idempotent; a new password replaces the old one', async () => {
  const config = loadConfig({}, { CAIRN_DATA_DIR: dataDir });
  await userAdd(config, ['test', 'tester', 'testing', 'admin']);
  await userAdd(config, ['test', 'tester', 'testing', 'admin']);
  await userAdd(config, ['test', 'tester3', 'testing3']);
  await withIdentity(async (identity) => {
    const project = await identity.findProject({ name: 'test' });
    const tester = await identity.authenticatePassword({ name: 'tester' }, 'testing');
    const tester3 = await identity.authenticatePassword({ name: 'tester3' }, 'testing3');
    expect(project).toBeDefined();
    expect(await identity.rolesOn(tester.id, project!.id)).toEqual(['admin']);
    expect(await identity.rolesOn(tester3.id, project!.id)).toEqual(['member']);
    expect((await identity.listProjects()).filter((p) => p.name === 'test')).toHaveLength(1);
  });
  await userAdd(config, ['test', 'tester', 'changed', 'admin']);
  await withIdentity(async (identity) => {
    await expect(identity.authenticatePassword({ name: 'tester' }, 'testing')).rejects.toMatchObject({ code: 'auth.bad_credentials' });
    await expect(identity.authenticatePassword({ name: 'tester' }, 'changed')).resolves.toMatchObject({ name: 'tester' });
  });
});

test('bad arguments are a usage error naming the problem', async () => {
  const config = loadConfig({}, { CAIRN_DATA_DIR: dataDir });
  await expect(userAdd(config, ['p', 'u'])).rejects.toThrow(UsageError);
  await expect(userAdd(config, ['p', 'u', 'pw', 'owner'])).rejects.toThrow(/unknown role "owner"/);
  await withIdentity(async (identity) => expect(await identity.findProject({ name: 'p' })).toBeUndefined());
});
