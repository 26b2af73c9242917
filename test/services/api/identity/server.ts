// An api server with only the identity surfaces (plus whatever a test adds) on 127.0.0.1:0,
// over a fresh PGlite database with the bootstrap accounts.
import { createApiServer, type ApiServer } from '../../../../services/api/server';
import { identitySurfaces } from '../../../../services/api/identity';
import type { Surface } from '../../../../services/api/http/context';
import { createIdentity, type BootstrapResult, type Identity } from '../../../../services/core/identity';
import { openFixture, type Fixture } from '../../core/identity/fixture';

export interface IdentityServer {
  base: string;
  identity: Identity;
  creds: BootstrapResult;
  fx: Fixture;
  /** fetch against the server; `json` sets the body and Content-Type. */
  call(method: string, path: string, opts?: { json?: unknown; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; text: string; body: any }>;
  /** A project-scoped token for a bootstrap user through POST /identity/v3/auth/tokens. */
  login(who: 'admin' | 'demo'): Promise<string>;
  close(): Promise<void>;
}

export async function startIdentityServer(extra: (identity: Identity) => Surface[] = () => []): Promise<IdentityServer> {
  const fx = await openFixture();
  const identity = await createIdentity({ config: fx.config(), db: fx.db });
  const creds = await identity.bootstrap();
  let port = 0;
  const server: ApiServer = createApiServer({ surfaces: [...identitySurfaces(identity), ...extra(identity)], baseUrl: () => `http://127.0.0.1:${port}` });
  port = await server.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;

  const call: IdentityServer['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let body: string | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(`${base}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  };

  return {
    base,
    identity,
    creds,
    fx,
    call,
    async login(who) {
      const c = creds[who];
      const res = await call('POST', '/identity/v3/auth/tokens', {
        json: {
          auth: {
            identity: { methods: ['password'], password: { user: { name: c.userName, domain: { name: 'Default' }, password: c.password } } },
            scope: { project: { name: c.projectName, domain: { name: 'Default' } } },
          },
        },
      });
      if (res.status !== 201) throw new Error(`login ${who}: ${res.status} ${res.text}`);
      return res.headers.get('x-subject-token') as string;
    },
    async close() {
      await server.close();
      await fx.close();
    },
  };
}

export function passwordAuth(user: Record<string, unknown>, password: string, scope?: unknown): unknown {
  return { auth: { identity: { methods: ['password'], password: { user: { ...user, password } } }, ...(scope === undefined ? {} : { scope }) } };
}
