// The policy rules as Pulumi stack policies: every Kubernetes resource of a stack (its state
// as the provider reports it) is checked with the same pure functions the tests run.
import type { PolicyResource, StackValidationPolicy } from '@pulumi/policy';
import type { ManifestObject } from '../k8s/schemas';
import { ALL_RULES, type Rule } from './index';

/** The Kubernetes objects among a stack's resources (typed resources carry apiVersion/kind/metadata). */
export function kubernetesObjects(resources: readonly PolicyResource[]): ManifestObject[] {
  return resources
    .filter((r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('kubernetes:index') && r.props?.kind && r.props?.metadata)
    .map((r) => r.props as ManifestObject);
}

/** One mandatory stack policy per rule. */
export function cairnStackPolicies(rules: readonly Rule[] = ALL_RULES): StackValidationPolicy[] {
  return rules.map((rule) => ({
    name: rule.id,
    description: rule.description,
    enforcementLevel: 'mandatory',
    validateStack: (args, reportViolation) => {
      for (const v of rule.check(kubernetesObjects(args.resources))) reportViolation(`${v.object}: ${v.message}`);
    },
  }));
}
