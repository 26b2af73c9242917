// An OpenStack cloud stack, run in-process against mocked providers (the Pulumi CLI and the
// OpenStack and Kubernetes provider plugins cannot be downloaded here): the network, the Magnum
// cluster and the provider built from its kubeconfig, Swift, the database, the Keystone catalog
// entry, and the platform on the new cluster; secrets stay secret and stateful resources are kept.
import * as pulumi from '@pulumi/pulumi';
import type { ManifestObject } from '../../infra/k8s/schemas';
import { ALL_RULES, evaluate } from '../../infra/policy';
import { mockProviders, value, type Created } from './pulumi-mocks';
import { BUNDLE_SHA256, REGISTRY, VERSION } from './scenario';

let created: Created[] = [];
const opts = new Map<string, pulumi.CustomResourceOptions>();
const dependsOn = new Map<string, string[]>();

beforeAll(async () => {
  created = await mockProviders('cloud-example');
});

/** Records every child's options and declared dependencies, through the public transformation hook. */
function recorder(): pulumi.ResourceTransformation {
  const names = new Map<pulumi.Resource, string>();
  return (args) => {
    names.set(args.resource, args.name);
    opts.set(args.name, args.opts);
    const deps = args.opts.dependsOn;
    dependsOn.set(args.name, ((Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[]).map((r) => names.get(r) ?? '?'));
    return undefined;
  };
}

const ARGS = {
  authUrl: 'https://keystone.test/v3',
  region: 'RegionTwo',
  externalNetworkId: 'ext-net',
  swiftUrl: 'https://swift.test/v1/',
  cluster: { image: 'fcos-40', masterFlavor: 'm1.medium', flavor: 'm1.large', masterCount: 3, nodeCount: 5 },
  database: { kind: 'trove' as const, flavorId: 'd2.medium', sizeGb: 30 },
  endpoints: { public: 'https://cairn.test', internal: 'http://cairn.internal:8080' },
  platform: { version: VERSION, bundleSha256: BUNDLE_SHA256, registry: REGISTRY, secretEnv: { CAIRN_ADMIN_PASSWORD: 'admin-pw' } },
};

const byType = (type: string) => created.filter((c) => c.type === type);
const one = (type: string) => {
  const found = byType(type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
};

describe('Pulumi OpenStack cloud stack (mocked providers)', () => {
  let cloud: InstanceType<typeof import('../../infra/pulumi/openstack-cloud').OpenStackCloud>;
  beforeAll(async () => {
    const { OpenStackCloud } = await import('../../infra/pulumi/openstack-cloud');
    cloud = new OpenStackCloud('cloud', ARGS, { transformations: [recorder()] });
    await value(cloud.urn);
    await value(cloud.platform.urn);
    await new Promise((r) => setTimeout(r, 50));
  });

  test('network, subnet and a router with the external gateway, the subnet on the router (mocked providers)', () => {
    const network = one('openstack:networking/network:Network');
    const subnet = one('openstack:networking/subnet:Subnet');
    expect(subnet.inputs).toMatchObject({ networkId: `${network.name}-id`, cidr: '10.42.0.0/24', ipVersion: 4 });
    const router = one('openstack:networking/router:Router');
    expect(router.inputs.externalNetworkId).toBe('ext-net');
    expect(one('openstack:networking/routerInterface:RouterInterface').inputs).toEqual({ routerId: `${router.name}-id`, subnetId: `${subnet.name}-id` });
  });

  test('the Magnum template and cluster take node counts and flavors from the arguments (mocked providers)', () => {
    const template = one('openstack:containerinfra/clusterTemplate:ClusterTemplate');
    expect(template.inputs).toMatchObject({ coe: 'kubernetes', image: 'fcos-40', externalNetworkId: 'ext-net', masterLbEnabled: true });
    const cluster = one('openstack:containerinfra/cluster:Cluster');
    expect(cluster.inputs).toMatchObject({ clusterTemplateId: `${template.name}-id`, masterCount: 3, nodeCount: 5, flavor: 'm1.large', masterFlavor: 'm1.medium' });
    expect(dependsOn.get('cloud-cluster')).toEqual(['cloud-router-interface']);
  });

  test("the Kubernetes provider is built from the Magnum cluster's kubeconfig, a secret, and deploys the platform (mocked providers)", async () => {
    expect(await pulumi.isSecret(cloud.kubeconfig)).toBe(true);
    expect(await value(cloud.kubeconfig)).toContain('# magnum cloud-cluster');
    const provider = cloud.provider as unknown as { kubeconfig: pulumi.Output<string> };
    expect(await value(provider.kubeconfig)).toBe(await value(cloud.kubeconfig));
    const deployment = cloud.platform.resources.get('Deployment/cairn/cairn-api') as pulumi.CustomResource;
    expect(deployment).toBeDefined();
    expect(opts.get('cloud-platform-deployment-cairn-cairn-api')?.provider).toBe(cloud.provider);
  });

  test('the platform Deployments depend on the migration Job (mocked providers)', async () => {
    const job = `cloud-platform-job-cairn-${await value(cloud.platform.migrationJobName)}`;
    expect(dependsOn.get('cloud-platform-deployment-cairn-cairn-api')).toContain(job);
    expect(dependsOn.get('cloud-platform-deployment-cairn-cairn-executor')).toContain(job);
    expect(dependsOn.get(job)).toContain('cloud-platform-secret-cairn-cairn-secret');
  });

  test("Swift: a reseller-admin service user, and the backend's marked system container in the platform account (mocked providers)", async () => {
    // The names the swift backend uses (services/core/objectstore), which infra does not import.
    const { SYSTEM_ACCOUNT, SYSTEM_CONTAINER } = await import('../../services/core/objectstore/index');
    const { CONTAINER_MARK } = await import('../../services/core/objectstore/swift-names');
    const { SWIFT_SYSTEM } = await import('../../infra/pulumi/openstack-cloud');
    expect([SWIFT_SYSTEM.account, SWIFT_SYSTEM.container, `x-container-meta-${SWIFT_SYSTEM.markMetadata}`]).toEqual([SYSTEM_ACCOUNT, SYSTEM_CONTAINER, CONTAINER_MARK]);

    expect(one('openstack:objectstorage/container:Container').inputs).toMatchObject({ name: 'system', metadata: { cairn: '1' } });
    expect(one('openstack:identity/roleAssignment:RoleAssignment').inputs).toEqual({ projectId: 'cloud-service-project-id', userId: 'cloud-service-user-id', roleId: 'role-ResellerAdmin' });
    expect(await value(cloud.swiftAccount)).toBe('AUTH__.cairn');
    // The container is made as the service user in the system account, once the user holds its role.
    const serviceProvider = one('pulumi:providers:openstack');
    expect(serviceProvider.inputs).toMatchObject({ authUrl: 'https://keystone.test/v3', tenantId: 'cloud-service-project-id', region: 'RegionTwo' });
    expect(JSON.parse(serviceProvider.inputs.endpointOverrides)).toEqual({ 'object-store': 'https://swift.test/v1/AUTH__.cairn/' });
    expect(dependsOn.get('cloud-system-container')).toEqual(['cloud-service-role']);
  });

  test('Trove: instance, database and user; the DSN points at the instance (mocked providers)', async () => {
    const instance = one('openstack:database/instance:Instance');
    expect(instance.inputs).toMatchObject({ flavorId: 'd2.medium', size: 30, datastore: { type: 'postgresql' }, networks: [{ uuid: 'cloud-network-id' }] });
    expect(one('openstack:database/database:Database').inputs).toMatchObject({ instanceId: `${instance.name}-id`, name: 'cairn' });
    expect(one('openstack:database/user:User').inputs).toMatchObject({ instanceId: `${instance.name}-id`, name: 'cairn', databases: ['cairn'] });
    expect(await value(cloud.databaseUrl)).toBe('postgres://cairn:generated-cloud-database-password@10.42.0.10:5432/cairn');
  });

  test('Keystone: a function-engine service named qinling with public, internal and admin endpoints (mocked providers)', () => {
    const service = one('openstack:identity/serviceV3:ServiceV3');
    expect(service.inputs).toMatchObject({ type: 'function-engine', name: 'qinling', enabled: true });
    const endpoints = byType('openstack:identity/endpointV3:EndpointV3').map((e) => e.inputs);
    expect(endpoints.map((e) => [e.interface, e.url, e.endpointRegion, e.serviceId]).sort()).toEqual([
      ['admin', 'http://cairn.internal:8080', 'RegionTwo', `${service.name}-id`],
      ['internal', 'http://cairn.internal:8080', 'RegionTwo', `${service.name}-id`],
      ['public', 'https://cairn.test', 'RegionTwo', `${service.name}-id`],
    ]);
  });

  test('the database URL, Swift key and kubeconfig are secrets; the ConfigMap points the platform at Swift (mocked providers)', async () => {
    expect(await pulumi.isSecret(cloud.databaseUrl)).toBe(true);
    const secret = cloud.platform.resources.get('Secret/cairn/cairn-secret') as unknown as { stringData: pulumi.Output<Record<string, string>> };
    expect(await pulumi.isSecret(secret.stringData)).toBe(true);
    expect(await value(secret.stringData)).toEqual({
      CAIRN_ADMIN_PASSWORD: 'admin-pw',
      CAIRN_INTERNAL_TOKEN: 'generated-cloud-platform-internal-token',
      CAIRN_DATABASE_URL: 'postgres://cairn:generated-cloud-database-password@10.42.0.10:5432/cairn',
      CAIRN_SWIFT_KEY: 'generated-cloud-swift-password',
    });
    const config = created.find((c) => c.type === 'kubernetes:core/v1:ConfigMap')?.inputs.data as Record<string, string>;
    expect(config).toMatchObject({ CAIRN_OBJECT_STORE: 'swift', CAIRN_SWIFT_AUTH_URL: 'https://keystone.test/v3', CAIRN_SWIFT_AUTH_VERSION: '3', CAIRN_SWIFT_USER: 'cloud-cairn', CAIRN_REGION: 'RegionTwo', CAIRN_PUBLIC_URL: 'https://cairn.test' });
    expect(Object.values(config).join(' ')).not.toContain('generated-');
    // Every generated password is a secret in the state (@pulumi/random marks its result).
    for (const name of ['cloud-database-password', 'cloud-swift-password', 'cloud-platform-internal-token']) expect(opts.get(name)?.additionalSecretOutputs).toContain('result');
    expect(opts.get('cloud-cluster')?.additionalSecretOutputs).toContain('kubeconfig');
  });

  test("each platform workload's environment (ConfigMap, Secret, literal env) is accepted by the services' config: swift backend, Trove DSN (mocked providers)", async () => {
    const { loadConfig } = await import('../../services/core/config');
    const configMap = created.find((c) => c.type === 'kubernetes:core/v1:ConfigMap')?.inputs.data as Record<string, string>;
    const secret = cloud.platform.resources.get('Secret/cairn/cairn-secret') as unknown as { stringData: pulumi.Output<Record<string, string>> };
    const secretData = await value(secret.stringData);
    const workloads = created.filter((c) => ['kubernetes:apps/v1:Deployment', 'kubernetes:batch/v1:Job'].includes(c.type) && c.inputs.metadata.namespace === 'cairn');
    expect(workloads.length).toBeGreaterThanOrEqual(3);
    for (const workload of workloads) {
      for (const container of workload.inputs.spec.template.spec.containers as { env?: { name: string; value?: string }[] }[]) {
        const literal = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
        const config = loadConfig({ ...configMap, ...secretData, ...literal });
        expect(config.objectStore).toMatchObject({ backend: 'swift', authUrl: 'https://keystone.test/v3', authVersion: '3', user: 'cloud-cairn', projectName: 'cloud-cairn-service', key: 'generated-cloud-swift-password' });
        expect(config.databaseUrl).toBe('postgres://cairn:generated-cloud-database-password@10.42.0.10:5432/cairn');
        expect(config.region).toBe('RegionTwo');
      }
    }
  });

  test('stateful resources are protected and retained on delete; nothing else is (mocked providers)', () => {
    const kept = [...opts.entries()].filter(([, o]) => o.protect === true && o.retainOnDelete === true).map(([n]) => n).sort();
    expect(kept).toEqual(['cloud-cluster', 'cloud-database-database', 'cloud-database-instance', 'cloud-system-container']);
  });

  test('no two resources share a name (mocked providers)', () => {
    const names = created.map((c) => `${c.type}::${c.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  test('every Kubernetes resource of the stack passes every policy rule (mocked providers)', () => {
    const objects = created.filter((c) => c.type.startsWith('kubernetes:') && c.inputs.kind).map((c) => c.inputs as ManifestObject);
    expect(objects.length).toBe(cloud.platform.resources.size);
    expect(evaluate(ALL_RULES, objects)).toEqual([]);
  });

  test('bad arguments are refused together, naming each, before anything is created (mocked providers)', async () => {
    const { OpenStackCloud } = await import('../../infra/pulumi/openstack-cloud');
    const before = created.length;
    const bad = { ...ARGS, authUrl: 'keystone.test', cluster: { ...ARGS.cluster, masterCount: 2 }, endpoints: { public: 'https://cairn.test/v1' } };
    expect(() => new OpenStackCloud('bad', bad)).toThrow(/authUrl keystone\.test: .*cluster\.masterCount 2: expected an odd number.*endpoints\.public https:\/\/cairn\.test\/v1: the catalog holds the service root/);
    await new Promise((r) => setTimeout(r, 20));
    expect(created.length).toBe(before);
  });
});

describe('Pulumi cloud database choices (mocked providers)', () => {
  test('in-cluster PostgreSQL: a fenced StatefulSet with a retained volume, password in a Secret, policy-clean (mocked providers)', async () => {
    const { CloudDatabase } = await import('../../infra/pulumi/cloud-database');
    const { ExistingCluster } = await import('../../infra/pulumi/existing-cluster');
    const cluster = new ExistingCluster('pg-cluster', { kubeconfig: 'apiVersion: v1\nkind: Config\n' });
    const before = created.length;
    const db = new CloudDatabase('pg', { kind: 'in-cluster', provider: cluster.provider, storage: '40Gi' }, { transformations: [recorder()] });
    expect(await value(db.url)).toBe('postgres://cairn:generated-pg-password@cairn-postgres.cairn-db.svc:5432/cairn');
    expect(await pulumi.isSecret(db.url)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    const mine = created.slice(before);
    const objects = mine.filter((c) => c.type.startsWith('kubernetes:')).map((c) => c.inputs as ManifestObject);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Namespace/cairn-db', 'NetworkPolicy/cairn-postgres-ingress', 'Secret/cairn-postgres', 'Service/cairn-postgres', 'StatefulSet/cairn-postgres']);
    const sts = objects.find((o) => o.kind === 'StatefulSet') as ManifestObject & { spec: any };
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('40Gi');
    expect(sts.spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'cairn-postgres' } }]);
    expect(opts.get('pg-statefulset')).toMatchObject({ protect: true, retainOnDelete: true });
    const secret = mine.find((c) => c.type === 'kubernetes:core/v1:Secret');
    expect(opts.get(secret!.name)?.additionalSecretOutputs).toEqual(expect.arrayContaining(['data', 'stringData']));
    expect(evaluate(ALL_RULES, objects)).toEqual([]);
  });

  test('external: the DSN given is kept a secret; a non-postgres URL is refused (mocked providers)', async () => {
    const { CloudDatabase } = await import('../../infra/pulumi/cloud-database');
    const db = new CloudDatabase('ext', { kind: 'external', url: 'postgres://cairn:pw@db.test:5432/cairn' });
    expect(await pulumi.isSecret(db.url)).toBe(true);
    expect(await value(db.url)).toBe('postgres://cairn:pw@db.test:5432/cairn');
    expect(() => new CloudDatabase('ext-bad', { kind: 'external', url: 'mysql://db.test/cairn' })).toThrow(/url: expected postgres:/);
  });
});
