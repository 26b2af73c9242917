// Swift's tempauth v1.0 login, for `swift -A <base>/auth/v1.0 -U project:user -K password`. The
// CLI logs in once per worker connection, so a login reuses the verified-password cache and hands
// the same token out again while it has most of its life left, as tempauth does.
import { CairnError, isCairnError } from '../../core/errors';
import type { Identity, IssuedToken } from '../../core/identity';
import { storageAccount } from '../../core/identity/types';
import type { RequestContext, Surface } from '../http/context';
import { sendEmpty, sendText } from '../http/respond';

/** Most remembered tokens (one per user and project). @default 10000 */
const REUSE_MAX = 10_000;

function header(ctx: RequestContext, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = ctx.req.headers[name];
    const s = Array.isArray(v) ? v[0] : v;
    if (s) return s;
  }
  return undefined;
}

export function tempauthSurface(identity: Identity): Surface {
  const reuse = new Map<string, IssuedToken>();

  async function login(account: string, userName: string, key: string): Promise<IssuedToken> {
    const user = await identity.authenticatePassword({ name: userName }, key);
    const project = await identity.findProject({ name: account });
    if (!project) throw new CairnError('auth.bad_credentials');
    const slot = `${user.id}/${project.id}`;
    const held = reuse.get(slot);
    if (held && held.info.expiresAt.getTime() - Date.now() > (identity.tokenTtlSeconds * 1000) / 2) {
      try {
        await identity.validateToken(held.token); // not revoked since
        return held;
      } catch {
        reuse.delete(slot);
      }
    }
    const issued = await identity.issueToken({ userId: user.id, projectId: project.id, methods: ['password'] }).catch((err: unknown) => {
      // No role on the project: to tempauth that is simply a failed login.
      throw isCairnError(err) && err.code === 'identity.no_project_access' ? new CairnError('auth.bad_credentials') : err;
    });
    reuse.delete(slot);
    reuse.set(slot, issued);
    if (reuse.size > REUSE_MAX) reuse.delete(reuse.keys().next().value as string);
    return issued;
  }

  return {
    name: 'tempauth',
    prefixes: ['/auth'],
    async handle(ctx) {
      if (ctx.path !== '/auth/v1.0' && ctx.path !== '/auth/v1.0/') return sendText(ctx.res, 404, 'Not Found\n');
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return sendText(ctx.res, 405, 'Method Not Allowed\n', undefined, { Allow: 'GET, HEAD' });
      try {
        const login_ = header(ctx, 'x-auth-user', 'x-storage-user') ?? '';
        const key = header(ctx, 'x-auth-key', 'x-storage-pass');
        const colon = login_.indexOf(':');
        if (colon <= 0 || colon === login_.length - 1 || key === undefined) throw new CairnError('auth.bad_credentials');
        const { token, info } = await login(login_.slice(0, colon), login_.slice(colon + 1), key);
        const project = info.project as NonNullable<typeof info.project>;
        sendEmpty(ctx.res, 200, {
          'X-Auth-Token': token,
          'X-Storage-Token': token,
          'X-Storage-Url': `${ctx.baseUrl.replace(/\/+$/, '')}/v1/${storageAccount(project.id)}`,
          'X-Auth-Token-Expires': String(Math.max(0, Math.floor((info.expiresAt.getTime() - Date.now()) / 1000))),
          'Content-Type': 'text/plain; charset=utf-8',
        });
      } catch (err) {
        if (isCairnError(err) && err.status === 401) {
          return sendText(ctx.res, 401, 'Unauthorized\n', undefined, { 'Www-Authenticate': 'Swift realm="unknown"' });
        }
        if (!isCairnError(err)) console.error(`[tempauth] ${ctx.requestId}:`, err);
        const status = isCairnError(err) ? err.status : 500;
        sendText(ctx.res, status, isCairnError(err) ? `${err.message}\n` : `Internal server error (request ${ctx.requestId}).\n`);
      }
    },
  };
}
