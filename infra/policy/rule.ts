// A policy rule is a pure function from the whole set of objects of a deployment to the
// violations it finds: no I/O, no cluster, so the same rules run in tests over every scenario
// (cdk8s manifests today; Pulumi and CDK resources when they land) and in a policy pack.
import type { ManifestObject } from '../k8s/schemas';

export interface Violation {
  rule: string;
  /** `Kind namespace/name`, plus the container where it applies. */
  object: string;
  message: string;
}

export interface Rule {
  /** Stable id, kebab-case. */
  id: string;
  /** What every deployment must meet, as a sentence. */
  description: string;
  check(objects: readonly ManifestObject[]): Violation[];
}

/** Runs every rule over the objects; an empty list means the deployment complies. */
export function evaluate(rules: readonly Rule[], objects: readonly ManifestObject[]): Violation[] {
  return rules.flatMap((r) => r.check(objects));
}

/** `Kind namespace/name` of an object, as violations name it. */
export function describeObject(obj: ManifestObject, container?: string): string {
  const where = obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
  return `${obj.kind} ${where}${container ? ` container ${container}` : ''}`;
}
