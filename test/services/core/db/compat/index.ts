// The compat workload of every released schema version, by version.
import type { CompatWorkload } from './workload';
import { v1 } from './v1';
import { v2 } from './v2';
import { v3 } from './v3';
import { v4 } from './v4';
import { v5 } from './v5';

export const COMPAT_WORKLOADS: readonly CompatWorkload[] = [v1, v2, v3, v4, v5];
