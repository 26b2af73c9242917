// Swift-style authorization: `X-Auth-Token` (or `X-Storage-Token`) validated by the platform's
// TokenValidator; account `AUTH_<projectId>` is owned by the users of that project who hold one
// of the operator roles (Swift's keystoneauth `operator_roles`; owners have all rights in their
// account). A project user without one is treated like anyone else: ACLs decide. No or bad token → 401 with
// `Www-Authenticate: Swift realm="<account>"` (set by catch-errors); someone else's account → 403,
// unless a container ACL registered earlier (container-acl.ts, `req.aclGrants`) lets the caller,
// or an anonymous request, in: then `authorized.by` is `acl` and only what the ACL covers is allowed.
// Accounts outside the `AUTH_` namespace (the platform's own `.cairn`) are never reachable here.
import { CairnError } from '../../core/errors';
import { type AuthContext, storageAccount, type TokenValidator } from '../../core/identity/types';
import { accountAccessAllows } from './account-acl';
import type { Middleware } from './pipeline';

/** Whether `who` owns `account`: a user of its project holding one of `operatorRoles`. */
export function ownsAccount(who: AuthContext, account: string, operatorRoles: readonly string[]): boolean {
  return account.startsWith('AUTH_') && account === storageAccount(who.projectId) && who.roles.some((r) => operatorRoles.includes(r));
}

export function auth(validator: TokenValidator, operatorRoles: readonly string[]): Middleware {
  return {
    name: 'auth',
    after: ['catch-errors', 'constraints'],
    async handle(req, next) {
      // Requests outside /v1 (info, healthcheck) were answered earlier; an earlier middleware may
      // also have authorized this one its own way (TempURL, later).
      if (!req.target || req.authorized) return next();
      const headers = req.ctx.req.headers;
      const raw = headers['x-auth-token'] ?? headers['x-storage-token'];
      const token = Array.isArray(raw) ? raw[0] : raw;
      // Only tenant accounts can have ACLs; the platform's own are never reachable through one.
      const acl = req.target.account.startsWith('AUTH_') ? req.aclGrants : undefined;
      if (!token) {
        if (acl && (await acl(undefined))) {
          req.authorized = { by: 'acl' };
          return next();
        }
        throw new CairnError('storage.unauthorized');
      }
      let who;
      try {
        who = await validator.validate(token);
      } catch (err) {
        if (err instanceof CairnError && err.status === 401) throw new CairnError('storage.unauthorized', {}, { cause: err });
        throw err;
      }
      req.ctx.auth = who;
      if (who.roles.some((r) => operatorRoles.includes(r))) req.ownedAccount = storageAccount(who.projectId);
      if (!ownsAccount(who, req.target.account, operatorRoles)) {
        // An account ACL: `admin` is the owner's equal; the others allow what their level covers.
        const level = await req.accountAccess?.(who);
        if (level && accountAccessAllows(level, req.ctx.method, req.target.kind)) {
          req.accountLevel = level;
          req.authorized = { by: level === 'admin' ? 'token' : 'account-acl' };
          return next();
        }
        if (acl && (await acl(who))) {
          req.authorized = { by: 'acl' };
          return next();
        }
        throw new CairnError('storage.account_forbidden');
      }
      req.authorized = { by: 'token' };
      await next();
    },
  };
}
