// A compat workload: the statements the services of one schema version issue, frozen when that
// version is released. The compat test runs the workload of version N-1 against schema N (the
// previous release during a rolling upgrade or after a rollback), so a migration that breaks
// them fails. Once a version has shipped its workload is never edited; the next version gets
// its own file (which may build on this one while nothing it uses has been contracted).
import type { Queryable } from '../../../../../services/core/db/database';

export interface CompatWorkload {
  /** The schema version (last migration) the release issuing these statements was built with. */
  schemaVersion: number;
  /** Runs the statements with ids made unique by `tag`; throws when one fails or reads back wrong. */
  run(db: Queryable, tag: string): Promise<void>;
}

/**
 * Throws with both values when a read-back differs from what was written. Compared in a canonical
 * form because the engines differ in representation only: `pg` returns bigint as a string and
 * PGlite as a number, and jsonb objects come back with their keys reordered.
 */
export function expectSame(what: string, actual: unknown, expected: unknown): void {
  const a = JSON.stringify(canonical(actual));
  const e = JSON.stringify(canonical(expected));
  if (a !== e) throw new Error(`${what}: read back ${a}, expected ${e}`);
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, canonical(o[k])]));
  }
  return v;
}
