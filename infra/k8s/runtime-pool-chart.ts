// The runtime-pool chart: the namespace where function code runs, fenced off so its pods reach
// only the Cairn api, and one warm pool of generic runtime pods per runtime. The executor (in the
// platform namespace, through the Role of the platform chart) specialises pooled pods per function.
import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { objectLabels, podAnnotations, RUNTIME_LABEL, selectorLabels } from './labels';
import { addModel } from './model-object';
import { API_PORT } from './platform-chart';
import { pinnedImage, podSecurityContext, podSecurityLabels, scratchVolumes, secureContainer, type ScratchDir } from './pod-security';
import { Cpu, memoryQuantity, resourceRequirements, Size, type ContainerResources } from './units';
import { checkBundleSha256, checkDnsLabel, checkProblems, checkVersion } from './validation';

/** The port a runtime server listens on in its pod; the executor connects to it. */
export const RUNTIME_PORT = 9090;

export interface RuntimePool {
  /** Runtime name as in the function API (`python3`, `nodejs`): image `cairn-runtime-<runtime>`. */
  runtime: string;
  /** Generic pods kept warm. @default 2 (CAIRN_POOL_SIZE's default) */
  warm?: number;
  /** Requests and limits of one runtime pod. @default 100m–300m CPU, 160–256 MiB (the function API's largest limits plus the runtime's overhead) */
  resources?: ContainerResources;
}

export interface RuntimePoolChartProps {
  version: string;
  bundleSha256: string;
  registry: string;
  /** Namespace of the runtime pods. @default cairn-runtimes */
  namespace?: string;
  /** Namespace of the api and executor (PlatformChart). @default cairn */
  platformNamespace?: string;
  /** @default python3 and nodejs, each with the defaults of RuntimePool */
  pools?: RuntimePool[];
  /** Caps over the whole namespace (warm pods and the pods the executor creates). @default 64 pods, 16 CPU, 16 GiB */
  quota?: { pods: number; cpu: Cpu; memory: Size };
}

const DEFAULT_RUNTIME_RESOURCES: ContainerResources = {
  cpu: { request: Cpu.millis(100), limit: Cpu.millis(300) },
  memory: { request: Size.mebibytes(160), limit: Size.mebibytes(256) },
};
const SCRATCH: ScratchDir[] = [{ name: 'tmp', mountPath: '/tmp', sizeLimit: '64Mi' }];

export class RuntimePoolChart extends Chart {
  constructor(scope: Construct, id: string, props: RuntimePoolChartProps) {
    super(scope, id);
    const p = normalise(props);
    const labels = objectLabels('runtime', p.version);

    addModel(this, 'namespace', new Namespace({ metadata: { name: p.namespace, labels: { ...labels, ...podSecurityLabels() } } }));
    addModel(
      this,
      'quota',
      new ResourceQuota({
        metadata: { name: 'cairn-runtimes', namespace: p.namespace, labels },
        spec: {
          hard: {
            pods: String(p.quota.pods),
            'requests.cpu': p.quota.cpu.toQuantity(),
            'limits.cpu': p.quota.cpu.toQuantity(),
            'requests.memory': memoryQuantity(p.quota.memory),
            'limits.memory': memoryQuantity(p.quota.memory),
            // Function code is never exposed as a service of its own.
            services: '0',
          },
        },
      }),
    );
    // Pods the executor creates without explicit limits still get bounded ones.
    const defaults = resourceRequirements(DEFAULT_RUNTIME_RESOURCES);
    addModel(
      this,
      'limits',
      new LimitRange({
        metadata: { name: 'cairn-runtimes', namespace: p.namespace, labels },
        spec: { limits: [{ type: 'Container', default: defaults.limits, defaultRequest: defaults.requests, max: { cpu: Cpu.cores(2).toQuantity(), memory: '2048Mi' } }] },
      }),
    );
    addModel(this, 'service-account', new ServiceAccount({ metadata: { name: 'cairn-runtime', namespace: p.namespace, labels }, automountServiceAccountToken: false }));
    this.networkPolicies(p);
    for (const pool of p.pools) this.pool(p, pool);
  }

