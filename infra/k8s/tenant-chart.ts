// The tenant guard-rails chart: one namespace per tenant with a quota, default limits, a
// default-deny network policy and Pod Security `restricted`, so nothing a tenant runs there can
// take more than its share, talk to anything not explicitly allowed, or run privileged.
import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { objectLabels, TENANT_LABEL } from './labels';
import { addModel } from './model-object';
import { podSecurityLabels } from './pod-security';
import { Cpu, memoryQuantity, resourceRequirements, Size, type ContainerResources } from './units';
import { checkDnsLabel, checkProblems, checkVersion } from './validation';

export interface TenantQuota {
  /** Most pods at once. @default 20 */
  pods?: number;
  /** Total CPU (requests and limits). @default 4 cores */
  cpu?: Cpu;
  /** Total memory (requests and limits). @default 8 GiB */
  memory?: Size;
  /** Persistent volume claims. @default 0: functions keep state in the object store */
  persistentVolumeClaims?: number;
}

export interface TenantChartProps {
  /** Tenant name (a DNS label): the namespace is `cairn-tenant-<tenant>`. */
  tenant: string;
  version: string;
  /** @default see TenantQuota */
  quota?: TenantQuota;
  /** Requests and limits a container gets when it states none. @default 100m–500m CPU, 64–256 MiB */
  containerDefaults?: ContainerResources;
}

const DEFAULT_CONTAINER: ContainerResources = {
  cpu: { request: Cpu.millis(100), limit: Cpu.millis(500) },
  memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
};

/** The namespace of a tenant. */
export function tenantNamespace(tenant: string): string {
  return `cairn-tenant-${tenant}`;
}

export class TenantChart extends Chart {
  readonly tenantNamespace: string;

  constructor(scope: Construct, id: string, props: TenantChartProps) {
    super(scope, id);
    const quota = {
      pods: props.quota?.pods ?? 20,
      cpu: props.quota?.cpu ?? Cpu.cores(4),
      memory: props.quota?.memory ?? Size.gibibytes(8),
      persistentVolumeClaims: props.quota?.persistentVolumeClaims ?? 0,
    };
    const containerDefaults = props.containerDefaults ?? DEFAULT_CONTAINER;
    const problems: string[] = [];
    checkDnsLabel(problems, 'tenant', props.tenant);
    checkDnsLabel(problems, 'namespace (cairn-tenant-<tenant>)', tenantNamespace(props.tenant));
    checkVersion(problems, 'version', props.version);
    if (!Number.isInteger(quota.pods) || quota.pods < 1) problems.push(`quota.pods ${quota.pods}: expected an integer ≥ 1`);
    if (!Number.isInteger(quota.persistentVolumeClaims) || quota.persistentVolumeClaims < 0) problems.push(`quota.persistentVolumeClaims ${quota.persistentVolumeClaims}: expected an integer ≥ 0`);
    checkProblems('TenantChart', problems);

    const namespace = tenantNamespace(props.tenant);
    this.tenantNamespace = namespace;
    const labels = objectLabels('tenant', props.version, { [TENANT_LABEL]: props.tenant });

    addModel(this, 'namespace', new Namespace({ metadata: { name: namespace, labels: { ...labels, ...podSecurityLabels() } } }));
    addModel(
      this,
      'quota',
      new ResourceQuota({
        metadata: { name: 'tenant-quota', namespace, labels },
        spec: {
          hard: {
            pods: String(quota.pods),
            'requests.cpu': quota.cpu.toQuantity(),
            'limits.cpu': quota.cpu.toQuantity(),
            'requests.memory': memoryQuantity(quota.memory),
            'limits.memory': memoryQuantity(quota.memory),
            persistentvolumeclaims: String(quota.persistentVolumeClaims),
            // Nothing in a tenant namespace is exposed outside the cluster by itself.
            'services.loadbalancers': '0',
            'services.nodeports': '0',
          },
        },
      }),
    );
    const defaults = resourceRequirements(containerDefaults);
    addModel(
      this,
      'limits',
      new LimitRange({
        metadata: { name: 'tenant-limits', namespace, labels },
        spec: { limits: [{ type: 'Container', default: defaults.limits, defaultRequest: defaults.requests }] },
      }),
    );
    addModel(
      this,
      'default-deny',
      new NetworkPolicy({ metadata: { name: 'default-deny', namespace, labels }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }),
    );
  }
}
