// Object expiry: `X-Delete-At: <unix seconds>` or `X-Delete-After: <seconds>` on PUT, POST or a
// copy store the deadline as system metadata; from then on the object answers 404 to reads, to
// POST and as a copy source, as in a Swift without the expirer daemon (the name lingers in
// listings; the row and file go when the object is next overwritten or deleted).
import { CairnError } from '../../core/errors';
import type { IncomingHttpHeaders } from 'node:http';
import type { ObjectBackend, ObjectInfo } from '../../core/objectstore/backend';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { SYS } from './sysmeta';

/** The latest deadline Swift stores: larger values are clamped to ten digits. */
const MAX_DELETE_AT = 9_999_999_999;

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/** Whether an object's deadline has passed at `nowSeconds`. */
export function isExpired(info: ObjectInfo, nowSeconds = Date.now() / 1000): boolean {
  const at = info.meta[SYS.deleteAt];
  return at !== undefined && Number(at) <= nowSeconds;
}

/** The deadline a request asks for, validated; undefined when it sends neither header. */
export function requestedDeleteAt(headers: IncomingHttpHeaders, nowSeconds = Date.now() / 1000): number | undefined {
  const after = headerString(headers['x-delete-after']);
  const at = headerString(headers['x-delete-at']);
  let deadline: number | undefined;
  if (after !== undefined) {
    if (!/^\s*\d+\s*$/.test(String(after))) throw new CairnError('storage.bad_expiry', { header: 'X-Delete-After' });
    // X-Delete-After wins, as in Swift (the proxy turns it into X-Delete-At).
    deadline = Math.floor(nowSeconds) + Number(after);
  } else if (at !== undefined) {
    // Swift takes the integer part of a fractional timestamp.
    if (!/^\s*\d+(\.\d*)?\s*$/.test(at)) throw new CairnError('storage.bad_expiry', { header: 'X-Delete-At' });
    deadline = Math.floor(Number(at));
  } else return undefined;
  if (deadline <= nowSeconds) throw new CairnError('storage.delete_at_in_past');
  return Math.min(deadline, MAX_DELETE_AT);
}

/** 404 for an object that is missing or expired; its info otherwise. */
export async function liveObject(backend: ObjectBackend, account: string, container: string, object: string): Promise<ObjectInfo> {
  const info = await backend.headObject(account, container, object);
  if (!info || isExpired(info)) throw new CairnError('storage.object_not_found');
  return info;
}

export function expiry(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'expiry',
    after: ['auth'],
    async handle(req: StorageRequest, next) {
      const target = req.target;
      if (!target || target.kind !== 'object') return next();
      const method = req.ctx.method;
      if (method === 'PUT' || method === 'POST' || method === 'COPY') {
        const deadline = requestedDeleteAt(req.ctx.req.headers);
        if (deadline !== undefined) {
          req.sysmeta ??= { set: {}, remove: [] };
          req.sysmeta.set[SYS.deleteAt] = String(deadline);
        }
        // An expired object cannot be updated: it is gone as far as clients can tell.
        if (method === 'POST') await liveObject(deps.backend, target.account, target.container, target.object);
      }
      // `X-If-Delete-At` (used by Swift's expirer): delete only while the deadline is still that one.
      const ifDeleteAt = headerString(req.ctx.req.headers['x-if-delete-at']);
      if (method === 'DELETE' && ifDeleteAt !== undefined) {
        if (!/^\s*\d+\s*$/.test(ifDeleteAt)) throw new CairnError('storage.bad_expiry', { header: 'X-If-Delete-At' });
        const info = await deps.backend.headObject(target.account, target.container, target.object);
        if (!info) throw new CairnError('storage.object_not_found');
        if (info.meta[SYS.deleteAt] !== String(Number(ifDeleteAt))) throw new CairnError('storage.precondition_failed');
      }
      (req.readers ??= []).push(async (reader) => {
        if (isExpired(reader.info)) {
          await reader.close();
          throw new CairnError('storage.object_not_found');
        }
        return reader;
      });
      await next();
    },
  };
}
