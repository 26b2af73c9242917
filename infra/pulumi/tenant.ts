// A tenant environment on the cluster of a cloud stack: the tenant's guard rails (namespace with
// Pod Security `restricted`, ResourceQuota, LimitRange, default-deny NetworkPolicy), deployed
// with a provider built from the cloud stack's kubeconfig, read through a StackReference so a
// tenant stack never holds cluster credentials of its own.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import type { ManifestObject } from '../k8s/schemas';
import { TenantChart, type TenantQuota } from '../k8s/tenant-chart';
import { createKubeObject } from './kube-object';

export interface CairnTenantArgs {
  /** Tenant name, a DNS label: the namespace is `cairn-tenant-<tenant>`. */
  tenant: string;
  /** Platform version the guard rails are labelled with. */
  version: string;
  /** The cloud (or existing-cluster) stack, `<org>/<project>/<stack>`, whose `kubeconfig` output is used. */
  cloudStack: string;
  /** @default TenantChart's defaults */
  quota?: TenantQuota;
}

export class CairnTenant extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  /** The Kubernetes resources, by `Kind/name`. */
  readonly resources: ReadonlyMap<string, pulumi.CustomResource>;

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

    this.resources = created;
    this.namespace = pulumi.output(chart.tenantNamespace);
    this.registerOutputs({ namespace: this.namespace });
  }
}
