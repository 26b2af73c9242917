// Per-function resource fields arrive as strings (form posts); Qinling's exact messages.
import type { LimitRange } from '../../core/config';
import { CairnError } from '../../core/errors';

const NAMES = {
  timeout: { label: 'timeout', unit: 'seconds' },
  cpu: { label: 'cpu', unit: 'millicpu' },
  memory_size: { label: 'memory', unit: 'bytes' },
} as const;

/** Parses and range-checks one limit field; undefined when the field is absent. */
export function parseLimit(field: keyof typeof NAMES, raw: string | undefined, range: LimitRange): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const { label, unit } = NAMES[field];
  if (!/^\s*-?\d+\s*$/.test(raw)) throw new CairnError('function.not_integer', { name: label });
  const n = Number(raw);
  if (n < range.min || n > range.max) {
    throw new CairnError('function.limit_out_of_range', { name: label, min: range.min, max: range.max, unit });
  }
  return n;
}
