// Entry point of the executor bundle (`dist/executor.js`, the `cairn-executor` image). It takes
// its configuration from the CAIRN_* environment, read once here.
//
// The api/executor split into separate processes is not built yet: for now this entry starts the
// same one-process platform as api-main.ts (api + executor, as `npm start` does), so each bundle
// is a working deployment on its own. When the split lands, this file starts only the executor,
// reaching the api and the database through the same interfaces as in local mode.
import * as path from 'node:path';
import { ConfigError, loadConfig, type Config } from './core/config';
import { HostError, startPlatform } from './platform';

/** Set by the bundler (infra/bundle/build.ts) to the platform version; absent when run from source. */
declare const CAIRN_BUNDLE_VERSION: string | undefined;

function readConfig(): Config {
  if (typeof CAIRN_BUNDLE_VERSION !== 'string') return loadConfig(process.env);
  // Inside the bundle __dirname is dist/, where the build copies functions-runtime/ (see
  // api-main.ts); the environment still wins over these defaults.
  return loadConfig({
    CAIRN_VERSION: CAIRN_BUNDLE_VERSION,
    CAIRN_RUNTIME_DIR: path.join(__dirname, 'functions-runtime'),
    ...process.env,
  });
}

async function main(): Promise<void> {
  const config = readConfig();
  const platform = await startPlatform(config);
  console.log(`cairn-executor ${config.version} running (api at ${platform.baseUrl})`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      console.log(`${signal}: stopping cairn-executor`);
      platform.stop().then(resolve, (err) => {
        console.error(err);
        resolve();
      });
    };
    // SIGTERM is how Kubernetes ends a pod: running executions finish or are recorded as failed.
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    // Problems an operator can fix get one clear message, not a stack trace.
    console.error(err instanceof ConfigError || err instanceof HostError ? err.message : err);
    process.exit(1);
  },
);