  /** Runtime pods reach only the api (and DNS to find it); only the executor reaches them. */
  private networkPolicies(p: Normalised): void {
    const labels = objectLabels('runtime', p.version);
    const platform = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.platformNamespace } } };
    addModel(
      this,
      'default-deny',
      new NetworkPolicy({ metadata: { name: 'default-deny', namespace: p.namespace, labels }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }),
    );
    addModel(
      this,
      'egress-to-api',
      new NetworkPolicy({
        metadata: { name: 'runtime-egress-to-api', namespace: p.namespace, labels },
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            { to: [{ ...platform, podSelector: { matchLabels: selectorLabels('api') } }], ports: [{ port: API_PORT, protocol: 'TCP' }] },
            {
              to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
              ports: [
                { port: 53, protocol: 'UDP' },
                { port: 53, protocol: 'TCP' },
              ],
            },
          ],
        },
      }),
    );
    addModel(
      this,
      'ingress-from-executor',
      new NetworkPolicy({
        metadata: { name: 'runtime-ingress-from-executor', namespace: p.namespace, labels },
        spec: {
          podSelector: {},
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ ...platform, podSelector: { matchLabels: selectorLabels('executor') } }], ports: [{ port: RUNTIME_PORT, protocol: 'TCP' }] }],
        },
      }),
    );
  }

  private pool(p: Normalised, pool: Required<RuntimePool>): void {
    const selector = selectorLabels('runtime', { [RUNTIME_LABEL]: pool.runtime });
    const labels = objectLabels('runtime', p.version, { [RUNTIME_LABEL]: pool.runtime });
    const container = secureContainer({
      name: 'runtime',
      image: pinnedImage(p.registry, `cairn-runtime-${pool.runtime}`, p.version),
      resources: pool.resources,
      scratch: SCRATCH,
      extra: {
        ports: [{ name: 'runtime', containerPort: RUNTIME_PORT, protocol: 'TCP' }],
        readinessProbe: { tcpSocket: { port: 'runtime' }, periodSeconds: 2 },
      },
    });
    addModel(
      this,
      `pool-${pool.runtime}`,
      new Deployment({
        metadata: { name: `cairn-runtime-${pool.runtime}`, namespace: p.namespace, labels, annotations: podAnnotations(p.version, p.bundleSha256) },
        spec: {
          replicas: pool.warm,
          selector: { matchLabels: selector },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels, annotations: podAnnotations(p.version, p.bundleSha256) },
            spec: {
              serviceAccountName: 'cairn-runtime',
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurityContext,
              containers: [container],
              volumes: scratchVolumes(SCRATCH),
            },
          },
        },
      }),
    );
  }
}

interface Normalised {
  version: string;
  bundleSha256: string;
  registry: string;
  namespace: string;
  platformNamespace: string;
  pools: Required<RuntimePool>[];
  quota: { pods: number; cpu: Cpu; memory: Size };
}

function normalise(props: RuntimePoolChartProps): Normalised {
  const n: Normalised = {
    version: props.version,
    bundleSha256: props.bundleSha256,
    registry: props.registry,
    namespace: props.namespace ?? 'cairn-runtimes',
    platformNamespace: props.platformNamespace ?? 'cairn',
    pools: (props.pools ?? [{ runtime: 'python3' }, { runtime: 'nodejs' }]).map((pool) => ({
      runtime: pool.runtime,
      warm: pool.warm ?? 2,
      resources: pool.resources ?? DEFAULT_RUNTIME_RESOURCES,
    })),
    quota: props.quota ?? { pods: 64, cpu: Cpu.cores(16), memory: Size.gibibytes(16) },
  };
  const problems: string[] = [];
  checkVersion(problems, 'version', n.version);
  checkBundleSha256(problems, 'bundleSha256', n.bundleSha256);
  checkDnsLabel(problems, 'namespace', n.namespace);
  checkDnsLabel(problems, 'platformNamespace', n.platformNamespace);
  const seen = new Set<string>();
  n.pools.forEach((pool, i) => {
    checkDnsLabel(problems, `pools[${i}].runtime`, pool.runtime);
    if (seen.has(pool.runtime)) problems.push(`pools[${i}].runtime "${pool.runtime}": listed twice`);
    seen.add(pool.runtime);
    if (!Number.isInteger(pool.warm) || pool.warm < 0) problems.push(`pools[${i}].warm ${pool.warm}: expected an integer ≥ 0`);
  });
  if (!Number.isInteger(n.quota.pods) || n.quota.pods < 1) problems.push(`quota.pods ${n.quota.pods}: expected an integer ≥ 1`);
  checkProblems('RuntimePoolChart', problems);
  return n;
}
