// Container PUT (201 new / 202 existing, metadata merged), HEAD, POST and DELETE (409 while it
// holds objects). GET is listing.ts.
import type { Config } from '../../core/config';
import type { Queryable } from '../../core/db/database';
import { CairnError } from '../../core/errors';
import type { ContainerInfo } from '../../core/objectstore/backend';
import { sendEmpty } from '../http/respond';
import { aclUpdate } from './container-acl';
import { registerSyncContainer, syncUpdate } from './container-sync';
import { STORAGE_POLICY } from './info';
import { METADATA_LIMITS } from './constraints';
import { checkMergedMetadata, headerValue, metadataResponseHeaders } from './metadata';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { SYS } from './sysmeta';
import { httpDate, xTimestamp } from './timestamps';

/** User metadata only the account's owner sees (Swift's owner-only headers): the TempURL keys. */
export const OWNER_ONLY_META = ['temp-url-key', 'temp-url-key-2'];

/**
 * Headers of container HEAD and GET. ACLs, sync settings and TempURL keys are shown to the owner
 * only, as Swift hides them from callers let in by an ACL.
 */
export function containerHeaders(c: ContainerInfo, owner = true): Record<string, string> {
  const acl: Record<string, string> = {};
  if (owner) {
    if (c.meta[SYS.read] !== undefined) acl['X-Container-Read'] = headerValue(c.meta[SYS.read]);
    if (c.meta[SYS.write] !== undefined) acl['X-Container-Write'] = headerValue(c.meta[SYS.write]);
    if (c.meta[SYS.syncTo] !== undefined) acl['X-Container-Sync-To'] = headerValue(c.meta[SYS.syncTo]);
    if (c.meta[SYS.syncKey] !== undefined) acl['X-Container-Sync-Key'] = headerValue(c.meta[SYS.syncKey]);
  }
  const meta = owner ? c.meta : Object.fromEntries(Object.entries(c.meta).filter(([k]) => !OWNER_ONLY_META.includes(k)));
  return {
    ...acl,
    'X-Container-Object-Count': String(c.objectCount),
    'X-Container-Bytes-Used': String(c.bytesUsed),
    'X-Timestamp': xTimestamp(c.createdAt),
    'X-Put-Timestamp': xTimestamp(c.modifiedAt),
    'Last-Modified': httpDate(c.modifiedAt),
    'X-Storage-Policy': STORAGE_POLICY,
    'Accept-Ranges': 'bytes',
    Vary: 'Accept',
    ...metadataResponseHeaders(meta, 'container'),
  };
}

/** Whether the request comes from the account's owner (not through an ACL). */
export function isOwner(req: StorageRequest): boolean {
  return req.authorized?.by === 'token';
}

/** Container features that later middlewares will own; refused clearly rather than ignored. */
const NOT_YET: ReadonlyArray<[header: string, feature: string]> = [
  ['x-versions-location', 'Object versioning'],
  ['x-history-location', 'Object versioning'],
  ['x-versions-enabled', 'Object versioning'],
];

function refuseUnsupported(req: StorageRequest): void {
  for (const [header, feature] of NOT_YET) {
    if (req.ctx.req.headers[header]) throw new CairnError('storage.not_implemented', { feature });
  }
}

export function container(deps: Pick<StorageDeps, 'backend'> & { config: Pick<Config, 'containerSync'>; db: Queryable }): Middleware {
  return {
    name: 'container',
    after: ['auth'],
    async handle(req, next) {
      const target = req.target;
      if (!target || target.kind !== 'container') return next();
      const { ctx } = req;
      const { backend } = deps;
      const userMeta = req.meta ?? { set: {}, remove: [] };
      // ACLs and sync settings travel as system metadata in the same update (validated here, after
      // auth). Only the owner's count: from anyone else an account ACL let in, Swift drops them silently.
      const owned = (ctx.method === 'PUT' || ctx.method === 'POST') && isOwner(req);
      const acl = owned ? aclUpdate(ctx.req.headers) : { set: {}, remove: [] };
      const sync = owned ? syncUpdate(ctx.req.headers, deps.config.containerSync) : { set: {}, remove: [] };
      const meta = { set: { ...userMeta.set, ...acl.set, ...sync.set }, remove: [...userMeta.remove, ...acl.remove, ...sync.remove] };
      // The sync pass finds containers through this list, whatever the backend.
      const registerSync = (): Promise<void> => (Object.keys(sync.set).length ? registerSyncContainer(deps.db, target.account, target.container) : Promise.resolve());
      // Only an update that adds metadata can break the per-container limits.
      const checkMerged = async (r: StorageRequest, m: typeof meta): Promise<void> => {
        if (Object.keys(m.set).length === 0 || r.target?.kind !== 'container') return;
        const current = await backend.headContainer(r.target.account, r.target.container);
        if (current) checkMergedMetadata(current.meta, m, METADATA_LIMITS);
      };
      switch (ctx.method) {
        case 'PUT': {
          refuseUnsupported(req);
          // One policy here: naming any other is a mistake the client should hear about (an empty
          // value asks for the default).
          const policy = ctx.req.headers['x-storage-policy'];
          if (typeof policy === 'string' && policy.trim() !== '' && policy.trim().toLowerCase() !== STORAGE_POLICY.toLowerCase()) {
            throw new CairnError('storage.bad_storage_policy', { name: headerValue(policy.trim()) });
          }
          await checkMerged(req, userMeta);
          const { created } = await backend.putContainer(target.account, target.container, meta);
          await registerSync();
          return sendEmpty(ctx.res, created ? 201 : 202, { 'Content-Type': 'text/html; charset=UTF-8' });
        }
        case 'HEAD': {
          const info = await backend.headContainer(target.account, target.container);
          if (!info) throw new CairnError('storage.container_not_found');
          return sendEmpty(ctx.res, 204, { ...containerHeaders(info, isOwner(req)), 'Content-Type': 'text/plain; charset=utf-8' });
        }
        case 'POST': {
          refuseUnsupported(req);
          await checkMerged(req, userMeta);
          await backend.updateContainer(target.account, target.container, meta);
          await registerSync();
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
