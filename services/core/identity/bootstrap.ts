// First start, like `keystone-manage bootstrap` plus DevStack's demo account: project `admin` with
// user `admin` (role admin) and project `demo` with user `demo` (role member). Safe to run on every
// start and from several replicas at once.
import type { Config } from '../config';
import type { Database } from '../db/database';
import { generatePassword, hashPassword, verifyPassword } from './passwords';
import type { RevocationList } from './revocations';
import { DEFAULT_DOMAIN, IdentityStore, type Role } from './store';

/** One bootstrap account, enough to write an openrc. */
export interface Credentials {
  projectId: string;
  projectName: string;
  userId: string;
  userName: string;
  password: string;
}

export interface BootstrapResult {
  admin: Credentials;
  demo: Credentials;
}

interface Account {
  name: string;
  role: Role;
  configured: string | undefined;
}

/**
 * Creates what is missing and returns both credentials. The password of each account is the
 * configured one, else the one stored by an earlier start, else a new random one; it is kept in
 * `settings` (`identity.<name>_password`) so later starts hand out the same credentials. A
 * configured password also resets an existing user's password (and revokes their tokens), as
 * `keystone-manage bootstrap` does; a stored or generated one never overrides a changed password.
 */
export async function bootstrap(deps: { config: Config; db: Database; revocations: RevocationList; tokenTtlSeconds: number }): Promise<BootstrapResult> {
  const accounts: Account[] = [
    { name: 'admin', role: 'admin', configured: deps.config.identity.adminPassword },
    { name: 'demo', role: 'member', configured: deps.config.identity.demoPassword },
  ];
  const passwordReset: string[] = [];
  const result = await deps.db.transaction(async (tx) => {
    // Replicas starting together against one PostgreSQL: one bootstraps, the others then find it done.
    if (deps.db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(727275)');
    const store = new IdentityStore(tx);
    const out: Credentials[] = [];
    for (const a of accounts) {
      const settingKey = `identity.${a.name}_password`;
      const stored = await store.getSetting(settingKey);
      const password = a.configured ?? stored ?? generatePassword();
      if (password !== stored) await store.putSetting(settingKey, password);

      const project = (await store.projectByName(DEFAULT_DOMAIN.id, a.name)) ?? (await store.insertProject({ name: a.name, description: `Bootstrap project ${a.name}` }));
      let user = await store.userByName(DEFAULT_DOMAIN.id, a.name);
      if (!user) {
        user = await store.insertUser({ name: a.name, passwordHash: await hashPassword(password), defaultProjectId: project.id });
      } else if (a.configured !== undefined && !(await verifyPassword(a.configured, user.passwordHash))) {
        await store.setPasswordHash(user.id, await hashPassword(a.configured));
        passwordReset.push(user.id);
      }
      await store.addRole(user.id, project.id, a.role);
      out.push({ projectId: project.id, projectName: project.name, userId: user.id, userName: user.name, password });
    }
    return { admin: out[0], demo: out[1] };
  });
  const now = new Date();
  for (const userId of passwordReset) {
    await deps.revocations.record({ userId, issuedBefore: now, expiresAt: new Date(now.getTime() + deps.tokenTtlSeconds * 1000) });
  }
  return result;
}
