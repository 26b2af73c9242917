// A tenant environment on the cluster of a cloud stack: the tenant's guard rails (namespace with
// Pod Security `restricted`, ResourceQuota, LimitRange, default-deny NetworkPolicy), deployed
// with a provider built from the cloud stack's kubeconfig, read through a StackReference so a
// tenant stack never holds cluster credentials of its own. On an OpenStack cloud stack the tenant
// also gets its Keystone project, user, application credential, quotas and storage account
// (TenantIdentity), authenticating against the cloud stack's `authUrl` in its `region`.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import type { ManifestObject } from '../k8s/schemas';
import { TenantChart, type TenantQuota } from '../k8s/tenant-chart';
import { createKubeObject } from './kube-object';
import { TenantIdentity, type TenantIdentityArgs } from './tenant-identity';

export interface CairnTenantArgs {
  /** Tenant name, a DNS label: the namespace is `cairn-tenant-<tenant>`. */
  tenant: string;
  /** Platform version the guard rails are labelled with. */
  version: string;
  /** The cloud (or existing-cluster) stack, `<org>/<project>/<stack>`, whose `kubeconfig` output is used. */
  cloudStack: string;
  /** @default TenantChart's defaults */
  quota?: TenantQuota;
  /** The tenant's Keystone resources; only on a cloud stack (it exports `authUrl` and `region`). @default none */
  identity?: Omit<TenantIdentityArgs, 'tenant' | 'authUrl' | 'region'>;
}

export class CairnTenant extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  /** The Kubernetes resources, by `Kind/name`. */
  readonly resources: ReadonlyMap<string, pulumi.CustomResource>;
  /** The Keystone side, when `identity` is given. */
  readonly identity: TenantIdentity | undefined;

  constructor(name: string, args: CairnTenantArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cairn:kubernetes:Tenant', name, {}, opts);
    // Validates the arguments (tenant name, quota) before any resource is created; the App is
    // never synthesized to disk, it only holds the chart.
    const chart = new TenantChart(new App(), `tenant-${args.tenant}`, { tenant: args.tenant, version: args.version, quota: args.quota });

    const cloud = new pulumi.StackReference(`${name}-cloud`, { name: args.cloudStack }, { parent: this });
    this.provider = new k8s.Provider(
      `${name}-provider`,
      { kubeconfig: pulumi.secret(cloud.requireOutput('kubeconfig')) as pulumi.Output<string>, enableServerSideApply: true },
      { parent: this },
    );

    const created = new Map<string, pulumi.CustomResource>();
    const objects = chart.toJson() as ManifestObject[];
    const ns = objects.find((o) => o.kind === 'Namespace') as ManifestObject;
    const namespace = createKubeObject(name, ns, { parent: this, provider: this.provider });
    created.set(`Namespace/${ns.metadata.name}`, namespace);
    for (const obj of objects.filter((o) => o !== ns)) {
      created.set(`${obj.kind}/${obj.metadata.name}`, createKubeObject(name, obj, { parent: this, provider: this.provider, dependsOn: [namespace] }));
    }

    this.identity = args.identity
      ? new TenantIdentity(
          `${name}-identity`,
          { ...args.identity, tenant: args.tenant, authUrl: cloud.requireOutput('authUrl') as pulumi.Output<string>, region: cloud.requireOutput('region') as pulumi.Output<string> },
          { parent: this },
        )
      : undefined;

    this.resources = created;
    this.namespace = pulumi.output(chart.tenantNamespace);
    this.registerOutputs({ namespace: this.namespace, ...(this.identity ? { openrc: this.identity.openrc } : {}) });
  }
}
