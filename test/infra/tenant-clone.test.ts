// `cairn tenant-clone`: a new tenant stack file from a template stack file, each refusal with its
// message and exit code, the real command's exit codes, and the produced config driving the
// tenant program (against mocked providers: the Pulumi CLI cannot be downloaded here).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { readYamlFile } from '../../infra/pulumi/stack-file';
import { EXIT, TenantCloneError, tenantClone } from '../../infra/pulumi/tenant-clone';
import { collectOutput } from '../helpers/process';
import { mockProviders, value, type Created } from './pulumi-mocks';
import { VERSION } from './scenario';

const REPO = path.join(__dirname, '..', '..');
const CLOUD = 'organization/cairn/cloud-example';
/** A template as an operator keeps it: a secret, a per-stack salt, and the repo's example config. */
const SECRET_CIPHERTEXT = 'v1:c2VjcmV0LWNpcGhlcnRleHQtb2YtdGhlLXRlbXBsYXRl';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-clone-'));
  fs.copyFileSync(path.join(REPO, 'Pulumi.yaml'), path.join(dir, 'Pulumi.yaml'));
  fs.copyFileSync(path.join(REPO, 'Pulumi.cloud-example.yaml'), path.join(dir, 'Pulumi.cloud-example.yaml'));
  const template = fs.readFileSync(path.join(REPO, 'Pulumi.tenant-example.yaml'), 'utf8');
  fs.writeFileSync(path.join(dir, 'Pulumi.tenant-example.yaml'), `encryptionsalt: v1:c2FsdA==\n${template}  cairn:webhookToken:\n    secure: ${SECRET_CIPHERTEXT}\n`);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the command in-process; its printed lines, or the refusal. */
function clone(...args: string[]): { code: number; lines: string[]; error?: TenantCloneError } {
  const lines: string[] = [];
  try {
    return { code: tenantClone(['--dir', dir, ...args], (l) => lines.push(l)), lines };
  } catch (err) {
    if (!(err instanceof TenantCloneError)) throw err;
    return { code: err.exitCode, lines, error: err };
  }
}

const stackFile = (stack: string) => readYamlFile(path.join(dir, `Pulumi.${stack}.yaml`)) as { config: Record<string, any> };

