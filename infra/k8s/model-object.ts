// Charts are written with kubernetes-models classes (typed from the Kubernetes OpenAPI schema,
// and able to validate themselves) and added to cdk8s charts as plain ApiObjects. cdk8s gives the
// App/Chart tree, synthesis to YAML and Testing.synth; cdk8s-plus is not used because its
// abstractions add objects and defaults of their own (generated names, service accounts,
// network policies) where this bundle must say exactly what it deploys.
import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';

/** Any kubernetes-models object (they all carry these and validate against their schema). */
export interface KubeModel {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  validate(): void;
  toJSON(): unknown;
}

/**
 * Adds a kubernetes-models object to a chart. It is validated against its schema first, so a
 * chart that would not `kubectl apply` fails when it is built, naming the object.
 */
export function addModel(scope: Construct, id: string, model: KubeModel): ApiObject {
  try {
    model.validate();
  } catch (err) {
    throw new Error(`${model.kind} ${model.metadata?.name ?? id} does not validate: ${(err as Error).message}`);
  }
  // cdk8s renders plain objects only: drop the model's class and undefined fields.
  const { apiVersion, kind, ...rest } = JSON.parse(JSON.stringify(model.toJSON())) as Record<string, unknown> & { apiVersion: string; kind: string };
  return new ApiObject(scope, id, { apiVersion, kind, ...rest });
}
