// The policy rules: each has a passing and a failing case, and every object of every chart of
// the synthesized deployment passes all of them.
import { podSecurityLabels } from '../../infra/k8s/pod-security';
import type { ManifestObject } from '../../infra/k8s/schemas';
import {
  containersHaveLimits,
  containersNoPrivilegeEscalation,
  containersPinnedImage,
  containersReadOnlyRoot,
  containersRunAsNonRoot,
} from '../../infra/policy/container-rules';
import { ALL_RULES, evaluate, type Rule } from '../../infra/policy';
import { namespacesEnforceRestricted, tenantNamespacesDefaultDeny, tenantNamespacesHaveQuota } from '../../infra/policy/namespace-rules';
import { secretsNotInPlainState } from '../../infra/policy/secret-rules';
import { allObjects, scenario } from './scenario';

const goodContainer = {
  name: 'app',
  image: 'registry.test/cairn/cairn-api:1.2.3',
  resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
  securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
};

function deployment(container: Record<string, unknown>, podSecurityContext: Record<string, unknown> = {}): ManifestObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'n' },
    spec: { template: { spec: { securityContext: podSecurityContext, containers: [{ ...goodContainer, ...container }] } } },
  };
}

function tenant(extra: ManifestObject[] = []): ManifestObject[] {
  return [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 't', labels: { 'cairn.io/tenant': 't', ...podSecurityLabels() } } }, ...extra];
}
const quota: ManifestObject = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 't' }, spec: { hard: { pods: '5', 'limits.cpu': '1', 'limits.memory': '1Gi' } } };
const limits: ManifestObject = { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'l', namespace: 't' }, spec: { limits: [] } };
const denyAll: ManifestObject = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 't' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } };

const cases: [Rule, ManifestObject[], ManifestObject[], RegExp][] = [
  [containersHaveLimits, [deployment({})], [deployment({ resources: { requests: { cpu: '1' } } })], /requests.memory, limits.cpu, limits.memory/],
  [containersRunAsNonRoot, [deployment({ securityContext: { ...goodContainer.securityContext, runAsNonRoot: undefined } }, { runAsNonRoot: true })], [deployment({ securityContext: { ...goodContainer.securityContext, runAsNonRoot: false } }, { runAsNonRoot: true })], /runAsNonRoot is not true/],
  [containersReadOnlyRoot, [deployment({})], [deployment({ securityContext: { ...goodContainer.securityContext, readOnlyRootFilesystem: false } })], /readOnlyRootFilesystem/],
  [containersNoPrivilegeEscalation, [deployment({})], [deployment({ securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true } })], /allowPrivilegeEscalation is not false/],
  [containersPinnedImage, [deployment({ image: 'localhost:5000/cairn-api:1.2.3' }), deployment({ image: `busybox@sha256:${'a'.repeat(64)}` })], [deployment({ image: 'localhost:5000/cairn-api' })], /has no tag/],
  [containersPinnedImage, [deployment({})], [deployment({ image: 'cairn-api:latest' })], /moving tag "latest"/],
  [namespacesEnforceRestricted, tenant(), [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } }], /not "restricted"/],
  [tenantNamespacesHaveQuota, tenant([quota, limits]), tenant([limits]), /no ResourceQuota with limits.cpu, limits.memory, pods/],
  [tenantNamespacesDefaultDeny, tenant([denyAll]), tenant([{ ...denyAll, spec: { podSelector: {}, policyTypes: ['Ingress'] } }]), /no default-deny NetworkPolicy/],
  [
    secretsNotInPlainState,
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { CAIRN_REGION: 'RegionOne' } }],
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { CAIRN_DATABASE_URL: 'postgres://u:p@h/d' } }],
    /CAIRN_DATABASE_URL looks like a credential/,
  ],
  [secretsNotInPlainState, [deployment({ env: [{ name: 'CAIRN_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] })], [deployment({ env: [{ name: 'CAIRN_ADMIN_PASSWORD', value: 'hunter2' }] })], /literal value/],
];

describe('policy rules', () => {
  test.each(cases.map(([rule, pass, fail, message]) => [rule.id, rule, pass, fail, message] as const))('%s: passing and failing case', (_id, rule, pass, fail, message) => {
    expect(rule.check(pass)).toEqual([]);
    const violations = rule.check(fail);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations[0].rule).toBe(rule.id);
    expect(violations.map((v) => v.message).join('\n')).toMatch(message);
  });

  test('every rule has a case', () => {
    expect(new Set(cases.map(([r]) => r.id))).toEqual(new Set(ALL_RULES.map((r) => r.id)));
  });

  test('rules name the object and container they fault', () => {
    const [v] = containersReadOnlyRoot.check([deployment({ securityContext: {} })]);
    expect(v.object).toBe('Deployment n/d container app');
  });

  test('every object of every chart passes every rule', () => {
    const app = scenario({ platform: { env: { CAIRN_REGION: 'RegionTwo' }, secretEnv: { CAIRN_DATABASE_URL: 'postgres://cairn@db/cairn' } } });
    const objects = allObjects(app);
    expect(objects.filter((o) => o.kind === 'Namespace' && o.metadata.labels?.['cairn.io/tenant']).length).toBe(2);
    expect(evaluate(ALL_RULES, objects)).toEqual([]);
  });
});

describe('Pulumi policy pack', () => {
  // Imported lazily: @pulumi/policy is only needed by this block.
  const load = () => import('../../infra/policy/pulumi-policies');
  const asResources = (objects: ManifestObject[]) =>
    objects.map((o) => ({ type: `kubernetes:${o.apiVersion.includes('/') ? o.apiVersion : `core/${o.apiVersion}`}:${o.kind}`, props: o })) as any[];

  test('one mandatory stack policy per rule, passing every synthesized object', async () => {
    const { cairnStackPolicies } = await load();
    const policies = cairnStackPolicies();
    expect(policies.map((p) => p.name)).toEqual(ALL_RULES.map((r) => r.id));
    const reported: string[] = [];
    for (const p of policies) await p.validateStack({ resources: asResources(allObjects()) } as any, (m: string) => reported.push(m));
    expect(reported).toEqual([]);
  });

  test('a stack breaking a rule is reported, naming the object', async () => {
    const { cairnStackPolicies } = await load();
    const reported: string[] = [];
    const [limits] = cairnStackPolicies([containersHaveLimits]);
    await limits.validateStack({ resources: [{ type: 'kubernetes:apps/v1:Deployment', props: deployment({ resources: {} }) }, { type: 'pulumi:providers:kubernetes', props: {} }] } as any, (m: string) => reported.push(m));
    expect(reported).toEqual(['Deployment n/d container app: missing resources requests.cpu, requests.memory, limits.cpu, limits.memory']);
  });
});
