// The Swift API is a pipeline of single-purpose middlewares, as in Swift's proxy: each one handles
// what is its business and passes the rest on with next(). The order is declared by each middleware
// (`after`: who must already have run) and checked once, when the pipeline is built, so a
// misplaced middleware (a storlet before auth, say) fails at start-up rather than on a request.
import type { RequestContext } from '../http/context';
import type { Config } from '../../core/config';
import type { AuthContext } from '../../core/identity/types';
import type { Metadata, ObjectBackend, ObjectReader } from '../../core/objectstore/backend';
import type { AccountAccess } from './account-acl';

/** What a storage request addresses, decoded and validated by the constraints middleware. */
export type Target =
  | { kind: 'account'; account: string }
  | { kind: 'container'; account: string; container: string }
  | { kind: 'object'; account: string; container: string; object: string };

/** Metadata headers of a request, validated: names lower-case without the prefix. */
export interface MetadataHeaders {
  set: Metadata;
  /** Names sent with an empty value or as `X-Remove-…-Meta-<name>`. */
  remove: string[];
}

/** The state one storage request carries through the pipeline. */
export interface StorageRequest {
  ctx: RequestContext;
  /** Set by `constraints` for `/v1/…` paths. */
  target?: Target;
  /** Set by `constraints`: the `X-<kind>-Meta-*` headers for the target's kind. */
  meta?: MetadataHeaders;
  /**
   * Set by `auth` (or by a middleware that authorizes differently, e.g. TempURL). `container`
   * limits the grant to one container of the account (a TempURL signed with a container's key).
   */
  authorized?: { by: string; container?: string };
  /**
   * Set by `auth`: the storage account the caller owns (its project's, when it holds an operator
   * role), whatever account the request addresses. A copy or a large object may touch it too.
   */
  ownedAccount?: string;
  /**
   * System metadata (sysmeta.ts names) that earlier middlewares want written with this request's
   * object or container; `remove` drops names on containers.
   */
  sysmeta?: MetadataHeaders;
  /**
   * Applied in order to every object opened for reading on this request's behalf (GET/HEAD and
   * the source of a copy): expiry hides an expired object, large-object middlewares turn a
   * manifest into its assembled content. A transform that replaces the reader owns closing it.
   */
  readers?: ReaderTransform[];
  /**
   * Registered by a middleware before `auth` that can grant access to someone other than the
   * account's owner (container ACLs): auth asks it before refusing. `who` is undefined for an
   * anonymous request.
   */
  aclGrants?: (who: AuthContext | undefined) => Promise<boolean>;
  /** Registered by `account-acl`: the level the account's ACL gives a caller (auth asks it). */
  accountAccess?: (who: AuthContext) => Promise<AccountAccess | undefined>;
  /** Set by `auth` when an account ACL let the request in: the level it granted. */
  accountLevel?: AccountAccess;
  /**
   * Registered by `container-quotas`: the bytes a container's quota leaves for one more object
   * (undefined: no byte quota), or `storage.quota_exceeded` when it takes none. Writers ask it
   * through `objectLimit` (container-quotas.ts).
   */
  quotaLeft?: (dest: { account: string; container: string }) => Promise<number | undefined>;
}

/** See `StorageRequest.readers`. */
export type ReaderTransform = (reader: ObjectReader, source: { account: string; container: string; object: string }) => Promise<ObjectReader>;

export type Next = () => Promise<void>;

export interface Middleware {
  /** Unique in a pipeline; other middlewares name it in `after`. */
  name: string;
  /** Middlewares that must come earlier in the pipeline. */
  after?: readonly string[];
  /** Keys this middleware adds to `/info` (Swift's capabilities): only what it implements. */
  info?: Record<string, unknown>;
  /** Called once by buildPipeline with the whole, checked pipeline (e.g. to collect `info`). */
  init?(pipeline: readonly Middleware[]): void;
  handle(req: StorageRequest, next: Next): Promise<void>;
}

/** What every middleware factory may use. */
export interface StorageDeps {
  config: Config;
  backend: ObjectBackend;
}

export class PipelineOrderError extends Error {
  constructor(problems: string[]) {
    super(`Invalid storage pipeline:\n  - ${problems.join('\n  - ')}`);
    this.name = 'PipelineOrderError';
  }
}

/**
 * Chains the middlewares in the given order after checking it; `end` runs when every middleware
 * passed the request on (nothing handled it).
 */
export function buildPipeline(middlewares: readonly Middleware[], end: (req: StorageRequest) => Promise<void>): (req: StorageRequest) => Promise<void> {
  const problems: string[] = [];
  const seen = new Set<string>();
  const all = new Set(middlewares.map((m) => m.name));
  for (const m of middlewares) {
    if (seen.has(m.name)) problems.push(`"${m.name}" appears twice`);
    for (const dep of m.after ?? []) {
      if (!all.has(dep)) problems.push(`"${m.name}" needs "${dep}" earlier in the pipeline, and it is missing`);
      else if (!seen.has(dep)) problems.push(`"${m.name}" must come after "${dep}"`);
    }
    seen.add(m.name);
  }
  if (problems.length) throw new PipelineOrderError(problems);
  for (const m of middlewares) m.init?.(middlewares);

  return chain(middlewares, end);
}

/** Runs `middlewares` in order without checking them (a pipeline buildPipeline already checked). */
export function chain(middlewares: readonly Middleware[], end: (req: StorageRequest) => Promise<void>): (req: StorageRequest) => Promise<void> {
  const run = (i: number, req: StorageRequest): Promise<void> =>
    i === middlewares.length ? end(req) : middlewares[i].handle(req, () => run(i + 1, req));
  return (req) => run(0, req);
}

/** The target of a request that passed `constraints`; a programming error otherwise. */
export function targetOf(req: StorageRequest): Target {
  if (!req.target) throw new Error('storage target read before the constraints middleware ran');
  return req.target;
}
