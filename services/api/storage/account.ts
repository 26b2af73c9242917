// Account HEAD and POST (GET is listing.ts). Accounts are created on first use (Swift's
// account_autocreate); creating or deleting one explicitly needs reseller rights nobody has here.
import type { ServerResponse } from 'node:http';
import { CairnError } from '../../core/errors';
import type { AccountInfo } from '../../core/objectstore/backend';
import { sendEmpty } from '../http/respond';
import { STORAGE_POLICY } from './info';
import { METADATA_LIMITS } from './constraints';
import { checkMergedMetadata, metadataResponseHeaders } from './metadata';
import type { Middleware, StorageDeps } from './pipeline';
import { xTimestamp } from './timestamps';

/** Headers of account HEAD and GET. */
export function accountHeaders(a: AccountInfo): Record<string, string> {
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
    ...metadataResponseHeaders(a.meta, 'account'),
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
          return respond(ctx.res, 204, info);
        }
        case 'POST': {
          const meta = req.meta ?? { set: {}, remove: [] };
          if (Object.keys(meta.set).length > 0) checkMergedMetadata((await deps.backend.headAccount(target.account)).meta, meta, METADATA_LIMITS);
          const info = await deps.backend.updateAccount(target.account, meta);
          return respond(ctx.res, 204, info);
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

function respond(res: ServerResponse, status: number, info: AccountInfo): void {
  sendEmpty(res, status, { ...accountHeaders(info), 'Content-Type': 'text/plain; charset=utf-8' });
}
