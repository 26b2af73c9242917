// Rules for namespaces: every namespace enforces Pod Security `restricted`, and every tenant
// namespace (labelled cairn.io/tenant) has a quota, default limits and a default-deny policy.
import { TENANT_LABEL } from '../k8s/labels';
import type { ManifestObject } from '../k8s/schemas';
import { describeObject, type Rule, type Violation } from './rule';

const namespaces = (objects: readonly ManifestObject[]) => objects.filter((o) => o.kind === 'Namespace');
const tenantNamespaces = (objects: readonly ManifestObject[]) => namespaces(objects).filter((o) => o.metadata.labels?.[TENANT_LABEL]);
const inNamespace = (objects: readonly ManifestObject[], kind: string, ns: string) => objects.filter((o) => o.kind === kind && o.metadata.namespace === ns);

export const namespacesEnforceRestricted: Rule = {
  id: 'namespace-pod-security-restricted',
  description: 'Every namespace enforces the Pod Security `restricted` profile.',
  check: (objects): Violation[] =>
    namespaces(objects)
      .filter((ns) => ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted')
      .map((ns) => ({ rule: 'namespace-pod-security-restricted', object: describeObject(ns), message: 'label pod-security.kubernetes.io/enforce is not "restricted"' })),
};

export const tenantNamespacesHaveQuota: Rule = {
  id: 'tenant-quota',
  description: 'Every tenant namespace has a ResourceQuota capping CPU, memory and pods, and a LimitRange giving containers default limits.',
  check: (objects): Violation[] =>
    tenantNamespaces(objects).flatMap((ns) => {
      const problems: string[] = [];
      const hard = Object.assign({}, ...inNamespace(objects, 'ResourceQuota', ns.metadata.name).map((q) => (q as { spec?: { hard?: object } }).spec?.hard ?? {})) as Record<string, unknown>;
      const missing = ['limits.cpu', 'limits.memory', 'pods'].filter((k) => hard[k] === undefined);
      if (missing.length) problems.push(`no ResourceQuota with ${missing.join(', ')}`);
      if (!inNamespace(objects, 'LimitRange', ns.metadata.name).length) problems.push('no LimitRange');
      return problems.map((message) => ({ rule: 'tenant-quota', object: describeObject(ns), message }));
    }),
};

/** A NetworkPolicy that selects every pod and, for both directions, allows nothing. */
function isDefaultDeny(policy: ManifestObject): boolean {
  const spec = (policy as { spec?: { podSelector?: { matchLabels?: object; matchExpressions?: unknown[] }; policyTypes?: string[]; ingress?: unknown[]; egress?: unknown[] } }).spec;
  const selectsAll = !!spec?.podSelector && !Object.keys(spec.podSelector.matchLabels ?? {}).length && !(spec.podSelector.matchExpressions ?? []).length;
  const types = spec?.policyTypes ?? [];
  return selectsAll && types.includes('Ingress') && types.includes('Egress') && !(spec?.ingress ?? []).length && !(spec?.egress ?? []).length;
}

export const tenantNamespacesDefaultDeny: Rule = {
  id: 'tenant-default-deny',
  description: 'Every tenant namespace has a default-deny NetworkPolicy (all pods, ingress and egress).',
  check: (objects): Violation[] =>
    tenantNamespaces(objects)
      .filter((ns) => !inNamespace(objects, 'NetworkPolicy', ns.metadata.name).some(isDefaultDeny))
      .map((ns) => ({ rule: 'tenant-default-deny', object: describeObject(ns), message: 'no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules)' })),
};

export const NAMESPACE_RULES: readonly Rule[] = [namespacesEnforceRestricted, tenantNamespacesHaveQuota, tenantNamespacesDefaultDeny];
