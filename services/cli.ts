#!/usr/bin/env node
// `cairn`: start the platform on this machine, or apply the database migrations.
import { migrateDatabase, processConfig, runMain, stopOnSignal } from './lifecycle';
import { startPlatform } from './platform';

const USAGE = `usage: cairn <command>
  start     run api + executor on one port (CAIRN_PORT, default 8080), data in CAIRN_DATA_DIR (default ./.cairn)
  migrate   apply database migrations and exit`;

runMain(async () => {
  const command = process.argv[2] ?? 'start';
  const config = processConfig();
  if (command === 'migrate') {
    await migrateDatabase(config);
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
