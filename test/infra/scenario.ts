// The deployment the infra tests synthesize: fixed version and bundle hash (so snapshots change
// only when the charts do), the default platform settings, and two tenants.
import { Testing } from 'cdk8s';
import { createCairnApp, type CairnApp, type CairnAppProps } from '../../infra/k8s/app';
import type { ManifestObject } from '../../infra/k8s/schemas';

export const VERSION = '1.2.3';
export const BUNDLE_SHA256 = 'c0ffee00'.repeat(8);
export const REGISTRY = 'registry.test/cairn';

export function scenario(overrides: Partial<CairnAppProps> = {}): CairnApp {
  return createCairnApp({
    version: VERSION,
    bundleSha256: BUNDLE_SHA256,
    registry: REGISTRY,
    outdir: '/nonexistent/not-synthesized',
    tenants: [{ tenant: 'template' }, { tenant: 'acme' }],
    ...overrides,
  });
}

/** Every object of every chart of a scenario, as `kubectl apply` would read them. */
export function allObjects(app: CairnApp = scenario()): ManifestObject[] {
  return app.app.charts.flatMap((chart) => Testing.synth(chart) as ManifestObject[]);
}

export function find(objects: ManifestObject[], kind: string, name: string): ManifestObject & { spec?: any } {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return obj;
}
