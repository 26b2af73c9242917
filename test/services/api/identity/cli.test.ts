// The real clients against the identity surfaces: `openstack` (python3-openstackclient 6.0.0,
// keystoneauth) with the OS_* variables of a written openrc, and `swift` with tempauth v1.0 and with
// Keystone v3 (python-keystoneclient).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { writeOpenrc } from '../../../../services/core/identity/openrc';
import { startIdentityServer, type IdentityServer } from './server';

const run = promisify(execFile);
let s: IdentityServer;
let dir: string;

beforeAll(async () => {
  s = await startIdentityServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cli-'));
  for (const who of ['admin', 'demo'] as const) {
    const c = s.creds[who];
    writeOpenrc(path.join(dir, `${who}-openrc`), { authUrl: s.base, username: c.userName, password: c.password, projectName: c.projectName, region: 'RegionOne' });
  }
}, 60_000);
afterAll(async () => {
  await s?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a command line after sourcing an openrc, with nothing else from this process's environment. */
async function cli(openrc: 'admin' | 'demo' | undefined, command: string): Promise<string> {
  const source = openrc ? `source ${path.join(dir, `${openrc}-openrc`)} && ` : '';
  try {
    const { stdout } = await run('/bin/bash', ['-c', `${source}${command}`], { env: { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' }, timeout: 60_000 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} failed: ${e.message}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`);
  }
}

test('openstack token issue -f json', async () => {
  const out = JSON.parse(await cli('demo', '/usr/bin/openstack token issue -f json'));
  expect(out).toMatchObject({ project_id: s.creds.demo.projectId, user_id: s.creds.demo.userId });
  expect(Date.parse(out.expires)).toBeGreaterThan(Date.now());
  await expect(s.identity.validate(out.id)).resolves.toMatchObject({ projectName: 'demo' });
}, 60_000);

test('openstack catalog list -f json', async () => {
  const out = JSON.parse(await cli('demo', '/usr/bin/openstack catalog list -f json')) as { Name: string; Type: string; Endpoints: unknown }[];
  expect(out.map((e) => [e.Name, e.Type])).toEqual([
    ['qinling', 'function-engine'],
    ['swift', 'object-store'],
    ['keystone', 'identity'],
  ]);
  expect(JSON.stringify(out)).toContain(`${s.base}/v1/AUTH_${s.creds.demo.projectId}`);
}, 60_000);

test('openstack project list: the admin sees every project, demo its own', async () => {
  const names = (out: string) => (JSON.parse(out) as { Name: string }[]).map((p) => p.Name).sort();
  expect(names(await cli('admin', '/usr/bin/openstack project list -f json'))).toEqual(['admin', 'demo']);
  expect(names(await cli('demo', '/usr/bin/openstack project list -f json'))).toEqual(['demo']);
}, 60_000);

test('swift auth with tempauth v1.0', async () => {
  const out = await cli(undefined, `/usr/bin/swift -V 1 -A ${s.base}/auth/v1.0 -U demo:demo -K '${s.creds.demo.password}' auth`);
  expect(out).toContain(`export OS_STORAGE_URL=${s.base}/v1/AUTH_${s.creds.demo.projectId}`);
  const token = /export OS_AUTH_TOKEN=(\S+)/.exec(out)?.[1] as string;
  await expect(s.identity.validate(token)).resolves.toMatchObject({ userName: 'demo' });
}, 60_000);

test('swift auth with Keystone v3 from the openrc', async () => {
  const out = await cli('demo', '/usr/bin/swift auth');
  expect(out).toContain(`export OS_STORAGE_URL=${s.base}/v1/AUTH_${s.creds.demo.projectId}`);
  const explicit = await cli(
    undefined,
    `/usr/bin/swift --auth-version 3 --os-auth-url ${s.base}/identity/v3 --os-username admin --os-password '${s.creds.admin.password}' ` +
      '--os-project-name admin --os-user-domain-name Default --os-project-domain-name Default auth',
  );
  expect(explicit).toContain(`export OS_STORAGE_URL=${s.base}/v1/AUTH_${s.creds.admin.projectId}`);
}, 60_000);
