// Entry of the CDK app (cdk.json `app`): `npx cdk synth` works offline from a clean checkout
// after `npm run build` (no context lookups: the stack is environment-agnostic).
import { App } from 'aws-cdk-lib';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BundleManifest } from '../bundle/build';
import { CairnAwsStack } from './cairn-aws-stack';

const app = new App();
/** The bundle deployed: `dist/` of `npm run build`, or `-c cairn:bundleDir=<dir>`. */
const bundleDir = (app.node.tryGetContext('cairn:bundleDir') as string | undefined) ?? path.join(__dirname, '..', '..', 'dist');
const manifestFile = path.join(bundleDir, 'manifest.json');
if (!fs.existsSync(manifestFile)) {
  console.error(`${manifestFile} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as BundleManifest;
new CairnAwsStack(app, 'Cairn', {
  version: manifest.version,
  bundleSha256: manifest.bundleSha256,
  // An ECR repository path, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/cairn.
  registry: (app.node.tryGetContext('cairn:registry') as string | undefined) ?? 'registry.example.com/cairn',
  description: `Cairn ${manifest.version}`,
});
app.synth();
