// `npm run synth`: writes the manifests of the current bundle to dist/k8s/ as plain YAML that
// `kubectl apply -f dist/k8s/` takes (runtime-pools first: it creates the namespace the
// executor's Role lives in). Every object is validated against its Kubernetes schema and the
// policy rules first.
//
//   npm run synth -- --registry registry.example.com/cairn --tenant template --tenant acme
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readManifest } from '../bundle/build';
import { ALL_RULES, evaluate } from '../policy';
import { createCairnApp } from './app';
import { validateManifest, type ManifestObject } from './schemas';

/** Used when no --registry is given; operators push the images to their own registry. */
export const DEFAULT_REGISTRY = 'registry.example.com/cairn';

function main(): void {
  const root = path.join(__dirname, '..', '..');
  const { values } = parseArgs({
    options: {
      registry: { type: 'string', default: DEFAULT_REGISTRY },
      tenant: { type: 'string', multiple: true, default: ['template'] },
      out: { type: 'string', default: path.join(root, 'dist', 'k8s') },
    },
  });
  const distDir = path.join(root, 'dist');
  if (!fs.existsSync(path.join(distDir, 'manifest.json'))) throw new Error('dist/manifest.json is missing: run `npm run build` first');
  const manifest = readManifest(distDir);
  const outdir = path.resolve(values.out);
  const { app } = createCairnApp({
    version: manifest.version,
    bundleSha256: manifest.bundleSha256,
    registry: values.registry,
    outdir,
    tenants: values.tenant.map((tenant) => ({ tenant })),
  });
  const objects = app.charts.flatMap((chart) => chart.toJson() as ManifestObject[]);
  for (const obj of objects) validateManifest(obj);
  // Nothing is written that breaks the deployment policy (infra/policy).
  const violations = evaluate(ALL_RULES, objects);
  if (violations.length) throw new Error(`The manifests break the policy:\n${violations.map((v) => `  - ${v.rule}: ${v.object}: ${v.message}`).join('\n')}`);
  fs.rmSync(outdir, { recursive: true, force: true });
  app.synth();
  console.log(`Wrote ${fs.readdirSync(outdir).sort().join(', ')} to ${path.relative(process.cwd(), outdir) || '.'} (Cairn ${manifest.version}, bundle ${manifest.bundleSha256.slice(0, 12)})`);
}

try {
  const started = Date.now();
  main();
  console.log(`Synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
