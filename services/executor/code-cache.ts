// Function code unpacked once per codeKey under `<dataDir>/code/`, then hard-linked into each
// sandbox that serves it. Links cost one inode reference per file (no copy) and the sandbox sees
// them through a read-only bind mount, so one tenant's sandbox cannot alter the cached tree.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extractPackage, type PackageLimits } from '../core/packages';
import type { FunctionSpec } from '../core/execution';

export type FetchCode = (fn: FunctionSpec) => Promise<Buffer>;

export class CodeCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    readonly dir: string,
    private readonly limits: PackageLimits,
    private readonly fetchCode: FetchCode,
  ) {}

  /** The directory holding fn's unpacked code; fetched and extracted on first use. */
  dirFor(fn: FunctionSpec): Promise<string> {
    // codeKey is opaque (it may hold '/' or be long); its hash names the directory.
    const target = path.join(this.dir, createHash('sha256').update(fn.codeKey).digest('hex').slice(0, 40));
    if (fs.existsSync(target)) return Promise.resolve(target);
    let p = this.inflight.get(target);
    if (!p) {
      p = this.extract(fn, target).finally(() => this.inflight.delete(target));
      this.inflight.set(target, p);
    }
    return p;
  }

  private async extract(fn: FunctionSpec, target: string): Promise<string> {
    const zip = await this.fetchCode(fn);
    // Extract beside the target and rename: a crash mid-way never leaves a half tree that
    // later calls would take for the code.
    const scratch = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await extractPackage(zip, scratch, this.limits);
      await fs.promises.rename(scratch, target);
    } catch (err) {
      await fs.promises.rm(scratch, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') return target;
      throw err;
    }
    return target;
  }

  /** Removes trees left by interrupted extractions. */
  sweep(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    for (const name of fs.readdirSync(this.dir)) {
      if (name.includes('.tmp-')) fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * Hard-links every file of `src` into `dst` (which exists, empty). Synchronous on purpose: on the
 * cold path a handful of link(2) calls are cheaper than as many thread-pool round trips.
 */
export function linkTree(src: string, dst: string): void {
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = path.join(dst, entry.name);
    if (entry.isDirectory()) {
      fs.mkdirSync(to, { mode: 0o755 });
      linkTree(from, to);
    } else if (entry.isFile()) {
      fs.linkSync(from, to);
    }
  }
}