describe('cairn tenant-clone', () => {
  test('a good clone: Pulumi.<tenant>.yaml with the tenant and --set values, secrets named but never copied or printed', () => {
    const { code, lines } = clone('--template', 'tenant-example', '--tenant', 'acme', '--set', 'quota.pods=40', '--set', 'identity.quotas.instances=4');
    expect(code).toBe(0);
    const { config } = stackFile('acme');
    expect(config['cairn:kind']).toBe('tenant');
    expect(config['cairn:tenant']).toBe('acme');
    expect(config['cairn:cloudStack']).toBe(CLOUD);
    expect(config['cairn:quota']).toEqual({ pods: 40, cpu: 4, memoryGiB: 8 });
    expect(config['cairn:identity'].quotas.instances).toBe(4);
    expect(config['cairn:webhookToken']).toBeUndefined();
    const written = fs.readFileSync(path.join(dir, 'Pulumi.acme.yaml'), 'utf8');
    expect(written).not.toContain(SECRET_CIPHERTEXT);
    expect(written).not.toContain('encryptionsalt');
    expect(written).toContain('cairn:webhookToken');
    expect(lines.join('\n')).not.toContain(SECRET_CIPHERTEXT);
    // The copy re-encrypts the secrets and overwrites the template's keys: the tenant's are set after it.
    expect(lines.filter((l) => l.startsWith('  pulumi '))).toEqual([
      '  pulumi stack init acme --copy-config-from tenant-example',
      '  pulumi config set --stack acme cairn:tenant acme',
      '  pulumi config set --stack acme --path cairn:quota.pods 40',
      '  pulumi config set --stack acme --path cairn:identity.quotas.instances 4',
    ]);
    // The template is untouched.
    expect(stackFile('tenant-example').config['cairn:tenant']).toBe('template');
  });

  test.each([
    ['Acme_Corp', /tenant "Acme_Corp": expected a DNS label/],
    ['-acme', /expected a DNS label/],
    ['a'.repeat(51), /at most 50 characters/],
  ])('refuses the tenant name %s (exit 3) and writes nothing', (name, message) => {
    const { code, error } = clone('--template', 'tenant-example', '--tenant', name);
    expect(code).toBe(EXIT.badName);
    expect(error?.message).toMatch(message);
    expect(fs.readdirSync(dir).sort()).toEqual(['Pulumi.cloud-example.yaml', 'Pulumi.tenant-example.yaml', 'Pulumi.yaml']);
  });

  test('refuses a stack that exists, leaving its file as it was (exit 4)', () => {
    fs.writeFileSync(path.join(dir, 'Pulumi.acme.yaml'), 'config: {}\n');
    const { code, error } = clone('--template', 'tenant-example', '--tenant', 'acme');
    expect(code).toBe(EXIT.refused);
    expect(error?.message).toMatch(/stack acme exists already/);
    expect(fs.readFileSync(path.join(dir, 'Pulumi.acme.yaml'), 'utf8')).toBe('config: {}\n');
  });

  test('refuses a missing template (exit 4)', () => {
    const { code, error } = clone('--template', 'tenant-gone', '--tenant', 'acme');
    expect(code).toBe(EXIT.refused);
    expect(error?.message).toMatch(/template stack tenant-gone: .*Pulumi\.tenant-gone\.yaml does not exist/);
  });

  test('refuses a template that is not a tenant stack (exit 4)', () => {
    const { code, error } = clone('--template', 'cloud-example', '--tenant', 'acme');
    expect(code).toBe(EXIT.refused);
    expect(error?.message).toMatch(/template stack cloud-example is not a tenant stack \(cairn:kind is "cloud"/);
    expect(fs.existsSync(path.join(dir, 'Pulumi.acme.yaml'))).toBe(false);
  });

  test('refuses leftover template values, bad quotas, secrets and reserved keys in --set, all in one message (exit 4)', () => {
    fs.appendFileSync(path.join(dir, 'Pulumi.tenant-example.yaml'), '  cairn:description: functions of template\n');
    const { code, error } = clone('--template', 'tenant-example', '--tenant', 'acme', '--set', 'quota.pods=-1', '--set', 'kind=cloud', '--set', 'webhookToken=x');
    expect(code).toBe(EXIT.refused);
    const message = error?.message ?? '';
    expect(message).toContain(`cairn:description "functions of template" still names the template tenant "template" (--set 'description=functions of acme')`);
    expect(message).toContain('cairn:quota.pods -1: expected a number ≥ 0');
    expect(message).toContain('--set cairn:kind: set by the command');
    expect(message).toContain('--set cairn:webhookToken: a secret of the template');
    expect(fs.existsSync(path.join(dir, 'Pulumi.acme.yaml'))).toBe(false);
  });

  test('usage errors exit 2; --run without the Pulumi CLI on PATH exits 5 after writing the file', () => {
    expect(clone('--tenant', 'acme').code).toBe(EXIT.usage);
    expect(clone('--template', 'tenant-example', '--tenant', 'acme', '--set', 'nokey').code).toBe(EXIT.usage);
    const saved = process.env.PATH;
    process.env.PATH = path.join(dir, 'no-bin');
    try {
      const { code, error } = clone('--template', 'tenant-example', '--tenant', 'acme', '--run');
      expect(code).toBe(EXIT.runFailed);
      expect(error?.message).toMatch(/the Pulumi CLI is not on PATH/);
    } finally {
      process.env.PATH = saved;
    }
    expect(stackFile('acme').config['cairn:tenant']).toBe('acme');
  });

  test('the real `cairn tenant-clone` command turns a refusal into its exit code and one line on stderr', async () => {
    expect(clone('--template', 'tenant-example', '--tenant', 'globex').code).toBe(0);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'services', 'cli.ts'), 'tenant-clone', '--dir', dir, '--template', 'tenant-example', '--tenant', 'globex'], { cwd: REPO });
    const again = await collectOutput(child);
    expect(again.code).toBe(EXIT.refused);
    expect(again.output.trim()).toMatch(/^cairn tenant-clone: stack globex exists already \(.*Pulumi\.globex\.yaml\); remove it or choose another name$/);
  }, 30_000);
});

describe('the cloned config drives the tenant program (mocked providers)', () => {
  let created: Created[] = [];
  beforeAll(async () => {
    created = await mockProviders('acme', { [CLOUD]: { kubeconfig: 'apiVersion: v1\nkind: Config\n', authUrl: 'https://keystone.test/v3', region: 'RegionOne' } });
  });

  test('Pulumi.acme.yaml read as the stack config gives the acme namespace, quota and Keystone project (mocked providers)', async () => {
    expect(clone('--template', 'tenant-example', '--tenant', 'acme', '--set', 'quota.pods=40').code).toBe(0);
    // As the Pulumi CLI passes config to a program: `<ns>:<key>` → string, objects as JSON.
    const { config } = stackFile('acme');
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])));
    const { tenantArgs } = await import('../../infra/pulumi/stack-config');
    const { CairnTenant } = await import('../../infra/pulumi/tenant');
    const tenant = new CairnTenant('tenant', tenantArgs(new pulumi.Config('cairn'), VERSION));
    await value(tenant.identity!.openrc);
    await new Promise((r) => setTimeout(r, 50));
    expect(await value(tenant.namespace)).toBe('cairn-tenant-acme');
    expect(created.find((c) => c.type === 'pulumi:pulumi:StackReference')?.inputs.name).toBe(CLOUD);
    expect(created.find((c) => c.type === 'kubernetes:core/v1:ResourceQuota')?.inputs.spec.hard).toMatchObject({ pods: '40' });
    expect(created.find((c) => c.type === 'openstack:identity/project:Project')?.inputs.name).toBe('cairn-acme');
    expect(created.find((c) => c.type === 'openstack:compute/quotaSetV2:QuotaSetV2')?.inputs).toMatchObject({ instances: 10, cores: 20 });
  });
});
