// The api's single HTTP port: requests are routed by path prefix to one surface (identity,
// tempauth, function API, storage). The same server also listens on a unix socket that is
// bind-mounted into sandboxes, the only way function code reaches the platform.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newRequestId } from '../core/ids';
import { handleClientErrors } from './http/client-errors';
import type { RequestContext, Surface } from './http/context';
import { sendJson } from './http/respond';

export interface ApiServerOptions {
  surfaces: Surface[];
  /** Base URL advertised to callers that reach us over TCP. Resolved lazily: the port may be 0 until listen. */
  baseUrl: () => string;
  /** Extra unauthenticated routes: health and version documents. */
  health?: (ctx: RequestContext) => Promise<boolean>;
}

export interface ApiServer {
  server: http.Server;
  listen(port: number, host: string): Promise<number>;
  listenUnix(socketPath: string): Promise<void>;
  close(): Promise<void>;
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  // Longest prefix first, so `/v1/AUTH_x` and `/function/v1` never shadow each other.
  const table = opts.surfaces
    .flatMap((s) => s.prefixes.map((prefix) => ({ prefix, surface: s })))
    .sort((a, b) => b.prefix.length - a.prefix.length);

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    const requestId = newRequestId();
    res.setHeader('X-Trans-Id', requestId);
    res.setHeader('X-Openstack-Request-Id', requestId);
    // Swift names the connection's fate only when the client asked (`Connection: keep-alive`);
    // the connection stays persistent either way.
    if (req.headers.connection === undefined) res.removeHeader('Connection');
    const ctx: RequestContext = {
      req,
      res,
      method: req.method ?? 'GET',
      path,
      rawQuery,
      query: new URLSearchParams(rawQuery),
      requestId,
      baseUrl: opts.baseUrl(),
    };
    const hit = table.find(({ prefix }) => path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
    const run = hit ? hit.surface.handle(ctx) : notFound(ctx);
    run.catch((err: unknown) => {
      // Surfaces render their own errors; this is the last line for bugs in a renderer.
      console.error(`[api] ${requestId} unhandled:`, err);
      if (!res.headersSent) sendJson(res, 500, { faultstring: `Internal server error (request ${requestId}).` });
      else res.destroy();
    });
  };

  const server = http.createServer({ keepAlive: true }, onRequest);
  handleClientErrors(server);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const unixServers: http.Server[] = [];

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      });
    },
    listenUnix(socketPath) {
      fs.rmSync(socketPath, { force: true });
      const unix = http.createServer({ keepAlive: true }, onRequest);
      handleClientErrors(unix);
      unixServers.push(unix);
      return new Promise((resolve, reject) => {
        unix.once('error', reject);
        unix.listen(socketPath, () => {
          fs.chmodSync(socketPath, 0o666);
          resolve();
        });
      });
    },
    async close() {
      const all = [server, ...unixServers];
      await Promise.all(
        all.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };

  async function notFound(ctx: RequestContext): Promise<void> {
    if (ctx.path === '/' || ctx.path === '/healthz') {
      const ok = opts.health ? await opts.health(ctx) : true;
      sendJson(ctx.res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable' });
      return;
    }
    sendJson(ctx.res, 404, { faultstring: 'The resource could not be found.', code: 'request.not_found' });
  }
}
