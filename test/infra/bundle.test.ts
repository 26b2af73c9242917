// The deployment bundle: deterministic, stamped with the version, and runnable on its own with
// configuration from the environment (`node dist/api.js migrate`, then `node dist/api.js`).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBundle, readManifest, type BundleManifest } from '../../infra/bundle/build';
import { collectOutput as run, freePort, waitForUrl as waitForHealth } from '../helpers/process';

const root = path.join(__dirname, '..', '..');
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

let tmp: string;
let first: BundleManifest;
let second: BundleManifest;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bundle-'));
  first = await buildBundle({ outDir: path.join(tmp, 'a') });
  second = await buildBundle({ outDir: path.join(tmp, 'b') });
}, 60_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('bundle', () => {
  test('built twice gives byte-identical files and manifests', () => {
    const a = fs.readFileSync(path.join(tmp, 'a', 'manifest.json'));
    const b = fs.readFileSync(path.join(tmp, 'b', 'manifest.json'));
    expect(a.equals(b)).toBe(true);
    expect(second.bundleSha256).toBe(first.bundleSha256);
    for (const f of first.files) {
      expect(fs.readFileSync(path.join(tmp, 'b', f.path)).equals(fs.readFileSync(path.join(tmp, 'a', f.path)))).toBe(true);
    }
  });

  test('the manifest carries the version and the sha256 of every file on disk', () => {
    const manifest = readManifest(path.join(tmp, 'a'));
    expect(manifest.version).toBe(version);
    const paths = manifest.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['api.js', 'executor.js', 'functions-runtime/nodejs/server.js', 'functions-runtime/python3/server.py']));
    expect(paths).toEqual([...paths].sort());
    for (const f of manifest.files) {
      const bytes = fs.readFileSync(path.join(tmp, 'a', f.path));
      expect({ path: f.path, sha256: createHash('sha256').update(bytes).digest('hex') }).toEqual({ path: f.path, sha256: f.sha256 });
    }
    expect(manifest.external['@electric-sql/pglite']).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('the bundles hold the version and no absolute build path', () => {
    for (const file of ['api.js', 'executor.js']) {
      const text = fs.readFileSync(path.join(tmp, 'a', file), 'utf8');
      expect(text).toContain(`CAIRN_VERSION: ${JSON.stringify(version)}`);
      expect(text).not.toContain(root);
      expect(text).not.toContain(tmp);
    }
  });

  test('node api.js migrate, then node api.js serves GET /healthz with config from the environment', async () => {
    const dist = path.join(tmp, 'a');
    const dataDir = path.join(tmp, 'data');
    const port = await freePort();
    // Only the bundle directory and the environment: the runtimes and PGlite come from dist/.
    // No warm sandboxes (CAIRN_POOL_SIZE=0): the test is about start-up and health, not invocations.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CAIRN_HOST: '127.0.0.1', CAIRN_PORT: String(port), CAIRN_DATA_DIR: dataDir, CAIRN_POOL_SIZE: '0' };

    const migrate = await run(spawn(process.execPath, [path.join(dist, 'api.js'), 'migrate'], { cwd: os.tmpdir(), env }));
    expect(migrate.code).toBe(0);
    // A fresh embedded database may start from a migrated template (services/core/db/pglite-template.ts).
    expect(migrate.output).toMatch(/Applied migrations|Schema is up to date/);

    const server = spawn(process.execPath, [path.join(dist, 'api.js')], { cwd: os.tmpdir(), env });
    const done = run(server);
    try {
      const res = await waitForHealth(`http://127.0.0.1:${port}/healthz`, 40_000);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    } finally {
      server.kill('SIGTERM');
    }
    const { code, output } = await done;
    // The start line names the role since the api/executor split: `cairn-api <version> (…) listening`.
    expect(output).toMatch(new RegExp(`cairn-api ${version.replace(/\./g, '\\.')} .*listening`));
    expect(code).toBe(0);
  }, 60_000);
});
