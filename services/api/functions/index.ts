// The Qinling v1 function API, mounted at /function (the catalog URL; clients append /v1).
import type { TokenValidator } from '../../core/identity/types';
import { authenticate } from '../http/auth';
import type { RequestContext, Surface } from '../http/context';
import { sendJson } from '../http/respond';
import { Router } from '../http/router';
import type { CallHandler, FunctionApiDeps } from './context';
import { executionRoutes } from './executions';
import { functionRoutes } from './functions';
import { runtimeRoutes } from './runtimes';
import { renderFault } from './wire';

export const FUNCTION_API_PREFIX = '/function';

export function createFunctionSurface(deps: FunctionApiDeps & { validator: TokenValidator }): Surface {
  const router = new Router<CallHandler>();
  runtimeRoutes(router);
  functionRoutes(router);
  executionRoutes(router);
  const auth = authenticate(deps.validator);

  return {
    name: 'function-api',
    prefixes: [FUNCTION_API_PREFIX],
    async handle(ctx: RequestContext) {
      // Which release answered, on every response: during a rolling upgrade two serve side by side.
      ctx.res.setHeader(VERSION_HEADER, deps.config.version);
      try {
        const path = ctx.path.slice(FUNCTION_API_PREFIX.length) || '/';
        if (path === '/' && ctx.method === 'GET') return versions(ctx, deps.config.version);
        if ((path === '/v1' || path === '/v1/') && ctx.method === 'GET') {
          return sendJson(ctx.res, 200, { uri: `${ctx.baseUrl}${FUNCTION_API_PREFIX}/v1`, platform: platformVersion(deps.config.version) });
        }
        const { handler, params } = router.match(ctx.method, path);
        const caller = await auth(ctx);
        await handler({ ctx, auth: caller, params, deps });
      } catch (err) {
        renderFault(ctx.res, err, ctx.requestId);
      }
    },
  };
}

/** The response header naming the platform version that served a function API request. */
export const VERSION_HEADER = 'X-Cairn-Version';

/** The platform release in the version documents (Qinling's own keys are left as they are). */
function platformVersion(version: string): { name: 'cairn'; version: string } {
  return { name: 'cairn', version };
}

function versions(ctx: RequestContext, version: string): void {
  sendJson(ctx.res, 200, {
    versions: [{ id: 'v1.0', status: 'CURRENT', links: [{ href: `${ctx.baseUrl}${FUNCTION_API_PREFIX}/v1`, target: 'v1', rel: 'self' }] }],
    platform: platformVersion(version),
  });
}
