// Entry point of the executor bundle (`dist/executor.js`, the `cairn-executor` image). It takes
// its configuration from the CAIRN_* environment, read once here.
//
// The api/executor split into separate processes is not built yet: for now this entry starts the
// same one-process platform as api-main.ts (api + executor, as `npm start` does), so each bundle
// is a working deployment on its own. When the split lands, this file starts only the executor,
// reaching the api and the database through the same interfaces as in local mode.
import { processConfig, runMain, stopOnSignal } from './lifecycle';
import { startPlatform } from './platform';

runMain(async () => {
  const config = processConfig();
  const platform = await startPlatform(config);
  console.log(`cairn-executor ${config.version} running (api at ${platform.baseUrl})`);
  await stopOnSignal(platform, 'cairn-executor');
  return 0;
});
