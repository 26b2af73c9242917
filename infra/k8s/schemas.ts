// The Kubernetes schemas the synthesized manifests are checked against: every kind the charts
// emit, mapped to its kubernetes-models class. A kind missing here fails validation, so a new
// kind in a chart cannot go out unchecked.
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { KubeModel } from './model-object';

type ModelClass = new (data: never) => KubeModel;

const MODELS: Record<string, ModelClass> = Object.fromEntries(
  [Namespace, ConfigMap, Secret, Service, ServiceAccount, LimitRange, ResourceQuota, Deployment, Job, HorizontalPodAutoscaler, NetworkPolicy, PodDisruptionBudget, Role, RoleBinding].map(
    (cls) => {
      const sample = new (cls as unknown as new () => KubeModel)();
      return [`${sample.apiVersion}/${sample.kind}`, cls as unknown as ModelClass];
    },
  ),
);

/** A synthesized manifest object (what `kubectl apply` reads). */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Validates one synthesized object against the Kubernetes schema of its kind; throws naming it. */
export function validateManifest(obj: ManifestObject): void {
  const cls = MODELS[`${obj.apiVersion}/${obj.kind}`];
  const name = `${obj.apiVersion} ${obj.kind} ${obj.metadata?.name ?? '(unnamed)'}`;
  if (!cls) throw new Error(`${name}: no schema known for this kind (add its kubernetes-models class to infra/k8s/schemas.ts)`);
  try {
    new cls(obj as never).validate();
  } catch (err) {
    throw new Error(`${name} does not validate: ${(err as Error).message}`);
  }
}

/** The kinds validateManifest knows, as `apiVersion/kind`. */
export const KNOWN_KINDS = Object.keys(MODELS).sort();
