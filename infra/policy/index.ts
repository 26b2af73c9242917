// Every rule a Cairn deployment must meet (DESIGN.md §6).
import { CONTAINER_RULES } from './container-rules';
import { NAMESPACE_RULES } from './namespace-rules';
import type { Rule } from './rule';
import { SECRET_RULES } from './secret-rules';

export { evaluate, type Rule, type Violation } from './rule';

export const ALL_RULES: readonly Rule[] = [...CONTAINER_RULES, ...NAMESPACE_RULES, ...SECRET_RULES];
