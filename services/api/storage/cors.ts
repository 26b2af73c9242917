// CORS, as Swift's proxy does it: a container's `X-Container-Meta-Access-Control-Allow-Origin`
// (space-separated origins, or `*`), `-Max-Age` and `-Expose-Headers` let web pages on other
// origins use its objects. `OPTIONS` on a container or object answers the browser's preflight
// without a token: 200 with `Access-Control-Allow-*` when the origin and the requested method are
// allowed, 401 otherwise (no `Origin`, or the account: a plain 200 naming the methods). An actual
// request with an allowed `Origin` gets `Access-Control-Allow-Origin` and
// `Access-Control-Expose-Headers` on its response, errors included. Strict mode (Swift's default,
// the only one here): a request from an origin the container does not allow gets no CORS headers.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { CairnError } from '../../core/errors';
import type { Metadata } from '../../core/objectstore/backend';
import { sendEmpty } from '../http/respond';
import type { Middleware, StorageDeps, Target } from './pipeline';

/** Methods a preflight may ask for, per kind of resource (what Cairn serves there, and OPTIONS). */
const ALLOWED: Record<Target['kind'], readonly string[]> = {
  account: ['GET', 'HEAD', 'POST', 'OPTIONS'],
  container: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
  object: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
};

/** Response headers a page may always read: CORS's simple ones and Swift's own. */
const ALWAYS_EXPOSED = ['cache-control', 'content-language', 'content-type', 'expires', 'last-modified', 'pragma', 'etag', 'x-timestamp', 'x-trans-id', 'x-openstack-request-id'];

interface CorsRules {
  allowOrigin?: string;
  maxAge?: string;
  exposeHeaders?: string;
}

function rulesOf(meta: Metadata | undefined): CorsRules {
  return {
    allowOrigin: meta?.['access-control-allow-origin'],
    maxAge: meta?.['access-control-max-age'],
    exposeHeaders: meta?.['access-control-expose-headers'],
  };
}

const words = (s: string | undefined): string[] => (s ?? '').split(' ').map((w) => w.trim()).filter(Boolean);

function originAllowed(rules: CorsRules, origin: string): boolean {
  const allowed = words(rules.allowOrigin);
  return allowed.includes(origin) || allowed.includes('*');
}

/** `*` when the container allows every origin, else the origin itself (and the answer varies by it). */
function allowOriginHeaders(rules: CorsRules, origin: string, vary: string | undefined): Record<string, string> {
  if (rules.allowOrigin?.trim() === '*') return { 'Access-Control-Allow-Origin': '*' };
  return { 'Access-Control-Allow-Origin': origin, Vary: vary ? `${vary}, Origin` : 'Origin' };
}

function headerOf(res: ServerResponse, given: OutgoingHttpHeaders | undefined, name: string): string | undefined {
  const key = given && Object.keys(given).find((k) => k.toLowerCase() === name);
  const v = key !== undefined && key !== '' ? given?.[key] : res.getHeader(name);
  return v === undefined ? undefined : String(v);
}

/** Adds the CORS headers to whatever response this request ends up writing. */
function decorate(res: ServerResponse, rules: CorsRules, origin: string): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const last = args[args.length - 1];
    const given = last !== null && typeof last === 'object' && !Array.isArray(last) ? (last as OutgoingHttpHeaders) : undefined;
    if (headerOf(res, given, 'access-control-expose-headers') === undefined) {
      const names = [...res.getHeaderNames(), ...Object.keys(given ?? {}).map((k) => k.toLowerCase())];
      const meta = names.filter((n) => n.startsWith('x-container-meta') || n.startsWith('x-object-meta'));
      const expose = new Set([...ALWAYS_EXPOSED, ...meta, ...words(rules.exposeHeaders).map((h) => h.toLowerCase())]);
      res.setHeader('Access-Control-Expose-Headers', [...expose].join(', '));
    }
    if (headerOf(res, given, 'access-control-allow-origin') === undefined) {
      for (const [k, v] of Object.entries(allowOriginHeaders(rules, origin, headerOf(res, given, 'vary')))) {
        res.setHeader(k, v);
        if (given && k === 'Vary') for (const g of Object.keys(given)) if (g.toLowerCase() === 'vary') delete given[g];
      }
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;
}

export function cors(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'cors',
    // Before auth: a preflight carries no token, and an actual request's refusal (401, 403) must
    // still reach the page's script as a CORS response.
    after: ['catch-errors', 'constraints'],
    info: { swift: { strict_cors_mode: true } },
    async handle(req, next) {
      const { ctx } = req;
      const t = req.target;
      // The platform's own accounts are never reachable through the Swift API, CORS or not.
      if (!t || !t.account.startsWith('AUTH_')) return next();
      const rawOrigin = ctx.req.headers.origin;
      const origin = Array.isArray(rawOrigin) ? rawOrigin[0] : rawOrigin;
      if (ctx.method === 'OPTIONS') {
        const allow = ALLOWED[t.kind];
        ctx.res.setHeader('Allow', allow.join(', '));
        if (!origin || t.kind === 'account') return sendEmpty(ctx.res, 200);
        const rules = rulesOf((await deps.backend.headContainer(t.account, t.container))?.meta);
        const method = ctx.req.headers['access-control-request-method'];
        if (!originAllowed(rules, origin) || method === undefined || !allow.includes(method)) throw new CairnError('storage.cors_not_allowed');
        const headers: Record<string, string> = { ...allowOriginHeaders(rules, origin, undefined) };
        if (rules.maxAge !== undefined) headers['Access-Control-Max-Age'] = rules.maxAge;
        headers['Access-Control-Allow-Methods'] = allow.join(', ');
        // Every header the page asks to send is allowed (the CORS spec permits echoing the list).
        const asked = [...new Set(String(ctx.req.headers['access-control-request-headers'] ?? '').split(',').map((h) => h.trim()).filter(Boolean))];
        if (asked.length) {
          headers['Access-Control-Allow-Headers'] = asked.join(', ');
          headers.Vary = headers.Vary ? `${headers.Vary}, Access-Control-Request-Headers` : 'Access-Control-Request-Headers';
        }
        return sendEmpty(ctx.res, 200, headers);
      }
      if (!origin || t.kind === 'account') return next();
      const rules = rulesOf((await deps.backend.headContainer(t.account, t.container))?.meta);
      if (originAllowed(rules, origin)) decorate(ctx.res, rules, origin);
      await next();
    },
  };
}
