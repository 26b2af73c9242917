// A storage-only api server on 127.0.0.1:0: fresh data directory, PGlite, the fs backend, and real
// identity with two projects whose members' tokens the tests use. Each test file starts one in
// beforeAll and stops it in afterAll.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApiServer, type ApiServer } from '../../../../services/api/server';
import { createStorageSurface } from '../../../../services/api/storage';
import { loadConfig, type Config } from '../../../../services/core/config';
import { openDatabase, type Database } from '../../../../services/core/db/database';
import { migrate } from '../../../../services/core/db/migrate';
import { BwrapRunExecutor } from '../../../../services/executor/runs/run-executor';
import { createObjectBackend, type ObjectBackend } from '../../../../services/core/objectstore';
import { createIdentity } from '../../../../services/core/identity';

// PGlite's first start and big uploads take seconds on a busy 2-core machine.
jest.setTimeout(60_000);

// Set by startStorage() from real identity: project A is the bootstrap `demo` project (its user's
// token is TOKEN_A), project B a second one whose member alice holds TOKEN_B.
export let TOKEN_A = '';
export let TOKEN_B = '';
export let PROJECT_A = '';
export let PROJECT_B = '';
export let USER_B = '';

export interface StorageHarness {
  base: string;
  /** `<base>/v1/AUTH_<PROJECT_A>` */
  accountUrl: string;
  dataDir: string;
  config: Config;
  db: Database;
  backend: ObjectBackend;
  /** fetch with the project A token unless `token` says otherwise (null: no token). */
  req(method: string, urlPath: string, opts?: { token?: string | null; headers?: Record<string, string>; body?: Buffer | string }): Promise<{ status: number; headers: Headers; text: string; body: Buffer }>;
  stop(): Promise<void>;
}

/** `runs`: also run tenant code next to the data (ZeroCloud, storlets) in real bwrap sandboxes; `env`: more CAIRN_* settings. */
export async function startStorage(opts: { runs?: boolean; env?: Record<string, string> } = {}): Promise<StorageHarness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-storage-'));
  const config = loadConfig({}, { CAIRN_PORT: '0', CAIRN_DATA_DIR: dataDir, ...opts.env });
  const db = await openDatabase({ dataDir: path.join(dataDir, 'db') });
  await migrate(db);
  const backend = createObjectBackend(config, db);
  const identity = await createIdentity({ config, db });
  const { demo } = await identity.bootstrap();
  const other = await identity.createProject({ name: 'other' });
  const alice = await identity.createUser({ name: 'alice', password: 'alice-password', defaultProjectId: other.id });
  await identity.assignRole(alice.id, other.id, 'member');
  PROJECT_A = demo.projectId;
  PROJECT_B = other.id;
  USER_B = alice.id;
  TOKEN_A = (await identity.issueToken({ userId: demo.userId, projectId: demo.projectId })).token;
  TOKEN_B = (await identity.issueToken({ userId: alice.id, projectId: other.id })).token;
  const validator = identity;
  const runs = opts.runs ? new BwrapRunExecutor(config) : undefined;
  let port = 0;
  const server: ApiServer = createApiServer({
    surfaces: [createStorageSurface({ config, db, backend, validator, runs })],
    baseUrl: () => `http://127.0.0.1:${port}`,
  });
  port = await server.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    accountUrl: `${base}/v1/AUTH_${PROJECT_A}`,
    dataDir,
    config,
    db,
    backend,
    async req(method, urlPath, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const token = opts.token === undefined ? TOKEN_A : opts.token;
      if (token) headers['X-Auth-Token'] = token;
      const url = urlPath.startsWith('http') ? urlPath : urlPath.startsWith('/') ? `${base}${urlPath}` : `${base}/v1/AUTH_${PROJECT_A}/${urlPath}`;
      const res = await fetch(url, { method, headers, body: opts.body });
      const body = Buffer.from(await res.arrayBuffer());
      return { status: res.status, headers: res.headers, text: body.toString('utf8'), body };
    },
    async stop() {
      await server.close();
      runs?.close();
      await db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs the real `swift` CLI (python-swiftclient 4.1.0) with `--os-storage-url`/`--os-auth-token`,
 * skipping auth as the spec describes. stdout comes back as bytes (downloads to `-o -`).
 */
export function runSwift(
  args: string[],
  opts: { storageUrl: string; token: string; cwd: string; home: string; stdin?: Buffer },
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      '/usr/bin/swift',
      ['--os-storage-url', opts.storageUrl, '--os-auth-token', opts.token, ...args],
      { cwd: opts.cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.home, LANG: 'C.UTF-8' }, maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() }),
    );
    child.stdin?.end(opts.stdin);
  });
}
