// One synthesized manifest object (infra/k8s) as one typed Pulumi Kubernetes resource, so each
// object has its own state, diff and dependencies (the migration Job before the Deployments).
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import type { ManifestObject } from '../k8s/schemas';

type KubeResourceClass = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** Every kind the charts emit (infra/k8s/schemas.ts lists the same), by `apiVersion/kind`. */
const KINDS: Record<string, KubeResourceClass> = {
  'v1/Namespace': k8s.core.v1.Namespace,
  'v1/ConfigMap': k8s.core.v1.ConfigMap,
  'v1/Secret': k8s.core.v1.Secret,
  'v1/Service': k8s.core.v1.Service,
  'v1/ServiceAccount': k8s.core.v1.ServiceAccount,
  'v1/LimitRange': k8s.core.v1.LimitRange,
  'v1/ResourceQuota': k8s.core.v1.ResourceQuota,
  'apps/v1/Deployment': k8s.apps.v1.Deployment,
  'batch/v1/Job': k8s.batch.v1.Job,
  'autoscaling/v2/HorizontalPodAutoscaler': k8s.autoscaling.v2.HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': k8s.networking.v1.NetworkPolicy,
  'policy/v1/PodDisruptionBudget': k8s.policy.v1.PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/Role': k8s.rbac.v1.Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': k8s.rbac.v1.RoleBinding,
};

/** The Pulumi resource name of a manifest object: unique per kind, namespace and name. */
export function kubeResourceName(prefix: string, obj: ManifestObject): string {
  return [prefix, obj.kind.toLowerCase(), obj.metadata.namespace, obj.metadata.name].filter(Boolean).join('-');
}

/** Creates the resource of one manifest object; `override` replaces top-level fields (secret data). */
export function createKubeObject(prefix: string, obj: ManifestObject, opts: pulumi.CustomResourceOptions, override: Record<string, unknown> = {}): pulumi.CustomResource {
  const cls = KINDS[`${obj.apiVersion}/${obj.kind}`];
  if (!cls) throw new Error(`${obj.apiVersion} ${obj.kind} ${obj.metadata.name}: no Pulumi resource for this kind (add it to infra/pulumi/kube-object.ts)`);
  return new cls(kubeResourceName(prefix, obj), { ...obj, ...override }, opts);
}
