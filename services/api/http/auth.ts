// Authentication for the function API: every call but a few public ones carries `X-Auth-Token`.
import { CairnError } from '../../core/errors';
import type { AuthContext, TokenValidator } from '../../core/identity/types';
import type { RequestContext } from './context';

/**
 * Builds the middleware: resolves the caller from `X-Auth-Token`, stores it on `ctx.auth` and
 * returns it. Throws auth.required without a token and auth.invalid_token for a bad one.
 */
export function authenticate(validator: TokenValidator): (ctx: RequestContext) => Promise<AuthContext> {
  return async (ctx) => {
    const header = ctx.req.headers['x-auth-token'];
    const token = (Array.isArray(header) ? header[0] : header)?.trim();
    if (!token) throw new CairnError('auth.required');
    const auth = await validator.validate(token);
    ctx.auth = auth;
    return auth;
  };
}
