// Container quotas (Swift's container_quotas): `X-Container-Meta-Quota-Bytes` and
// `X-Container-Meta-Quota-Count` cap what a container holds. Quota values that are not
// non-negative integers are 400 on container PUT/POST. Writers (object PUT, copy, storlet
// outputs) ask `objectLimit` before writing: a container already at its count, or with no bytes
// left, is 413 `Upload exceeds quota.` at once; otherwise the bytes left become the write's
// maxBytes, so the backend refuses a longer body (declared or chunked) before the object exists.
// As in Swift, the check reads the container's usage when the write starts: concurrent uploads
// may together overshoot, and an overwrite is counted as a new object.
import { CairnError, isCairnError } from '../../core/errors';
import { SWIFT_CONSTRAINTS } from './constraints';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';

/**
 * How long a container seen without quotas is trusted to have none: object writes then skip the
 * lookup. A quota set through this process applies at once (its container POST forgets the
 * entry); one set through another api replica applies within this time, as Swift's proxies act on
 * container info cached for a while.
 */
const NO_QUOTA_TTL_MS = 10_000;

/** A stored or sent quota value: Swift's `isdigit()`. */
const QUOTA = /^\d+$/;

/**
 * The most bytes an object written to `dest` on this request's behalf may hold: the size limit,
 * lowered by the container's byte quota. Throws `storage.quota_exceeded` when the container
 * cannot take another object at all.
 */
export async function objectLimit(req: StorageRequest, dest: { account: string; container: string }): Promise<number> {
  const left = (await req.quotaLeft?.(dest)) ?? Infinity;
  return Math.min(SWIFT_CONSTRAINTS.max_file_size, left);
}

export function containerQuotas(deps: Pick<StorageDeps, 'backend'>): Middleware {
  /** `account/container` → until when it is known to have no quota. */
  const noQuota = new Map<string, number>();
  return {
    name: 'container-quotas',
    // Refusals come after auth, so a caller who may not write learns nothing about the container.
    after: ['auth'],
    info: { container_quotas: {} },
    async handle(req, next) {
      const t = req.target;
      if (!t || t.kind === 'account') return next();
      if (t.kind === 'container') {
        noQuota.delete(`${t.account}/${t.container}`);
        if (req.ctx.method === 'PUT' || req.ctx.method === 'POST') {
          // An empty value removes the quota, as it removes any metadata.
          const bytes = req.meta?.set['quota-bytes'];
          if (bytes && !QUOTA.test(bytes)) throw new CairnError('storage.bad_quota', { kind: 'bytes' });
          const count = req.meta?.set['quota-count'];
          if (count && !QUOTA.test(count)) throw new CairnError('storage.bad_quota', { kind: 'count' });
        }
        return next();
      }
      // Whether a write of this request was limited by a byte quota: its "too large" is then the quota's.
      let limited = false;
      req.quotaLeft = async ({ account, container }) => {
        const key = `${account}/${container}`;
        if ((noQuota.get(key) ?? 0) > Date.now()) return undefined;
        const info = await deps.backend.headContainer(account, container);
        if (!info) return undefined; // the writer's own 404 follows
        if (info.meta['quota-count'] === undefined && info.meta['quota-bytes'] === undefined) {
          noQuota.set(key, Date.now() + NO_QUOTA_TTL_MS);
          if (noQuota.size > 10_000) noQuota.delete(noQuota.keys().next().value as string);
          return undefined;
        }
        const count = info.meta['quota-count'];
        if (count !== undefined && QUOTA.test(count) && info.objectCount + 1 > Number(count)) throw new CairnError('storage.quota_exceeded');
        const bytes = info.meta['quota-bytes'];
        if (bytes === undefined || !QUOTA.test(bytes)) return undefined;
        const left = Number(bytes) - info.bytesUsed;
        if (left < 0) throw new CairnError('storage.quota_exceeded');
        if (left < SWIFT_CONSTRAINTS.max_file_size) limited = true;
        return left;
      };
      try {
        await next();
      } catch (err) {
        if (limited && isCairnError(err) && err.code === 'storage.too_large') throw new CairnError('storage.quota_exceeded', {}, { cause: err });
        throw err;
      }
    },
  };
}
