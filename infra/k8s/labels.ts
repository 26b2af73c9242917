// The label and annotation scheme of every Cairn object: Kubernetes' recommended
// `app.kubernetes.io/*` labels carry the one platform version; the bundle hash is an annotation.

/** Part of the platform an object belongs to (the `app.kubernetes.io/component` label). */
export type Component = 'api' | 'executor' | 'migration' | 'runtime' | 'platform' | 'tenant';

export const BUNDLE_ANNOTATION = 'cairn.io/bundle-sha256';
export const VERSION_ANNOTATION = 'cairn.io/version';
export const TENANT_LABEL = 'cairn.io/tenant';
export const RUNTIME_LABEL = 'cairn.io/runtime';

/** Selector labels: stable across versions (a Deployment's selector cannot change). */
export function selectorLabels(component: Component, extra: Record<string, string> = {}): Record<string, string> {
  return { 'app.kubernetes.io/name': 'cairn', 'app.kubernetes.io/component': component, ...extra };
}

/** Labels of every object and pod: the selector labels plus the version. */
export function objectLabels(component: Component, version: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...selectorLabels(component, extra),
    'app.kubernetes.io/part-of': 'cairn',
    'app.kubernetes.io/version': version,
    'app.kubernetes.io/managed-by': 'cairn-infra',
  };
}

/** Annotations of every pod template: the version and the bundle it runs. */
export function podAnnotations(version: string, bundleSha256: string): Record<string, string> {
  return { [VERSION_ANNOTATION]: version, [BUNDLE_ANNOTATION]: bundleSha256 };
}
