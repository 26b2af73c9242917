// The contract between the manifests and the services: every workload's environment in the
// synthesized manifests is accepted by the services' configuration schema (loadConfig), and the
// bundle run with the migration Job's command and then each Deployment's command, with that
// environment (hosts pointed at loopback, the embedded database), serves its health endpoint,
// and the api and executor Deployments, started apart, run a function execution together.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBundle } from '../../infra/bundle/build';
import { APP_DIR, DATA_DIR } from '../../infra/k8s/platform-chart';
import type { ManifestObject } from '../../infra/k8s/schemas';
import { podSpecOf } from '../../infra/policy/workloads';
import { loadConfig } from '../../services/core/config';
import { allObjects, BUNDLE_SHA256, find, scenario } from './scenario';
import { collectOutput as collect, freePort, waitForUrl as waitFor } from '../helpers/process';
import { makeZip } from '../helpers/zip';

const ADMIN_PASSWORD = 'contract-admin-password';
const objects = allObjects(
  scenario({
    platform: {
      env: { CAIRN_REGION: 'RegionTwo', CAIRN_PUBLIC_URL: 'https://cairn.example.com' },
      // What the operator (or Pulumi/CDK) puts in the Secret.
      secretEnv: { CAIRN_INTERNAL_TOKEN: 'contract-test-internal-token-0123', CAIRN_ADMIN_PASSWORD: ADMIN_PASSWORD },
    },
  }),
);
const platformWorkloads = objects.filter((o) => (o.kind === 'Deployment' || o.kind === 'Job') && o.metadata.namespace === 'cairn');

interface Container {
  name: string;
  command?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: { httpGet?: { path: string } };
}

/** The environment a container gets from its envFrom ConfigMaps and Secrets and literal env. */
function environmentOf(workload: ManifestObject, container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  const ns = workload.metadata.namespace;
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, (find(objects.filter((o) => o.metadata.namespace === ns), 'ConfigMap', from.configMapRef.name) as { data?: object }).data);
    if (from.secretRef) {
      const secret = find(objects.filter((o) => o.metadata.namespace === ns), 'Secret', from.secretRef.name) as { data?: Record<string, string>; stringData?: Record<string, string> };
      for (const [k, v] of Object.entries(secret.data ?? {})) env[k] = Buffer.from(v, 'base64').toString('utf8');
      Object.assign(env, secret.stringData);
    }
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

function containersOf(workload: ManifestObject): Container[] {
  return (podSpecOf(workload)?.containers ?? []) as Container[];
}

