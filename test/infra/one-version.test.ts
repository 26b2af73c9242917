// One version for everything: the platform version of package.json is the one found in the
// bundles, dist/manifest.json, every object and pod template of the synthesized manifests, the
// Pulumi platform component's outputs (mocked providers) and the api's version documents served by
// the built bundle. Built and synthesized from the same build, so a place that takes its version
// from anywhere else fails here.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBundle, readManifest, type BundleManifest } from '../../infra/bundle/build';
import { createCairnApp } from '../../infra/k8s/app';
import { VERSION_ANNOTATION } from '../../infra/k8s/labels';
import type { ManifestObject } from '../../infra/k8s/schemas';
import { podSpecOf } from '../../infra/policy/workloads';
import { VERSION_HEADER } from '../../services/api/functions';
import { collectOutput, freePort, waitForUrl } from '../helpers/process';
import { Testing } from 'cdk8s';
import { mockProviders, value } from './pulumi-mocks';

const root = path.join(__dirname, '..', '..');
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const VERSION_LABEL = 'app.kubernetes.io/version';

let tmp: string;
let manifest: BundleManifest;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-version-'));
  await buildBundle({ outDir: path.join(tmp, 'app') });
  manifest = readManifest(path.join(tmp, 'app'));
}, 60_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The pod template metadata of a workload (Deployment, Job …). */
function templateMetadataOf(obj: ManifestObject): { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined {
  const spec = (obj as { spec?: { template?: { metadata?: object }; jobTemplate?: { spec?: { template?: { metadata?: object } } } } }).spec;
  return spec?.template?.metadata ?? spec?.jobTemplate?.spec?.template?.metadata;
}

describe('one version', () => {
  test('dist/manifest.json carries the version of package.json', () => {
    expect(manifest.version).toBe(version);
  });

  test('each bundle starts with its version and has it compiled in', () => {
    for (const file of ['api.js', 'executor.js']) {
      const text = fs.readFileSync(path.join(tmp, 'app', file), 'utf8');
      expect({ file, banner: text.split('\n', 1)[0] }).toEqual({ file, banner: `// Cairn ${manifest.version}` });
      // The `define` of CAIRN_BUNDLE_VERSION: no identifier is left for the environment to fill.
      expect(text).not.toMatch(/typeof CAIRN_BUNDLE_VERSION/);
    }
  });

  test('every object, pod template and image of the synthesized manifests carries it', () => {
    const app = createCairnApp({ version: manifest.version, bundleSha256: manifest.bundleSha256, registry: 'registry.test/cairn', outdir: path.join(tmp, 'k8s'), tenants: [{ tenant: 'template' }] });
    const objects = app.app.charts.flatMap((chart) => Testing.synth(chart) as ManifestObject[]);
    const workloads = objects.filter((o) => podSpecOf(o));
    expect(workloads.map((w) => w.kind).sort()).toEqual(expect.arrayContaining(['Deployment', 'Job']));
    for (const obj of objects) {
      expect({ obj: `${obj.kind}/${obj.metadata.name}`, version: obj.metadata.labels?.[VERSION_LABEL] }).toEqual({ obj: `${obj.kind}/${obj.metadata.name}`, version: manifest.version });
    }
    for (const w of workloads) {
      const meta = templateMetadataOf(w);
      const name = `${w.kind}/${w.metadata.name}`;
      expect({ name, label: meta?.labels?.[VERSION_LABEL], annotation: meta?.annotations?.[VERSION_ANNOTATION] }).toEqual({ name, label: manifest.version, annotation: manifest.version });
      for (const c of podSpecOf(w)?.containers ?? []) expect({ name, image: c.image }).toEqual({ name, image: expect.stringMatching(new RegExp(`:${manifest.version.replace(/\./g, '\\.')}$`)) });
    }
  });

  test('the Pulumi platform stack outputs it and labels every Kubernetes resource with it (mocked providers)', async () => {
    const created = await mockProviders('one-version');
    const { ExistingCluster } = await import('../../infra/pulumi/existing-cluster');
    const { CairnPlatform } = await import('../../infra/pulumi/platform');
    const cluster = new ExistingCluster('cluster', { kubeconfig: 'apiVersion: v1\nkind: Config\n' });
    const platform = new CairnPlatform('cairn', { provider: cluster.provider, version: manifest.version, bundleSha256: manifest.bundleSha256, registry: 'registry.test/cairn' });
    expect(await value(platform.version)).toBe(manifest.version);
    // Every child registered with the (mocked) engine before the inputs are read.
    await Promise.all([platform, ...platform.resources.values()].map((r) => value(r.urn)));
    const kube = created.filter((c) => c.type.startsWith('kubernetes:') && !c.type.startsWith('kubernetes:index'));
    expect(kube.length).toBeGreaterThan(10);
    for (const c of kube) expect({ name: c.name, version: c.inputs.metadata?.labels?.[VERSION_LABEL] }).toEqual({ name: c.name, version: manifest.version });
  });

  test("the api bundle's version documents and header name it, whatever CAIRN_VERSION the environment sets", async () => {
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CAIRN_HOST: '127.0.0.1',
      CAIRN_PORT: String(port),
      CAIRN_DATA_DIR: path.join(tmp, 'data'),
      CAIRN_POOL_SIZE: '0',
      CAIRN_VERSION: '9.9.9-contradiction',
    };
    const api = path.join(tmp, 'app', 'api.js');
    expect((await collectOutput(spawn(process.execPath, [api, 'migrate'], { cwd: os.tmpdir(), env }))).code).toBe(0);
    const server = spawn(process.execPath, [api], { cwd: os.tmpdir(), env });
    const done = collectOutput(server);
    try {
      await waitForUrl(`http://127.0.0.1:${port}/healthz`, 40_000);
      const root = await fetch(`http://127.0.0.1:${port}/function/`);
      expect(root.headers.get(VERSION_HEADER)).toBe(manifest.version);
      expect(await root.json()).toMatchObject({ versions: [{ id: 'v1.0', status: 'CURRENT' }], platform: { name: 'cairn', version: manifest.version } });
      const v1 = await fetch(`http://127.0.0.1:${port}/function/v1`);
      expect(v1.headers.get(VERSION_HEADER)).toBe(manifest.version);
      expect(await v1.json()).toEqual({ uri: `http://127.0.0.1:${port}/function/v1`, platform: { name: 'cairn', version: manifest.version } });
      // An authenticated route too: the header is on every function API response, errors included.
      const unauthorised = await fetch(`http://127.0.0.1:${port}/function/v1/functions`);
      expect({ status: unauthorised.status, version: unauthorised.headers.get(VERSION_HEADER) }).toEqual({ status: 401, version: manifest.version });
      const info = (await (await fetch(`http://127.0.0.1:${port}/info`)).json()) as { swift: { version: string } };
      expect(info.swift.version).toBe(manifest.version);
    } finally {
      server.kill('SIGTERM');
    }
    const { output } = await done;
    expect(output).toContain(`cairn-api ${manifest.version} `);
  }, 60_000);
});
