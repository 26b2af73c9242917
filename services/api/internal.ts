// The api's internal surface (distributed mode): what the executor fetches from the api, behind
// the shared secret. Today that is function packages by code key; the executor caches them
// (executor/code-cache.ts), so this is called once per function version and executor.
import { CairnError, isCairnError } from '../core/errors';
import { hasInternalToken, INTERNAL_PREFIX, internalErrorBody } from '../core/internal-api';
import type { RequestContext, Surface } from './http/context';
import { sendJson, sendText } from './http/respond';

export interface InternalSurfaceDeps {
  token: string;
  /** Zip bytes of a code key (core/code.ts); throws a CairnError when it is gone. */
  packageBytes(codeKey: string): Promise<Buffer>;
}

export function createInternalSurface(deps: InternalSurfaceDeps): Surface {
  return {
    name: 'internal',
    prefixes: [INTERNAL_PREFIX],
    async handle(ctx: RequestContext) {
      try {
        if (!hasInternalToken(ctx.req, deps.token)) throw new CairnError('internal.unauthorized');
        if (ctx.path !== `${INTERNAL_PREFIX}/code`) throw new CairnError('request.not_found');
        if (ctx.method !== 'GET') throw new CairnError('request.method_not_allowed', { method: ctx.method });
        const key = ctx.query.get('key');
        if (!key) throw new CairnError('request.missing_param', { params: 'key' });
        sendText(ctx.res, 200, await deps.packageBytes(key), 'application/zip');
      } catch (err) {
        const e = isCairnError(err) ? err : new CairnError('internal', { requestId: ctx.requestId });
        if (!isCairnError(err)) console.error(`[internal] ${ctx.requestId}`, err);
        sendJson(ctx.res, e.status, internalErrorBody(e));
      }
    },
  };
}
