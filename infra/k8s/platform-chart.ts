// The platform chart: Cairn's api and executor in their namespace, their configuration, the
// migration Job of this bundle, and the network rules around them.
import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvFromSource } from 'kubernetes-models/v1/EnvFromSource';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { objectLabels, podAnnotations, selectorLabels, type Component } from './labels';
import { addModel } from './model-object';
import { pinnedImage, podSecurityContext, podSecurityLabels, scratchVolumes, secureContainer, type ScratchDir } from './pod-security';
import { Cpu, Size, type ContainerResources } from './units';
import { checkBundleSha256, checkDnsLabel, checkProblems, checkVersion } from './validation';

/** The port the api listens on inside its pod (CAIRN_PORT). */
export const API_PORT = 8080;
/** Where the pods keep their local state (CAIRN_DATA_DIR): an emptyDir, the root FS is read-only. */
export const DATA_DIR = '/var/lib/cairn';
/** Where the images hold the bundle (dist/ of `npm run build`). */
export const APP_DIR = '/app';

export interface ServiceProps {
  /** Pods kept running (for the api: the autoscaler's minimum). @default 2 for the api (a PodDisruptionBudget keeps one up), 1 for the executor */
  replicas?: number;
  /** Requests and limits of the container. @default api 250m–1 CPU, 256–512 MiB; executor 250m–2 CPU, 256 MiB–1 GiB */
  resources?: ContainerResources;
}

export interface PlatformChartProps {
  /** Platform version (package.json): image tags, labels and CAIRN_VERSION. */
  version: string;
  /** The bundle's sha256 (dist/manifest.json `bundleSha256`): names the migration Job. */
  bundleSha256: string;
  /** Registry path the images are pushed to, e.g. `registry.example.com/cairn`. */
  registry: string;
  /** Namespace of the api and executor. @default cairn */
  namespace?: string;
  /** Namespace of the runtime pods the executor manages (see RuntimePoolChart). @default cairn-runtimes */
  runtimeNamespace?: string;
  /** The api. @default see ServiceProps */
  api?: ServiceProps & {
    /** Most api pods the HorizontalPodAutoscaler scales to. @default 6 */
    maxReplicas?: number;
    /** Average CPU use the autoscaler aims at, in percent of the request. @default 70 */
    targetCpuPercent?: number;
  };
  /** The executor. @default see ServiceProps */
  executor?: ServiceProps;
  /** Further non-secret CAIRN_* settings for the ConfigMap (CAIRN_PUBLIC_URL, CAIRN_REGION …). @default none */
  env?: Record<string, string>;
  /**
   * Secret CAIRN_* settings (CAIRN_DATABASE_URL, CAIRN_ADMIN_PASSWORD, CAIRN_DEMO_PASSWORD,
   * CAIRN_INTERNAL_TOKEN: the api ⇄ executor shared secret, which both need to start) for
   * the Secret. @default none: the Secret is created empty for the operator (or Pulumi/CDK) to
   * fill; the services then generate passwords and, without a database URL, use PGlite in the
   * pod's scratch directory (fine for a trial, not for more than one api replica).
   */
  secretEnv?: Record<string, string>;
  /**
   * A ServiceAccount made outside the chart that the api pods and the migration Job run as, e.g.
   * one carrying a cloud role (the CDK stack's IRSA account, for the S3 bucket); the chart then
   * makes none for the api. @default the chart makes `cairn-api`
   */
  apiServiceAccount?: string;
}

const DEFAULT_API_RESOURCES: ContainerResources = {
  cpu: { request: Cpu.millis(250), limit: Cpu.cores(1) },
  memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) },
};
const DEFAULT_EXECUTOR_RESOURCES: ContainerResources = {
  cpu: { request: Cpu.millis(250), limit: Cpu.cores(2) },
  memory: { request: Size.mebibytes(256), limit: Size.gibibytes(1) },
};
const MIGRATION_RESOURCES: ContainerResources = {
  cpu: { request: Cpu.millis(100), limit: Cpu.cores(1) },
  memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
};
const SCRATCH: ScratchDir[] = [
  { name: 'data', mountPath: DATA_DIR, sizeLimit: '2Gi' },
  { name: 'tmp', mountPath: '/tmp', sizeLimit: '256Mi' },
];
/** Settings only the secret may carry: they must never land in a ConfigMap. */
const SECRET_SETTINGS = ['CAIRN_DATABASE_URL', 'CAIRN_ADMIN_PASSWORD', 'CAIRN_DEMO_PASSWORD', 'CAIRN_INTERNAL_TOKEN'];

