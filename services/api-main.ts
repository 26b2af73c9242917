// Entry point of the api bundle (`dist/api.js`, the `cairn-api` image): `node dist/api.js` serves,
// `node dist/api.js migrate` applies the database migrations and exits (`cairn migrate`, run by the
// Kubernetes migration Job). Configuration comes from the CAIRN_* environment, read once here.
//
// The api/executor split into separate processes is not built yet: for now this entry starts the
// one-process platform (api + executor, as `npm start` does). When the split lands, this file
// starts only the api surfaces and executor-main.ts only the executor.
import * as path from 'node:path';
import { ConfigError, loadConfig, type Config } from './core/config';
import { HostError, startPlatform } from './platform';

/** Set by the bundler (infra/bundle/build.ts) to the platform version; absent when run from source. */
declare const CAIRN_BUNDLE_VERSION: string | undefined;

function readConfig(): Config {
  if (typeof CAIRN_BUNDLE_VERSION !== 'string') return loadConfig(process.env);
  // Inside the bundle __dirname is dist/, where the build copies functions-runtime/; the config's
  // own default (relative to services/core) only holds when running from source. These are
  // defaults: the environment still wins (an image may mount the runtimes elsewhere).
  return loadConfig({
    CAIRN_VERSION: CAIRN_BUNDLE_VERSION,
    CAIRN_RUNTIME_DIR: path.join(__dirname, 'functions-runtime'),
    ...process.env,
  });
}

async function migrateAndExit(config: Config): Promise<void> {
  const { openDatabase } = await import('./core/db/database');
  const { migrate } = await import('./core/db/migrate');
  const db = await openDatabase({ url: config.databaseUrl, dataDir: path.join(config.dataDir, 'db') });
  try {
    const applied = await migrate(db);
    console.log(applied.length ? `Applied migrations ${applied.join(', ')}.` : 'Schema is up to date.');
  } finally {
    await db.close();
  }
}

async function serveUntilSignal(config: Config): Promise<void> {
  const platform = await startPlatform(config);
  console.log(`cairn-api ${config.version} listening at ${platform.baseUrl}`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      console.log(`${signal}: stopping cairn-api`);
      platform.stop().then(resolve, (err) => {
        console.error(err);
        resolve();
      });
    };
    // SIGTERM is how Kubernetes ends a pod; it must drain, not die mid-request.
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

async function main(argv: string[]): Promise<number> {
  const config = readConfig();
  const command = argv[0] ?? 'start';
  if (command === 'migrate') await migrateAndExit(config);
  else if (command === 'start') await serveUntilSignal(config);
  else {
    console.error('usage: node api.js [start|migrate]');
    return 2;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Problems an operator can fix get one clear message, not a stack trace.
    console.error(err instanceof ConfigError || err instanceof HostError ? err.message : err);
    process.exit(1);
  },
);
