// An existing Kubernetes cluster, reached through its kubeconfig: the target when the operator
// already runs a cluster (rather than Cairn creating one on OpenStack or AWS).
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';

export interface ExistingClusterArgs {
  /** The kubeconfig (YAML or JSON); kept secret in the state whatever the caller passes. */
  kubeconfig: pulumi.Input<string>;
  /** Context of the kubeconfig to use. @default its current context */
  context?: pulumi.Input<string>;
}

export class ExistingCluster extends pulumi.ComponentResource {
  /** The provider every Kubernetes resource of the platform and the tenants is created with. */
  readonly provider: k8s.Provider;
  /** The kubeconfig, as a secret output (tenant stacks read it through a StackReference). */
  readonly kubeconfig: pulumi.Output<string>;

  constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cairn:kubernetes:ExistingCluster', name, {}, opts);
    this.kubeconfig = pulumi.secret(args.kubeconfig);
    this.provider = new k8s.Provider(
      `${name}-provider`,
      {
        kubeconfig: this.kubeconfig,
        context: args.context,
        // Server-side apply: field ownership stays correct when operators also use kubectl.
        enableServerSideApply: true,
      },
      { parent: this },
    );
    this.registerOutputs({ kubeconfig: this.kubeconfig });
  }
}
