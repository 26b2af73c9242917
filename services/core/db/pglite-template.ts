// A fresh PGlite cluster takes 5–9 s to initialise on these machines (initdb inside WASM) and
// another second or two to migrate, and every new data directory needs one: the first `npm start`
// and every test platform. All fresh, migrated clusters of one PGlite version and one migration
// history are identical, so the first one is kept in the user's cache and later data directories
// start as a copy of it (~0.2 s).
import { PGlite } from '@electric-sql/pglite';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Migration } from './migrate';
import { migrate } from './migrate';
import { MIGRATIONS } from './migrations';
import { pgliteDatabase } from './database';

const READY = '.cairn-template-ready';

function pgliteVersion(): string {
  // The exact version pinned in package.json: a cluster from another version must not be reused.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../package.json') as { dependencies: Record<string, string> }).dependencies['@electric-sql/pglite'];
}

/** The cache directory of fresh clusters, keyed by PGlite version and migration history. @default ~/.cache/cairn */
function templateDir(migrations: readonly Migration[]): string {
  const history = createHash('sha256');
  for (const m of migrations) history.update(`${m.version}\0${m.sql}\0`);
  return path.join(os.homedir(), '.cache', 'cairn', `pglite-${pgliteVersion()}-${history.digest('hex').slice(0, 16)}`);
}

function isEmptyDir(dir: string): boolean {
  return !fs.existsSync(dir) || fs.readdirSync(dir).length === 0;
}

/**
 * Makes `dataDir` hold a fresh cluster with every migration applied if it is empty or missing;
 * leaves an existing one alone (the caller still runs `migrate`, which then has nothing to do).
 */
export async function seedPGliteDataDir(dataDir: string, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  if (!isEmptyDir(dataDir)) return;
  const template = templateDir(migrations);
  if (fs.existsSync(path.join(template, READY))) {
    fs.cpSync(template, dataDir, { recursive: true, filter: (src) => path.basename(src) !== READY });
    return;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const fresh = await PGlite.create(dataDir);
  await migrate(pgliteDatabase(fresh), migrations);
  await fresh.close();
  // Publish the template atomically: copy beside it, mark it ready, rename into place. A
  // concurrent first start may win the rename; its template is just as good.
  const staging = `${template}.tmp-${process.pid}`;
  try {
    fs.mkdirSync(path.dirname(template), { recursive: true, mode: 0o700 });
    fs.rmSync(staging, { recursive: true, force: true });
    fs.cpSync(dataDir, staging, { recursive: true });
    fs.writeFileSync(path.join(staging, READY), '');
    fs.renameSync(staging, template);
  } catch {
    // No cache (read-only home, a race lost): the next fresh start initialises again.
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