export class PlatformChart extends Chart {
  readonly platformNamespace: string;
  readonly runtimeNamespace: string;
  /** Name of the migration Job of this bundle. */
  readonly migrationJobName: string;

  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    super(scope, id);
    const p = normalise(props);
    this.platformNamespace = p.namespace;
    this.runtimeNamespace = p.runtimeNamespace;
    this.migrationJobName = `cairn-migrate-${p.bundleSha256.slice(0, 12)}`;

    this.namespaceObject(p);
    const envFrom = this.configuration(p);
    this.api(p, envFrom);
    this.migrationJob(p, envFrom);
    this.executor(p, envFrom);
    this.networkPolicies(p);
  }

  private namespaceObject(p: Normalised): void {
    addModel(this, 'namespace', new Namespace({ metadata: { name: p.namespace, labels: { ...objectLabels('platform', p.version), ...podSecurityLabels() } } }));
  }

  /** The ConfigMap and Secret every Cairn container reads its CAIRN_* environment from. */
  private configuration(p: Normalised): IEnvFromSource[] {
    const meta = (name: string) => ({ name, namespace: p.namespace, labels: objectLabels('platform', p.version) });
    addModel(this, 'config', new ConfigMap({ metadata: meta('cairn-config'), data: sortedRecord(platformEnv(p)) }));
    addModel(this, 'secret', new Secret({ metadata: meta('cairn-secret'), type: 'Opaque', stringData: sortedRecord(p.secretEnv) }));
    return [{ configMapRef: { name: 'cairn-config' } }, { secretRef: { name: 'cairn-secret' } }];
  }

  private api(p: Normalised, envFrom: IEnvFromSource[]): void {
    const labels = objectLabels('api', p.version);
    if (p.apiServiceAccount === undefined) {
      addModel(this, 'api-service-account', new ServiceAccount({ metadata: { name: 'cairn-api', namespace: p.namespace, labels }, automountServiceAccountToken: false }));
    }
    const container = secureContainer({
      name: 'api',
      image: pinnedImage(p.registry, 'cairn-api', p.version),
      command: ['node', `${APP_DIR}/api.js`],
      resources: p.api.resources,
      scratch: SCRATCH,
      extra: {
        envFrom,
        // The api role: executions go to the executor Service over the internal API.
        env: [
          { name: 'CAIRN_ROLE', value: 'api' },
          { name: 'CAIRN_EXECUTOR_URL', value: `http://cairn-executor.${p.namespace}.svc:${API_PORT}` },
        ],
        ports: [{ name: 'http', containerPort: API_PORT, protocol: 'TCP' }],
        ...healthProbes(),
      },
    });
    // No `replicas` on the api Deployment: the autoscaler owns it (from api.replicas up), and a
    // re-apply must not reset a scaled-out api to the minimum.
    addModel(this, 'api-deployment', this.deployment(p, 'api', 'cairn-api', undefined, container, false));
    addModel(
      this,
      'api-service',
      new Service({
        metadata: { name: 'cairn-api', namespace: p.namespace, labels },
        spec: { type: 'ClusterIP', selector: selectorLabels('api'), ports: [{ name: 'http', port: API_PORT, targetPort: 'http', protocol: 'TCP' }] },
      }),
    );
    addModel(
      this,
      'api-disruption-budget',
      new PodDisruptionBudget({ metadata: { name: 'cairn-api', namespace: p.namespace, labels }, spec: { minAvailable: 1, selector: { matchLabels: selectorLabels('api') } } }),
    );
    addModel(
      this,
      'api-autoscaler',
      new HorizontalPodAutoscaler({
        metadata: { name: 'cairn-api', namespace: p.namespace, labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cairn-api' },
          minReplicas: p.api.replicas,
          maxReplicas: p.api.maxReplicas,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: p.api.targetCpuPercent } } }],
        },
      }),
    );
  }

  /**
   * `node api.js migrate` (`cairn migrate`) for this bundle. Named after the bundle hash so each
   * release runs it once; deployers (Pulumi, CDK) wait for it to complete before rolling the
   * Deployments. Migrations are expand-then-contract, so the previous release keeps serving.
   */
  private migrationJob(p: Normalised, envFrom: IEnvFromSource[]): void {
    const labels = objectLabels('migration', p.version);
    const container = secureContainer({
      name: 'migrate',
      image: pinnedImage(p.registry, 'cairn-api', p.version),
      command: ['node', `${APP_DIR}/api.js`, 'migrate'],
      resources: MIGRATION_RESOURCES,
      scratch: SCRATCH,
      extra: { envFrom },
    });
    addModel(
      this,
      'migration-job',
      new Job({
        metadata: { name: this.migrationJobName, namespace: p.namespace, labels, annotations: podAnnotations(p.version, p.bundleSha256) },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 600,
          template: {
            metadata: { labels, annotations: podAnnotations(p.version, p.bundleSha256) },
            spec: {
              restartPolicy: 'Never',
              serviceAccountName: p.apiServiceAccount ?? 'cairn-api',
              automountServiceAccountToken: false,
              securityContext: podSecurityContext,
              containers: [container],
              volumes: scratchVolumes(SCRATCH),
            },
          },
        },
      }),
    );
  }

  /** The executor and the RBAC it needs to manage runtime pods in the runtime namespace only. */
  private executor(p: Normalised, envFrom: IEnvFromSource[]): void {
    const labels = objectLabels('executor', p.version);
    addModel(this, 'executor-service-account', new ServiceAccount({ metadata: { name: 'cairn-executor', namespace: p.namespace, labels } }));
    addModel(
      this,
      'executor-role',
      new Role({
        metadata: { name: 'cairn-executor', namespace: p.runtimeNamespace, labels },
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'patch'] },
          { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        ],
      }),
    );
    addModel(
      this,
      'executor-role-binding',
      new RoleBinding({
        metadata: { name: 'cairn-executor', namespace: p.runtimeNamespace, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cairn-executor' },
        subjects: [{ kind: 'ServiceAccount', name: 'cairn-executor', namespace: p.namespace }],
      }),
    );
    const container = secureContainer({
      name: 'executor',
      image: pinnedImage(p.registry, 'cairn-executor', p.version),
      command: ['node', `${APP_DIR}/executor.js`],
      resources: p.executor.resources,
      scratch: SCRATCH,
      // The executor role: the internal API and health on the same port, function code in runtime
      // pods it creates in the runtime namespace (services/executor/sandbox/kubernetes/).
      extra: {
        envFrom,
        env: [
          { name: 'CAIRN_ROLE', value: 'executor' },
          { name: 'CAIRN_API_URL', value: `http://cairn-api.${p.namespace}.svc:${API_PORT}` },
          { name: 'CAIRN_SANDBOX', value: 'kubernetes' },
          { name: 'CAIRN_K8S_NAMESPACE', value: p.runtimeNamespace },
          { name: 'CAIRN_K8S_IMAGE_PYTHON3', value: pinnedImage(p.registry, 'cairn-runtime-python3', p.version) },
          { name: 'CAIRN_K8S_IMAGE_NODEJS', value: pinnedImage(p.registry, 'cairn-runtime-nodejs', p.version) },
        ],
        ports: [{ name: 'http', containerPort: API_PORT, protocol: 'TCP' }],
        ...healthProbes('/readyz'),
      },
    });
    addModel(this, 'executor-deployment', this.deployment(p, 'executor', 'cairn-executor', p.executor.replicas, container, true));
    addModel(
      this,
      'executor-service',
      new Service({
        metadata: { name: 'cairn-executor', namespace: p.namespace, labels },
        spec: { type: 'ClusterIP', selector: selectorLabels('executor'), ports: [{ name: 'http', port: API_PORT, targetPort: 'http', protocol: 'TCP' }] },
      }),
    );
  }

  /**
   * Pods of the platform namespace accept traffic only where declared: the api from anywhere on
   * its port (users, ingress, and the runtime pods' callbacks), nothing else. Egress stays open:
   * the database, Keystone and the object store live at addresses that differ per cloud.
   */
  private networkPolicies(p: Normalised): void {
    const labels = objectLabels('platform', p.version);
    addModel(
      this,
      'default-deny-ingress',
      new NetworkPolicy({ metadata: { name: 'default-deny-ingress', namespace: p.namespace, labels }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }),
    );
    addModel(
      this,
      'api-ingress',
      new NetworkPolicy({
        metadata: { name: 'cairn-api-ingress', namespace: p.namespace, labels },
        spec: { podSelector: { matchLabels: selectorLabels('api') }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: API_PORT, protocol: 'TCP' }] }] },
      }),
    );
    // The executor's internal API answers the api pods only (the kubelet's probes are not subject to policies).
    addModel(
      this,
      'executor-ingress',
      new NetworkPolicy({
        metadata: { name: 'cairn-executor-ingress', namespace: p.namespace, labels },
        spec: {
          podSelector: { matchLabels: selectorLabels('executor') },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: selectorLabels('api') } }], ports: [{ port: API_PORT, protocol: 'TCP' }] }],
        },
      }),
    );
  }

  private deployment(p: Normalised, component: Component, name: string, replicas: number | undefined, container: IContainer, kubeApi: boolean): Deployment {
    const labels = objectLabels(component, p.version);
    return new Deployment({
      metadata: { name, namespace: p.namespace, labels, annotations: podAnnotations(p.version, p.bundleSha256) },
      spec: {
        ...(replicas === undefined ? {} : { replicas }),
        selector: { matchLabels: selectorLabels(component) },
        // Never below the wanted count during a rollout; new pods must be ready first.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels, annotations: podAnnotations(p.version, p.bundleSha256) },
          spec: {
            serviceAccountName: component === 'api' ? (p.apiServiceAccount ?? name) : name,
            // Only the executor talks to the Kubernetes API.
            automountServiceAccountToken: kubeApi,
            securityContext: podSecurityContext,
            terminationGracePeriodSeconds: 30,
            containers: [container],
            volumes: scratchVolumes(SCRATCH),
          },
        },
      },
    });
  }
}

