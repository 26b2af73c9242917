// The Pulumi components, run in-process against mocked providers (the Pulumi CLI and provider
// plugins cannot be downloaded here): which resources an existing-cluster stack creates, how
// they are wired, and that secrets stay secret.
import * as pulumi from '@pulumi/pulumi';
import type { ManifestObject } from '../../infra/k8s/schemas';
import { ALL_RULES, evaluate } from '../../infra/policy';
import { mockProviders, value, type Created } from './pulumi-mocks';
import { BUNDLE_SHA256, REGISTRY, VERSION } from './scenario';

let created: Created[] = [];

beforeAll(async () => {
  created = await mockProviders('existing-cluster');
});

async function deploy() {
  // Imported after setMocks, as the components must see the mocked runtime.
  const { ExistingCluster } = await import('../../infra/pulumi/existing-cluster');
  const { CairnPlatform } = await import('../../infra/pulumi/platform');
  const names = new Map<pulumi.Resource, string>();
  const dependsOn = new Map<string, string[]>();
  // Records every child's name and declared dependencies, through the public transformation hook.
  const record: pulumi.ResourceTransformation = (args) => {
    names.set(args.resource, args.name);
    const deps = args.opts.dependsOn;
    dependsOn.set(args.name, ((Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[]).map((r) => names.get(r) ?? '?'));
    return undefined;
  };
  const cluster = new ExistingCluster('cluster', { kubeconfig: 'apiVersion: v1\nkind: Config\n' });
  const platform = new CairnPlatform(
    'cairn',
    {
      provider: cluster.provider,
      version: VERSION,
      bundleSha256: BUNDLE_SHA256,
      registry: REGISTRY,
      env: { CAIRN_REGION: 'RegionTwo' },
      secretEnv: { CAIRN_DATABASE_URL: 'postgres://cairn:pw@db:5432/cairn' },
    },
    { transformations: [record] },
  );
  await value(platform.urn);
  await new Promise((r) => setTimeout(r, 50));
  return { cluster, platform, dependsOn };
}

describe('Pulumi existing-cluster stack (mocked providers)', () => {
  let stack: Awaited<ReturnType<typeof deploy>>;
  beforeAll(async () => {
    stack = await deploy();
  });

  test('creates the provider and one Kubernetes resource per chart object (mocked providers)', () => {
    const types = created.map((c) => c.type);
    expect(types).toContain('pulumi:providers:kubernetes');
    for (const t of ['kubernetes:core/v1:Namespace', 'kubernetes:apps/v1:Deployment', 'kubernetes:batch/v1:Job', 'kubernetes:rbac.authorization.k8s.io/v1:Role', 'kubernetes:networking.k8s.io/v1:NetworkPolicy']) {
      expect(types).toContain(t);
    }
    expect(stack.platform.resources.size).toBe(created.filter((c) => c.type.startsWith('kubernetes:') && !c.type.startsWith('kubernetes:index')).length);
  });

  test('no two resources share a name (mocked providers)', () => {
    const names = created.map((c) => `${c.type}::${c.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  test('the platform Deployments depend on the migration Job, which depends on the configuration (mocked providers)', async () => {
    const job = `cairn-job-cairn-${await value(stack.platform.migrationJobName)}`;
    expect(stack.dependsOn.get('cairn-deployment-cairn-cairn-api')).toContain(job);
    expect(stack.dependsOn.get('cairn-deployment-cairn-cairn-executor')).toContain(job);
    expect(stack.dependsOn.get(job)).toEqual(expect.arrayContaining(['cairn-configmap-cairn-cairn-config', 'cairn-secret-cairn-cairn-secret', 'cairn-namespace-cairn']));
    expect(stack.dependsOn.get('cairn-horizontalpodautoscaler-cairn-cairn-api')).toEqual(['cairn-deployment-cairn-cairn-api']);
  });

  test('the kubeconfig and the Secret values are secrets (mocked providers)', async () => {
    expect(await pulumi.isSecret(stack.cluster.kubeconfig)).toBe(true);
    const secret = stack.platform.resources.get('Secret/cairn/cairn-secret') as unknown as { stringData: pulumi.Output<Record<string, string>> };
    expect(await pulumi.isSecret(secret.stringData)).toBe(true);
    expect(await value(secret.stringData)).toEqual({ CAIRN_DATABASE_URL: 'postgres://cairn:pw@db:5432/cairn', CAIRN_INTERNAL_TOKEN: 'generated-cairn-internal-token' });
    // The ConfigMap holds no credential.
    const config = created.find((c) => c.type === 'kubernetes:core/v1:ConfigMap');
    expect(Object.keys(config?.inputs.data ?? {}).sort()).toEqual(['CAIRN_DATA_DIR', 'CAIRN_HOST', 'CAIRN_PORT', 'CAIRN_REGION', 'CAIRN_RUNTIME_DIR']);
  });

  test('every Kubernetes resource of the stack passes every policy rule (mocked providers)', () => {
    const objects = created.filter((c) => c.type.startsWith('kubernetes:') && c.inputs.kind).map((c) => c.inputs as ManifestObject);
    expect(objects.length).toBe(stack.platform.resources.size);
    expect(evaluate(ALL_RULES, objects)).toEqual([]);
  });
});
