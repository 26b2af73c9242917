// A tenant stack, run in-process against mocked providers: its guard rails are deployed with a
// provider built from the cloud stack's kubeconfig, read through a StackReference.
import * as pulumi from '@pulumi/pulumi';
import type { ManifestObject } from '../../infra/k8s/schemas';
import { ALL_RULES, evaluate } from '../../infra/policy';
import { mockProviders, value, type Created } from './pulumi-mocks';
import { VERSION } from './scenario';

const CLOUD = 'organization/cairn/existing-cluster';
const KUBECONFIG = 'apiVersion: v1\nkind: Config\nclusters: []\n';
let created: Created[] = [];

beforeAll(async () => {
  created = await mockProviders('acme', { [CLOUD]: { kubeconfig: KUBECONFIG } });
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
