// How a Cairn process lives: the `cairn` command and the bundles' entry points share reading the
// configuration, migrating, stopping cleanly on a signal, and turning problems a user can fix
// into one clear message instead of a stack trace.
import * as path from 'node:path';
import { ConfigError, loadConfig, type Config } from './core/config';
import { openDatabase } from './core/db/database';
import { migrate } from './core/db/migrate';
import { HostError, type Platform } from './platform';

/** Set by the bundler (infra/bundle/build.ts) to the platform version; absent when run from source. */
declare const CAIRN_BUNDLE_VERSION: string | undefined;

/**
 * The configuration from the CAIRN_* environment. Inside a bundle `__dirname` is dist/, where the
 * build copies functions-runtime/; the config's own default (relative to services/core) holds only
 * from source. These are defaults: the environment still wins (an image may mount them elsewhere).
 */
export function processConfig(): Config {
  if (typeof CAIRN_BUNDLE_VERSION !== 'string') return loadConfig(process.env);
  // The version is the bundle's, not a setting: an environment could only contradict it.
  return loadConfig({ CAIRN_RUNTIME_DIR: path.join(__dirname, 'functions-runtime'), ...process.env, CAIRN_VERSION: CAIRN_BUNDLE_VERSION });
}

/** Applies the database migrations and reports what it did (`cairn migrate`, the migration Job). */
export async function migrateDatabase(config: Config): Promise<void> {
  const db = await openDatabase({ url: config.databaseUrl, dataDir: path.join(config.dataDir, 'db') });
  try {
    const applied = await migrate(db);
    console.log(applied.length ? `Applied migrations ${applied.join(', ')}.` : 'Schema is up to date.');
  } finally {
    await db.close();
  }
}

/**
 * Resolves once the platform has stopped after SIGINT or SIGTERM (how Kubernetes ends a pod):
 * running calls finish or are recorded, sandboxes are stopped, nothing is left behind.
 */
export function stopOnSignal(platform: Pick<Platform, 'stop'>, name: string): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping ${name}…`);
      platform.stop().then(resolve, (err) => {
        console.error(err);
        resolve();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

/** Runs a process's main and exits with its code; a problem the user can fix is one message. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof ConfigError || err instanceof HostError ? err.message : err);
      process.exit(1);
    },
  );
}