interface Normalised {
  version: string;
  bundleSha256: string;
  registry: string;
  namespace: string;
  runtimeNamespace: string;
  api: { replicas: number; maxReplicas: number; targetCpuPercent: number; resources: ContainerResources };
  executor: { replicas: number; resources: ContainerResources };
  env: Record<string, string>;
  secretEnv: Record<string, string>;
  apiServiceAccount: string | undefined;
}

/** Applies the documented defaults once and collects every problem into one error. */
function normalise(props: PlatformChartProps): Normalised {
  const n: Normalised = {
    version: props.version,
    bundleSha256: props.bundleSha256,
    registry: props.registry,
    namespace: props.namespace ?? 'cairn',
    runtimeNamespace: props.runtimeNamespace ?? 'cairn-runtimes',
    api: {
      replicas: props.api?.replicas ?? 2,
      maxReplicas: props.api?.maxReplicas ?? 6,
      targetCpuPercent: props.api?.targetCpuPercent ?? 70,
      resources: props.api?.resources ?? DEFAULT_API_RESOURCES,
    },
    executor: { replicas: props.executor?.replicas ?? 1, resources: props.executor?.resources ?? DEFAULT_EXECUTOR_RESOURCES },
    env: props.env ?? {},
    secretEnv: props.secretEnv ?? {},
    apiServiceAccount: props.apiServiceAccount,
  };
  const problems: string[] = [];
  checkVersion(problems, 'version', n.version);
  checkBundleSha256(problems, 'bundleSha256', n.bundleSha256);
  if (!/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(n.registry)) problems.push(`registry "${n.registry}": expected a registry path such as registry.example.com/cairn`);
  checkDnsLabel(problems, 'namespace', n.namespace);
  checkDnsLabel(problems, 'runtimeNamespace', n.runtimeNamespace);
  if (n.apiServiceAccount !== undefined) checkDnsLabel(problems, 'apiServiceAccount', n.apiServiceAccount);
  if (n.namespace === n.runtimeNamespace) problems.push(`runtimeNamespace "${n.runtimeNamespace}": must differ from namespace, runtime pods are fenced off from the platform`);
  if (!Number.isInteger(n.api.replicas) || n.api.replicas < 1) problems.push(`api.replicas ${n.api.replicas}: expected an integer ≥ 1`);
  if (!Number.isInteger(n.api.maxReplicas) || n.api.maxReplicas < n.api.replicas) problems.push(`api.maxReplicas ${n.api.maxReplicas}: expected an integer ≥ api.replicas (${n.api.replicas})`);
  if (!Number.isInteger(n.api.targetCpuPercent) || n.api.targetCpuPercent < 1 || n.api.targetCpuPercent > 100) problems.push(`api.targetCpuPercent ${n.api.targetCpuPercent}: expected 1–100`);
  if (!Number.isInteger(n.executor.replicas) || n.executor.replicas < 1) problems.push(`executor.replicas ${n.executor.replicas}: expected an integer ≥ 1`);
  for (const key of Object.keys(n.env)) {
    if (!key.startsWith('CAIRN_')) problems.push(`env.${key}: only CAIRN_* settings are read by the services`);
    if (SECRET_SETTINGS.includes(key)) problems.push(`env.${key}: a secret; pass it in secretEnv so it lands in the Secret, not the ConfigMap`);
    if (key === 'CAIRN_VERSION') problems.push(`env.${key}: the version is stamped in the bundle the image holds; a setting here could only contradict it`);
    if (key in FIXED_ENV) problems.push(`env.${key}: set by the chart (${FIXED_ENV[key]}) to match the pod spec`);
    if (key in PER_DEPLOYMENT_ENV) problems.push(`env.${key}: set by the chart per Deployment (${PER_DEPLOYMENT_ENV[key]})`);
  }
  for (const key of Object.keys(n.secretEnv)) if (!key.startsWith('CAIRN_')) problems.push(`secretEnv.${key}: only CAIRN_* settings are read by the services`);
  checkProblems('PlatformChart', problems);
  return n;
}

