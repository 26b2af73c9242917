#!/usr/bin/env node
// `cairn`: start the platform on this machine, or apply the database migrations.
import { ConfigError, loadConfig } from './core/config';
import { HostError, startPlatform } from './platform';

const USAGE = `usage: cairn <command>
  start     run api + executor on one port (CAIRN_PORT, default 8080), data in CAIRN_DATA_DIR (default ./.cairn)
  migrate   apply database migrations and exit`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'start';
  const config = loadConfig();
  if (command === 'migrate') {
    const { openDatabase } = await import('./core/db/database');
    const { migrate } = await import('./core/db/migrate');
    const db = await openDatabase({ url: config.databaseUrl, dataDir: `${config.dataDir}/db` });
    const applied = await migrate(db);
    console.log(applied.length ? `Applied migrations ${applied.join(', ')}.` : 'Schema is up to date.');
    await db.close();
    return 0;
  }
  if (command !== 'start') {
    console.error(USAGE);
    return 2;
  }
  const platform = await startPlatform(config);
  console.log(platform.banner());
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping Cairn…`);
      platform.stop().then(resolve, (err) => {
        console.error(err);
        resolve();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Problems a user can fix get one clear message, not a stack trace.
    if (err instanceof ConfigError || err instanceof HostError) console.error(err.message);
    else console.error(err);
    process.exit(1);
  },
);
