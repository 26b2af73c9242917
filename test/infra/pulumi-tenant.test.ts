// A tenant stack, run in-process against mocked providers: its guard rails are deployed with a
// provider built from the cloud stack's kubeconfig, read through a StackReference.
import * as pulumi from '@pulumi/pulumi';
import type { ManifestObject } from '../../infra/k8s/schemas';
import { ALL_RULES, evaluate } from '../../infra/policy';
import { mockProviders, value, type Created } from './pulumi-mocks';
import { VERSION } from './scenario';

const CLOUD = 'organization/cairn/existing-cluster';
const OPENSTACK_CLOUD = 'organization/cairn/cloud-example';
const KUBECONFIG = 'apiVersion: v1\nkind: Config\nclusters: []\n';
let created: Created[] = [];

beforeAll(async () => {
  created = await mockProviders('acme', { [CLOUD]: { kubeconfig: KUBECONFIG }, [OPENSTACK_CLOUD]: { kubeconfig: KUBECONFIG, authUrl: 'https://keystone.test/v3', region: 'RegionTwo' } });
});

describe('Pulumi tenant stack (mocked providers)', () => {
  let tenant: InstanceType<typeof import('../../infra/pulumi/tenant').CairnTenant>;
  beforeAll(async () => {
    const { CairnTenant } = await import('../../infra/pulumi/tenant');
    tenant = new CairnTenant('tenant', { tenant: 'acme', version: VERSION, cloudStack: CLOUD });
    await value(tenant.urn);
    await new Promise((r) => setTimeout(r, 50));
  });

  test("the tenant's provider uses the cloud stack's kubeconfig through a StackReference, as a secret (mocked providers)", async () => {
    const ref = created.find((c) => c.type === 'pulumi:pulumi:StackReference');
    expect(ref?.inputs.name).toBe(CLOUD);
    const provider = tenant.provider as unknown as { kubeconfig: pulumi.Output<string> };
    expect(await pulumi.isSecret(provider.kubeconfig)).toBe(true);
    expect(await value(provider.kubeconfig)).toBe(KUBECONFIG);
  });

  test('the guard rails: namespace, quota, limits, default-deny, Pod Security restricted (mocked providers)', async () => {
    expect(await value(tenant.namespace)).toBe('cairn-tenant-acme');
    expect([...tenant.resources.keys()].sort()).toEqual(['LimitRange/tenant-limits', 'Namespace/cairn-tenant-acme', 'NetworkPolicy/default-deny', 'ResourceQuota/tenant-quota']);
    const objects = created.filter((c) => c.type.startsWith('kubernetes:') && c.inputs.kind).map((c) => c.inputs as ManifestObject);
    expect(objects.find((o) => o.kind === 'Namespace')?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(evaluate(ALL_RULES, objects)).toEqual([]);
  });

  test('no two resources share a name (mocked providers)', () => {
    const names = created.map((c) => `${c.type}::${c.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  test('a tenant name that is not a DNS label is refused before anything is created (mocked providers)', async () => {
    const { CairnTenant } = await import('../../infra/pulumi/tenant');
    const before = created.length;
    expect(() => new CairnTenant('bad', { tenant: 'Bad_Name', version: VERSION, cloudStack: CLOUD })).toThrow(/tenant "Bad_Name": expected a DNS label/);
    expect(created.length).toBe(before);
  });
});

/** Pulumi's wire marker of a secret value, as the mocked providers receive inputs. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';
const secretValue = (v: unknown) => ({ [SECRET_SIG]: '1b47061264138c4ac30d75fd1eb44270', value: v });
const plain = (v: any) => (v && typeof v === 'object' && SECRET_SIG in v ? v.value : v);

describe('Pulumi tenant stack on an OpenStack cloud: Keystone project, user, credential, quotas, storage (mocked providers)', () => {
  let tenant: InstanceType<typeof import('../../infra/pulumi/tenant').CairnTenant>;
  let mine: Created[] = [];
  const opts = new Map<string, pulumi.CustomResourceOptions>();
  const ofType = (type: string) => mine.filter((c) => c.type === type);
  beforeAll(async () => {
    const { CairnTenant } = await import('../../infra/pulumi/tenant');
    const before = created.length;
    tenant = new CairnTenant(
      'globex',
      { tenant: 'globex', version: VERSION, cloudStack: OPENSTACK_CLOUD, identity: { quotas: { instances: 4 } } },
      { transformations: [(a) => void opts.set(a.name, a.opts)] },
    );
    await value(tenant.identity!.openrc);
    await new Promise((r) => setTimeout(r, 50));
    mine = created.slice(before);
  });

  test('a project and a user with a generated password holding the member role on it (mocked providers)', async () => {
    const project = ofType('openstack:identity/project:Project');
    expect(project.map((p) => p.inputs.name)).toEqual(['cairn-globex']);
    const user = ofType('openstack:identity/user:User')[0];
    // The password reaches the provider as a secret.
    expect(user.inputs).toMatchObject({ name: 'cairn-globex', defaultProjectId: 'globex-identity-project-id', password: secretValue('generated-globex-identity-password') });
    expect(await pulumi.isSecret(tenant.identity!.password)).toBe(true);
    expect(opts.get('globex-identity-password')?.additionalSecretOutputs).toContain('result');
    expect(ofType('openstack:identity/roleAssignment:RoleAssignment').map((r) => r.inputs)).toEqual([{ projectId: 'globex-identity-project-id', userId: 'globex-identity-user-id', roleId: 'role-member' }]);
    expect(opts.get('globex-identity-project')).toMatchObject({ protect: true, retainOnDelete: true });
  });

  test("the application credential is created as the tenant's user, from the cloud stack's authUrl and region; its secret is secret (mocked providers)", async () => {
    const provider = ofType('pulumi:providers:openstack')[0];
    const inputs = Object.fromEntries(Object.entries(provider.inputs).map(([k, v]) => [k, plain(v)]));
    expect(inputs).toMatchObject({ authUrl: 'https://keystone.test/v3', region: 'RegionTwo', userName: 'cairn-globex', tenantId: 'globex-identity-project-id', password: 'generated-globex-identity-password' });
    expect(ofType('openstack:identity/applicationCredential:ApplicationCredential')[0].inputs).toMatchObject({ name: 'cairn-globex', roles: ['member'] });
    expect(opts.get('globex-identity-credential')?.dependsOn).toBeDefined();
    expect(await pulumi.isSecret(tenant.identity!.applicationCredentialSecret)).toBe(true);
    expect(await value(tenant.identity!.applicationCredentialSecret)).toBe('secret-of-globex-identity-credential');
  });

  test('quotas from the arguments over the defaults, and the storage account AUTH_<project id> (mocked providers)', async () => {
    expect(ofType('openstack:compute/quotaSetV2:QuotaSetV2')[0].inputs).toEqual({ projectId: 'globex-identity-project-id', instances: 4, cores: 20, ram: 51200 });
    expect(ofType('openstack:blockstorage/quoteSetV3:QuoteSetV3')[0].inputs).toMatchObject({ volumes: 10, gigabytes: 500 });
    expect(ofType('openstack:networking/quotaV2:QuotaV2')[0].inputs).toMatchObject({ network: 5, floatingip: 5 });
    // Swift makes the account on the first write; no container is made behind Cairn's back.
    expect(ofType('openstack:objectstorage/container:Container')).toEqual([]);
    expect(await value(tenant.identity!.storageAccount)).toBe('AUTH_globex-identity-project-id');
  });

  test("the openrc values authenticate with the application credential (mocked providers)", async () => {
    expect(await value(tenant.identity!.openrc)).toEqual({
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_AUTH_URL: 'https://keystone.test/v3',
      OS_IDENTITY_API_VERSION: '3',
      OS_REGION_NAME: 'RegionTwo',
      OS_INTERFACE: 'public',
      OS_APPLICATION_CREDENTIAL_ID: 'globex-identity-credential-id',
      OS_PROJECT_ID: 'globex-identity-project-id',
    });
  });

  test('no two resources share a name, and the guard rails still pass every policy rule (mocked providers)', () => {
    const names = created.map((c) => `${c.type}::${c.name}`);
    expect(new Set(names).size).toBe(names.length);
    const objects = mine.filter((c) => c.type.startsWith('kubernetes:') && c.inputs.kind).map((c) => c.inputs as ManifestObject);
    expect(objects.map((o) => o.kind).sort()).toEqual(['LimitRange', 'Namespace', 'NetworkPolicy', 'ResourceQuota']);
    expect(evaluate(ALL_RULES, objects)).toEqual([]);
  });
});
