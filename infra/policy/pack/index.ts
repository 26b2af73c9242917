// The Cairn policy pack for operators: `pulumi preview --policy-pack infra/policy/pack` (or
// `pulumi up …`) refuses a stack whose Kubernetes resources break a rule of infra/policy.
// Resolves its packages from the repository's node_modules (`npm ci` at the top level).
import { PolicyPack } from '@pulumi/policy';
import { cairnStackPolicies } from '../pulumi-policies';

new PolicyPack('cairn', { policies: cairnStackPolicies() });
