// Entry point of the api bundle (`dist/api.js`, the `cairn-api` image): `node dist/api.js` serves,
// `node dist/api.js migrate` applies the database migrations and exits (`cairn migrate`, run by the
// Kubernetes migration Job). Configuration comes from the CAIRN_* environment, read once here.
//
// The api/executor split into separate processes is not built yet: for now this entry starts the
// one-process platform (api + executor, as `npm start` does). When the split lands, this file
// starts only the api surfaces and executor-main.ts only the executor.
import { migrateDatabase, processConfig, runMain, stopOnSignal } from './lifecycle';
import { startPlatform } from './platform';

runMain(async () => {
  const config = processConfig();
  const command = process.argv[2] ?? 'start';
  if (command === 'migrate') {
    await migrateDatabase(config);
    return 0;
  }
  if (command !== 'start') {
    console.error('usage: node api.js [start|migrate]');
    return 2;
  }
  const platform = await startPlatform(config);
  console.log(`cairn-api ${config.version} listening at ${platform.baseUrl}`);
  await stopOnSignal(platform, 'cairn-api');
  return 0;
});
