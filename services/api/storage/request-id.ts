// Every storage response, errors included, carries the transaction id in Swift's two headers. The
// api server sets them already; this keeps the surface correct wherever it is mounted.
import type { Middleware } from './pipeline';

export function requestId(): Middleware {
  return {
    name: 'request-id',
    async handle(req, next) {
      const { res, requestId: id } = req.ctx;
      if (!res.hasHeader('X-Trans-Id')) res.setHeader('X-Trans-Id', id);
      if (!res.hasHeader('X-Openstack-Request-Id')) res.setHeader('X-Openstack-Request-Id', id);
      await next();
    },
  };
}