/** Settings the chart owns because the pod spec depends on them. */
const FIXED_ENV: Record<string, string> = {
  CAIRN_HOST: '0.0.0.0',
  CAIRN_PORT: String(API_PORT),
  CAIRN_DATA_DIR: DATA_DIR,
  CAIRN_RUNTIME_DIR: `${APP_DIR}/functions-runtime`,
};

/** Settings the chart sets per Deployment (container `env`, which wins over the ConfigMap). */
const PER_DEPLOYMENT_ENV: Record<string, string> = {
  CAIRN_ROLE: 'api or executor',
  CAIRN_EXECUTOR_URL: 'the cairn-executor Service',
  CAIRN_API_URL: 'the cairn-api Service',
  CAIRN_SANDBOX: 'kubernetes',
  CAIRN_K8S_NAMESPACE: 'runtimeNamespace',
};

function platformEnv(p: Normalised): Record<string, string> {
  return { ...p.env, ...FIXED_ENV };
}

/** Liveness on /healthz; readiness on `readyPath` (the executor's /readyz fails while it starts or stops). */
function healthProbes(readyPath = '/healthz'): Pick<IContainer, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> {
  const get = { httpGet: { path: '/healthz', port: 'http' } };
  const probe = (periodSeconds: number, failureThreshold: number): IProbe => ({ ...get, periodSeconds, failureThreshold, timeoutSeconds: 2 });
  return {
    // The first start creates the embedded database when there is no PostgreSQL: give it a minute.
    startupProbe: probe(2, 30),
    readinessProbe: { ...probe(5, 2), httpGet: { path: readyPath, port: 'http' } },
    livenessProbe: probe(10, 3),
  };
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]]));
}
