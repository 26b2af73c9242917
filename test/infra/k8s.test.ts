// The cdk8s charts: every object validates against the Kubernetes schemas, one snapshot per
// chart, and the wiring the platform relies on (probes, migration Job, RBAC, network fences).
import { Testing, Yaml } from 'cdk8s';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PlatformChart } from '../../infra/k8s/platform-chart';
import { RUNTIME_PORT } from '../../infra/k8s/runtime-pool-chart';
import { validateManifest, type ManifestObject } from '../../infra/k8s/schemas';
import { TenantChart } from '../../infra/k8s/tenant-chart';
import { allObjects, BUNDLE_SHA256, find, REGISTRY, scenario, VERSION } from './scenario';

describe('k8s charts', () => {
  const app = scenario();
  const objects = allObjects(app);

  test('every object validates against the Kubernetes schemas', () => {
    expect(objects.length).toBeGreaterThan(20);
    for (const obj of objects) expect(() => validateManifest(obj)).not.toThrow();
  });

  test('an object that breaks its schema fails validation, naming it', () => {
    const broken = { ...find(objects, 'Deployment', 'cairn-api') };
    broken.spec = { ...broken.spec, replicas: 'two' };
    expect(() => validateManifest(broken)).toThrow(/Deployment cairn-api does not validate/);
    expect(() => validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toThrow(/no schema known/);
  });

  test.each(app.app.charts.map((c) => [c.node.id, c] as const))('snapshot of chart %s', (_id, chart) => {
    expect(Testing.synth(chart)).toMatchSnapshot();
  });

  test('no two objects share a kind, namespace and name', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('the migration Job is named after the bundle hash and runs `node api.js migrate`', () => {
    const job = find(objects, 'Job', `cairn-migrate-${BUNDLE_SHA256.slice(0, 12)}`);
    const [container] = job.spec.template.spec.containers;
    expect(container.command).toEqual(['node', '/app/api.js', 'migrate']);
    expect(container.image).toBe(`${REGISTRY}/cairn-api:${VERSION}`);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(app.platform.migrationJobName).toBe(job.metadata.name);
  });

  test('api and executor have readiness and liveness probes (the executor ready on /readyz) and roll without losing capacity', () => {
    for (const name of ['cairn-api', 'cairn-executor']) {
      const d = find(objects, 'Deployment', name);
      const [c] = d.spec.template.spec.containers;
      expect(c.readinessProbe.httpGet).toEqual({ path: name === 'cairn-executor' ? '/readyz' : '/healthz', port: 'http' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      expect(d.spec.template.metadata.labels['app.kubernetes.io/version']).toBe(VERSION);
      expect(d.spec.template.metadata.annotations['cairn.io/bundle-sha256']).toBe(BUNDLE_SHA256);
    }
  });

  test('the Service, PodDisruptionBudget and autoscaler select the api pods', () => {
    const podLabels = find(objects, 'Deployment', 'cairn-api').spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    expect(selects(find(objects, 'Service', 'cairn-api').spec.selector)).toBe(true);
    expect(selects(find(objects, 'PodDisruptionBudget', 'cairn-api').spec.selector.matchLabels)).toBe(true);
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'cairn-api');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'cairn-api' });
    expect(hpa.spec.minReplicas).toBe(2);
    // The autoscaler owns the api's replica count; a re-apply must not reset it.
    expect(find(objects, 'Deployment', 'cairn-api').spec.replicas).toBeUndefined();
  });

  test('the executor may manage pods in the runtime namespace only; no other pod gets a token', () => {
    const role = find(objects, 'Role', 'cairn-executor');
    expect(role.metadata.namespace).toBe('cairn-runtimes');
    expect((role as any).rules.flatMap((r: { resources: string[] }) => r.resources).sort()).toEqual(['pods', 'pods/log']);
    const binding = find(objects, 'RoleBinding', 'cairn-executor') as any;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'cairn-executor', namespace: 'cairn' }]);
    for (const d of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job') as any[]) {
      expect([d.metadata.name, d.spec.template.spec.automountServiceAccountToken]).toEqual([d.metadata.name, d.metadata.name === 'cairn-executor']);
    }
  });

  test('runtime pods reach only the api (and DNS), and only the executor reaches them', () => {
    const rt = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'cairn-runtimes') as any[];
    const deny = rt.find((p) => p.metadata.name === 'default-deny');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const egress = rt.flatMap((p) => p.spec.egress ?? []);
    const targets = egress.flatMap((e: any) => e.to.map((t: any) => `${t.namespaceSelector.matchLabels['kubernetes.io/metadata.name']}/${Object.values(t.podSelector.matchLabels).join(',')}`));
    expect(targets.sort()).toEqual(['cairn/api,cairn', 'kube-system/kube-dns']);
    const ingress = rt.flatMap((p) => p.spec.ingress ?? []);
    expect(ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'cairn' } }, podSelector: { matchLabels: { 'app.kubernetes.io/component': 'executor', 'app.kubernetes.io/name': 'cairn' } } }],
        ports: [{ port: RUNTIME_PORT, protocol: 'TCP' }],
      },
    ]);
  });

  test('secret settings go to the Secret, the rest to the ConfigMap, and the chart names the misplaced ones', () => {
    const custom = allObjects(
      scenario({ platform: { env: { CAIRN_REGION: 'RegionTwo' }, secretEnv: { CAIRN_DATABASE_URL: 'postgres://cairn@db:5432/cairn' } } }),
    );
    expect((find(custom, 'ConfigMap', 'cairn-config') as any).data.CAIRN_REGION).toBe('RegionTwo');
    expect((find(custom, 'Secret', 'cairn-secret') as any).stringData).toEqual({ CAIRN_DATABASE_URL: 'postgres://cairn@db:5432/cairn' });
    expect(() =>
      new PlatformChart(Testing.app(), 'p', {
        version: 'latest',
        bundleSha256: 'abc',
        registry: REGISTRY,
        env: { CAIRN_DATABASE_URL: 'postgres://x@y/z', CAIRN_PORT: '9', REGION: 'x' },
      }),
    ).toThrow(
      new RegExp(
        ['version "latest"', 'bundleSha256 "abc"', 'env.CAIRN_DATABASE_URL: a secret', 'env.CAIRN_PORT: set by the chart', 'env.REGION: only CAIRN_'].map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^]*'),
      ),
    );
    expect(() => new TenantChart(Testing.app(), 't', { tenant: 'Not_A_Label', version: VERSION })).toThrow(/tenant "Not_A_Label": expected a DNS label/);
  });

  test('synth writes plain YAML, one file per chart in apply order, holding the same objects', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-k8s-'));
    try {
      const written = scenario({ outdir });
      written.app.synth();
      const files = fs.readdirSync(outdir).sort();
      expect(files).toEqual(['0000-runtime-pools.yaml', '0001-platform.yaml', '0002-tenant-template.yaml', '0003-tenant-acme.yaml']);
      const loaded = files.flatMap((f) => Yaml.load(path.join(outdir, f)) as ManifestObject[]);
      expect(loaded).toEqual(allObjects(written));
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
