// Container PUT (201 new / 202 existing, metadata merged), HEAD, POST and DELETE (409 while it
// holds objects). GET is listing.ts.
import { CairnError } from '../../core/errors';
import type { ContainerInfo } from '../../core/objectstore/backend';
import { sendEmpty } from '../http/respond';
import { STORAGE_POLICY } from './info';
import { METADATA_LIMITS } from './constraints';
import { checkMergedMetadata, metadataResponseHeaders } from './metadata';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { httpDate, xTimestamp } from './timestamps';

/** Headers of container HEAD and GET. */
export function containerHeaders(c: ContainerInfo): Record<string, string> {
  return {
    'X-Container-Object-Count': String(c.objectCount),
    'X-Container-Bytes-Used': String(c.bytesUsed),
    'X-Timestamp': xTimestamp(c.createdAt),
    'X-Put-Timestamp': xTimestamp(c.modifiedAt),
    'Last-Modified': httpDate(c.modifiedAt),
    'X-Storage-Policy': STORAGE_POLICY,
    'Accept-Ranges': 'bytes',
    Vary: 'Accept',
    ...metadataResponseHeaders(c.meta, 'container'),
  };
}

/** Container features that later middlewares will own; refused clearly rather than ignored. */
const NOT_YET: ReadonlyArray<[header: string, feature: string]> = [
  ['x-container-read', 'Container ACLs (X-Container-Read)'],
  ['x-container-write', 'Container ACLs (X-Container-Write)'],
  ['x-versions-location', 'Object versioning'],
  ['x-history-location', 'Object versioning'],
  ['x-versions-enabled', 'Object versioning'],
  ['x-container-sync-to', 'Container sync'],
];

function refuseUnsupported(req: StorageRequest): void {
  for (const [header, feature] of NOT_YET) {
    if (req.ctx.req.headers[header]) throw new CairnError('storage.not_implemented', { feature });
  }
}

export function container(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'container',
    after: ['auth'],
    async handle(req, next) {
      const target = req.target;
      if (!target || target.kind !== 'container') return next();
      const { ctx } = req;
      const { backend } = deps;
      const meta = req.meta ?? { set: {}, remove: [] };
      // Only an update that adds metadata can break the per-container limits.
      const checkMerged = async (r: StorageRequest, m: typeof meta): Promise<void> => {
        if (Object.keys(m.set).length === 0 || r.target?.kind !== 'container') return;
        const current = await backend.headContainer(r.target.account, r.target.container);
        if (current) checkMergedMetadata(current.meta, m, METADATA_LIMITS);
      };
      switch (ctx.method) {
        case 'PUT': {
          refuseUnsupported(req);
          await checkMerged(req, meta);
          const { created } = await backend.putContainer(target.account, target.container, meta);
          return sendEmpty(ctx.res, created ? 201 : 202, { 'Content-Type': 'text/html; charset=UTF-8' });
        }
        case 'HEAD': {
          const info = await backend.headContainer(target.account, target.container);
          if (!info) throw new CairnError('storage.container_not_found');
          return sendEmpty(ctx.res, 204, { ...containerHeaders(info), 'Content-Type': 'text/plain; charset=utf-8' });
        }
        case 'POST': {
          refuseUnsupported(req);
          await checkMerged(req, meta);
          await backend.updateContainer(target.account, target.container, meta);
          return sendEmpty(ctx.res, 204, { 'Content-Type': 'text/html; charset=UTF-8' });
        }
        case 'DELETE':
          await backend.deleteContainer(target.account, target.container);
          return sendEmpty(ctx.res, 204, { 'Content-Type': 'text/html; charset=UTF-8' });
        default:
          return next();
      }
    },
  };
}
