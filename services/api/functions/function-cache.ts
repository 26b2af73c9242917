// What an invocation needs to know about its function (row, runtime, executor spec), kept in
// memory so a warm call does not pay a database round trip for it. This process drops an entry
// whenever it changes the function; other api replicas see a change within the TTL.
import type { FunctionSpec } from '../../core/execution';
import type { FunctionRow } from './functions';
import type { RuntimeRow } from './runtimes';

export interface CachedFunction {
  fn: FunctionRow;
  runtime?: RuntimeRow;
  spec: FunctionSpec;
}

export class FunctionCache {
  private readonly entries = new Map<string, CachedFunction & { until: number }>();

  /** @param ttlMs how stale an entry may get when another replica changed the function. @default 2000 */
  constructor(private readonly ttlMs = 2000, private readonly maxEntries = 10_000) {}

  get(id: string): CachedFunction | undefined {
    const hit = this.entries.get(id);
    if (!hit) return undefined;
    if (hit.until < Date.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return hit;
  }

  set(id: string, entry: CachedFunction): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(id, { ...entry, until: Date.now() + this.ttlMs });
  }

  invalidate(id?: string): void {
    if (id === undefined) this.entries.clear();
    else this.entries.delete(id);
  }
}