describe('manifests ↔ services contract', () => {
  test('every platform workload environment is accepted by loadConfig', () => {
    expect(platformWorkloads.map((w) => w.metadata.name).sort()).toEqual(['cairn-api', 'cairn-executor', `cairn-migrate-${BUNDLE_SHA256.slice(0, 12)}`]);
    for (const workload of platformWorkloads) {
      for (const container of containersOf(workload)) {
        const config = loadConfig(environmentOf(workload, container));
        expect({ workload: workload.metadata.name, host: config.host, port: config.port, dataDir: config.dataDir, runtimeDir: config.executor.runtimeDir, region: config.region }).toEqual({
          workload: workload.metadata.name,
          host: '0.0.0.0',
          port: 8080,
          dataDir: DATA_DIR,
          runtimeDir: `${APP_DIR}/functions-runtime`,
          region: 'RegionTwo',
        });
      }
    }
  });

  describe('the bundle run as the manifests run it', () => {
    let tmp: string;
    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-contract-'));
      await buildBundle({ outDir: path.join(tmp, 'app') });
    }, 30_000);
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /**
     * The container's command with the image's /app pointed at the built bundle, its environment
     * pointed at loopback and a local data dir; cluster Service URLs become the loopback ports of
     * the other processes (`peers`).
     */
    async function start(workload: ManifestObject, dataDir: string, port?: number, peers: Record<string, number> = {}): Promise<{ child: ChildProcess; port: number; done: Promise<{ code: number | null; output: string }> }> {
      const [container] = containersOf(workload);
      const [program, ...args] = (container.command ?? []).map((a) => a.replace(APP_DIR, path.join(tmp, 'app')));
      expect(program).toBe('node');
      port ??= await freePort();
      const manifestEnv = environmentOf(workload, container);
      for (const [k, v] of Object.entries(manifestEnv)) {
        const m = /^http:\/\/(cairn-[a-z]+)\.cairn\.svc:\d+$/.exec(v);
        if (m) manifestEnv[k] = `http://127.0.0.1:${peers[m[1]]}`;
      }
      const env = {
        ...manifestEnv,
        // No Kubernetes API here: the executor runs its sandboxes with bubblewrap.
        ...(manifestEnv.CAIRN_SANDBOX ? { CAIRN_SANDBOX: 'bwrap' } : {}),
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        CAIRN_HOST: '127.0.0.1',
        CAIRN_PORT: String(port),
        CAIRN_DATA_DIR: dataDir,
        CAIRN_RUNTIME_DIR: path.join(tmp, 'app', 'functions-runtime'),
        // No warm sandboxes: this checks configuration and health, not invocations, and two
        // platforms warming pools at once would make the test slow on a 2-core machine.
        CAIRN_POOL_SIZE: '0',
      };
      const child = spawn(process.execPath, args, { cwd: tmp, env });
      return { child, port, done: collect(child) };
    }

    test('the migration Job completes, then the api and executor Deployments serve their readiness path', async () => {
      const template = path.join(tmp, 'data-migrated');
      const job = platformWorkloads.find((w) => w.kind === 'Job') as ManifestObject;
      const migration = await (await start(job, template)).done;
      // A fresh embedded database may start from a migrated template (services/core/db/pglite-template.ts).
      expect(migration.output).toMatch(/Applied migrations|Schema is up to date/);
      expect(migration.code).toBe(0);

      const deployments = platformWorkloads.filter((w) => w.kind === 'Deployment');
      // Each Deployment's Service, on a loopback port of its own.
      const peers: Record<string, number> = {};
      for (const d of deployments) peers[d.metadata.name] = await freePort();
      const started = await Promise.all(
        deployments.map(async (d) => {
          // Each Deployment gets its own data directory; the api's holds the migrated database.
          const dataDir = path.join(tmp, `data-${d.metadata.name}`);
          fs.cpSync(template, dataDir, { recursive: true });
          return { d, ...(await start(d, dataDir, peers[d.metadata.name], peers)) };
        }),
      );
      try {
        for (const { d, port } of started) {
          const probePath = containersOf(d)[0].readinessProbe?.httpGet?.path;
          expect(probePath).toBe(d.metadata.name === 'cairn-executor' ? '/readyz' : '/healthz');
          const res = await waitFor(`http://127.0.0.1:${port}${probePath}`, 45_000);
          expect([d.metadata.name, res.status]).toEqual([d.metadata.name, 200]);
        }
        await executeThroughTheSplit(`http://127.0.0.1:${peers['cairn-api']}`);
      } finally {
        for (const { child } of started) child.kill('SIGTERM');
      }
      for (const { d, done } of started) {
        const { code, output } = await done;
        expect([d.metadata.name, code, output]).toEqual([d.metadata.name, 0, expect.stringContaining('stopping')]);
      }
    }, 90_000);
  });
});

/** Creates a function on the api as admin and runs it sync: only the executor process can run it. */
async function executeThroughTheSplit(base: string): Promise<void> {
  const auth = await fetch(`${base}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', password: ADMIN_PASSWORD, domain: { name: 'Default' } } } },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    }),
  });
  expect(auth.status).toBe(201);
  const token = auth.headers.get('x-subject-token') as string;
  const runtimes = ((await (await fetch(`${base}/function/v1/runtimes`, { headers: { 'X-Auth-Token': token } })).json()) as { runtimes: { id: string; name: string }[] }).runtimes;
  const form = new FormData();
  form.append('runtime_id', runtimes.find((r) => r.name === 'python3')!.id);
  form.append('code', '{"source": "package"}');
  form.append('entry', 'hello.main');
  form.append('package', new Blob([await makeZip({ 'hello.py': "def main(name, **kw):\n    return 'Hello, %s' % name\n" })]), 'p.zip');
  const created = await fetch(`${base}/function/v1/functions`, { method: 'POST', headers: { 'X-Auth-Token': token }, body: form });
  const fn = (await created.json()) as { id: string };
  expect(created.status).toBe(201);
  const run = await fetch(`${base}/function/v1/executions`, {
    method: 'POST',
    headers: { 'X-Auth-Token': token, 'content-type': 'application/json' },
    body: JSON.stringify({ function_id: fn.id, sync: true, input: '{"name": "contract"}' }),
  });
  const e = (await run.json()) as { status: string; result: string };
  expect([run.status, e.status, JSON.parse(e.result).output]).toEqual([201, 'success', 'Hello, contract']);
}
