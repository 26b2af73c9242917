// `cairn user-add <project> <user> <password> [admin|member]`: the small admin command that
// `keystone-manage bootstrap` and tempauth's `user_<account>_<user>` lines cover elsewhere. It
// creates the project and the user when missing, sets the password when it differs, and assigns
// the role; running it twice changes nothing. It opens the database itself, so with the embedded
// PGlite it runs while the platform is stopped (before `cairn start`).
import * as path from 'node:path';
import type { Config } from './core/config';
import { openDatabase } from './core/db/database';
import { migrate } from './core/db/migrate';
import { createIdentity } from './core/identity';
import { ROLES, type Role } from './core/identity/store';

export const USER_ADD_USAGE = 'user-add  <project> <user> <password> [admin|member]  create or update a project, a user and its role (default member)';

/** Thrown for a command line the user can fix; runMain prints the message alone. */
export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\nusage: cairn ${USER_ADD_USAGE}`);
    this.name = 'UsageError';
  }
}

export async function userAdd(config: Config, args: string[]): Promise<void> {
  const [projectName, userName, password, roleArg] = args;
  if (args.length < 3 || args.length > 4 || !projectName || !userName || !password) throw new UsageError('user-add needs a project, a user and a password');
  const role = (roleArg ?? 'member') as Role;
  if (!ROLES.includes(role)) throw new UsageError(`unknown role "${roleArg}": use ${ROLES.join(' or ')}`);

  const db = await openDatabase({ url: config.databaseUrl, dataDir: path.join(config.dataDir, 'db') });
  try {
    await migrate(db);
    const identity = await createIdentity({ config, db });
    const project = (await identity.findProject({ name: projectName })) ?? (await identity.createProject({ name: projectName }));
    let user = await identity.findUser({ name: userName });
    if (!user) user = await identity.createUser({ name: userName, password, defaultProjectId: project.id });
    else {
      const same = await identity.authenticatePassword({ name: userName }, password).then(
        () => true,
        () => false,
      );
      if (!same) await identity.setPassword(user.id, password);
    }
    await identity.assignRole(user.id, project.id, role);
    console.log(`User ${userName} (${user.id}) has role ${role} on project ${projectName} (${project.id}); storage account AUTH_${project.id}.`);
  } finally {
    await db.close();
  }
}
