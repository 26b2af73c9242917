#!/usr/bin/env node
// `cairn`: start the platform on this machine, or apply the database migrations.
// `tenant-clone` is an operator's tool for the Pulumi stacks (infra/pulumi/tenant-clone.ts),
// loaded only when asked for: it needs neither the platform's config nor its services.
import { migrateDatabase, processConfig, runMain, stopOnSignal } from './lifecycle';
import { startPlatform } from './platform';
import { USER_ADD_USAGE, UsageError, userAdd } from './user-add';

const USAGE = `usage: cairn <command>
  start     run api + executor on one port (CAIRN_PORT, default 8080), data in CAIRN_DATA_DIR (default ./.cairn)
  migrate   apply database migrations and exit
  ${USER_ADD_USAGE}
  tenant-clone --template <stack> --tenant <name> [--set key=value]… [--dir <dir>] [--run]
            prepare Pulumi.<name>.yaml from a template tenant stack (see docs/operations.md)`;

runMain(async () => {
  const command = process.argv[2] ?? 'start';
  if (command === 'tenant-clone') {
    const { tenantClone, TenantCloneError } = await import('../infra/pulumi/tenant-clone');
    try {
      return tenantClone(process.argv.slice(3), (line) => console.log(line));
    } catch (err) {
      if (!(err instanceof TenantCloneError)) throw err;
      console.error(`cairn tenant-clone: ${err.message}`);
      return err.exitCode;
    }
  }
  const config = processConfig();
  if (command === 'migrate') {
    await migrateDatabase(config);
    return 0;
  }
  if (command === 'user-add') {
    try {
      await userAdd(config, process.argv.slice(3));
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      console.error(err.message);
      return 2;
    }
    return 0;
  }
  if (command !== 'start') {
    console.error(USAGE);
    return 2;
  }
  const platform = await startPlatform(config);
  console.log(platform.banner());
  await stopOnSignal(platform, 'Cairn');
  return 0;
});
