// A TokenValidator over a fixed map of tokens, for tests of surfaces that need callers but not
// the identity service itself (the e2e suites use real identity).
import { CairnError } from '../../services/core/errors';
import type { AuthContext, TokenValidator } from '../../services/core/identity/types';

/** One test caller: a member (or admin) of `projectId`. */
export function testCaller(token: string, projectId: string, opts: { admin?: boolean; userId?: string } = {}): AuthContext {
  return {
    token,
    userId: opts.userId ?? `user-${projectId}`,
    userName: opts.userId ?? `user-${projectId}`,
    projectId,
    projectName: `project-${projectId}`,
    domainId: 'default',
    roles: opts.admin ? ['admin', 'member'] : ['member'],
    isAdmin: opts.admin === true,
    expiresAt: new Date(Date.now() + 86400_000),
  };
}

export function createStaticTokenValidator(tokens: Map<string, AuthContext>): TokenValidator {
  return {
    async validate(token) {
      const who = tokens.get(token);
      if (!who || who.expiresAt.getTime() <= Date.now()) throw new CairnError('auth.invalid_token');
      return who;
    },
  };
}
