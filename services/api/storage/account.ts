// Account HEAD and POST (GET is listing.ts). Accounts are created on first use (Swift's
// account_autocreate); creating or deleting one explicitly needs reseller rights nobody has here.
import type { ServerResponse } from 'node:http';
import { CairnError } from '../../core/errors';
import type { AccountInfo } from '../../core/objectstore/backend';
import { sendEmpty } from '../http/respond';
import { ACCOUNT_ACL_HEADER, accountAclUpdate } from './account-acl';
import { isOwner, OWNER_ONLY_META } from './container';
import { STORAGE_POLICY } from './info';
import { METADATA_LIMITS } from './constraints';
import { checkMergedMetadata, metadataResponseHeaders } from './metadata';
import type { Middleware, StorageDeps } from './pipeline';
import { SYS } from './sysmeta';
import { xTimestamp } from './timestamps';

/** Headers of account HEAD and GET; the account ACL only for its owner (or an ACL admin). */
export function accountHeaders(a: AccountInfo, owner: boolean): Record<string, string> {
  const acl = a.meta[SYS.accountAcl];
  const policy = `X-Account-Storage-Policy-${STORAGE_POLICY}`;
  return {
    'X-Account-Container-Count': String(a.containerCount),
    'X-Account-Object-Count': String(a.objectCount),
    'X-Account-Bytes-Used': String(a.bytesUsed),
    [`${policy}-Container-Count`]: String(a.containerCount),
    [`${policy}-Object-Count`]: String(a.objectCount),
    [`${policy}-Bytes-Used`]: String(a.bytesUsed),
    'X-Timestamp': xTimestamp(a.createdAt),
    'X-Put-Timestamp': xTimestamp(a.createdAt),
    'Accept-Ranges': 'bytes',
    Vary: 'Accept',
    ...metadataResponseHeaders(owner ? a.meta : Object.fromEntries(Object.entries(a.meta).filter(([k]) => !OWNER_ONLY_META.includes(k))), 'account'),
    ...(owner && acl ? { [ACCOUNT_ACL_HEADER]: acl } : {}),
  };
}

export function account(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'account',
    after: ['auth'],
    async handle(req, next) {
      const target = req.target;
      if (!target || target.kind !== 'account') return next();
      const { ctx } = req;
      switch (ctx.method) {
        case 'HEAD': {
          const info = await deps.backend.headAccount(target.account);
          return respond(ctx.res, 204, info, isOwner(req));
        }
        case 'POST': {
          const meta = req.meta ?? { set: {}, remove: [] };
          if (Object.keys(meta.set).length > 0) checkMergedMetadata((await deps.backend.headAccount(target.account)).meta, meta, METADATA_LIMITS);
          // Only the owner (or an ACL admin, who auth let in as one) changes the account ACL.
          const acl = accountAclUpdate(ctx.req.headers);
          if (acl && !isOwner(req)) throw new CairnError('storage.account_forbidden');
          const update = acl ? { set: { ...meta.set, ...acl.set }, remove: [...meta.remove, ...acl.remove] } : meta;
          const info = await deps.backend.updateAccount(target.account, update);
          return respond(ctx.res, 204, info, isOwner(req));
        }
        case 'PUT':
        case 'DELETE':
          ctx.res.setHeader('Allow', 'GET, HEAD, POST');
          throw new CairnError('storage.method_not_allowed');
        default:
          return next();
      }
    },
  };
}

function respond(res: ServerResponse, status: number, info: AccountInfo, owner: boolean): void {
  sendEmpty(res, status, { ...accountHeaders(info, owner), 'Content-Type': 'text/plain; charset=utf-8' });
}
