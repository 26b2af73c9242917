// Entry point of the executor bundle (`dist/executor.js`, the `cairn-executor` image). It takes
// its configuration from the CAIRN_* environment, read once here.
//
// With CAIRN_ROLE=executor (the chart's setting) it runs only the executor: sandboxes and the
// internal API the api calls (executor-process.ts). With the default CAIRN_ROLE=all it starts the
// one-process platform, so the bundle alone is still a working deployment.
import { startExecutorProcess } from './executor-process';
import { processConfig, runMain, stopOnSignal } from './lifecycle';
import { startPlatform } from './platform';

runMain(async () => {
  const config = processConfig();
  if (config.role === 'api') {
    console.error('CAIRN_ROLE=api: this is the executor bundle; run api.js for the api role');
    return 2;
  }
  if (config.role === 'executor') {
    const executor = await startExecutorProcess(config);
    console.log(`cairn-executor ${config.version} listening at ${executor.baseUrl} (executor role, api at ${config.internal.apiUrl})`);
    await stopOnSignal(executor, 'cairn-executor');
    return 0;
  }
  const platform = await startPlatform(config);
  console.log(`cairn-executor ${config.version} running (api at ${platform.baseUrl})`);
  await stopOnSignal(platform, 'cairn-executor');
  return 0;
});
