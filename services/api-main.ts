// Entry point of the api bundle (`dist/api.js`, the `cairn-api` image): `node dist/api.js` serves,
// `node dist/api.js migrate` applies the database migrations and exits (`cairn migrate`, run by the
// Kubernetes migration Job). Configuration comes from the CAIRN_* environment, read once here.
//
// With CAIRN_ROLE=api (the chart's setting) it serves the api surfaces and hands executions to the
// executor at CAIRN_EXECUTOR_URL; with the default CAIRN_ROLE=all it is the one-process platform
// (api + executor, as `npm start` runs it).
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
  if (config.role === 'executor') {
    console.error('CAIRN_ROLE=executor: this is the api bundle; run executor.js for the executor role');
    return 2;
  }
  const platform = await startPlatform(config);
  console.log(`cairn-api ${config.version} listening at ${platform.baseUrl} (${config.role === 'api' ? `api role, executor at ${config.internal.executorUrl}` : 'api + executor'})`);
  await stopOnSignal(platform, 'cairn-api');
  return 0;
});
