// Unauthenticated cluster endpoints: `GET /info` (Swift's capabilities document, advertising exactly
// what this deployment implements — clients and Swift's functional tests turn features on from it)
// and `GET /healthcheck` (200 OK, Swift's healthcheck middleware).
import { sendText } from '../http/respond';
import { CairnError } from '../../core/errors';
import { SWIFT_CONSTRAINTS } from './constraints';
import type { Middleware, StorageDeps } from './pipeline';

/** The one storage policy of the fs backend, named as Swift names its default. */
export const STORAGE_POLICY = 'Policy-0';

export function info(deps: Pick<StorageDeps, 'config'>): Middleware {
  // Built once, when the pipeline is: it only changes with the deployment. Each middleware that
  // implements an optional Swift feature (slo, tempurl, bulk_delete …) declares its own key.
  // A middleware may also add keys to the `swift` section itself (cors: `strict_cors_mode`, whose
  // presence clients and Swift's tests take to mean CORS is implemented).
  const build = ({ swift, ...extra }: Record<string, unknown>): Buffer =>
    Buffer.from(
      JSON.stringify({
        swift: {
          version: deps.config.version,
          ...SWIFT_CONSTRAINTS,
          policies: [{ name: STORAGE_POLICY, aliases: STORAGE_POLICY, default: true }],
          allow_account_management: false,
          account_autocreate: true,
          ...(swift as Record<string, unknown> | undefined),
        },
        ...extra,
      }),
    );
  let document = build({});
  return {
    name: 'info',
    after: ['catch-errors'],
    init(pipeline) {
      document = build(Object.assign({}, ...pipeline.map((m) => m.info ?? {})));
    },
    async handle(req, next) {
      const { ctx } = req;
      if (ctx.path !== '/info' && ctx.path !== '/healthcheck') return next();
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        ctx.res.setHeader('Allow', 'GET, HEAD');
        throw new CairnError('storage.method_not_allowed');
      }
      if (ctx.path === '/healthcheck') return sendText(ctx.res, 200, 'OK', 'text/plain');
      sendText(ctx.res, 200, document, 'application/json; charset=UTF-8');
    },
  };
}
