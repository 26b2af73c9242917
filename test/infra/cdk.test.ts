// The AWS target: `cdk synth` through the real CDK CLI, offline, and the template it writes holds
// the cluster, the bucket, the database with its secret, and the charts' manifests, which
// validate against the Kubernetes schemas and pass the policy rules.
import { Template } from 'aws-cdk-lib/assertions';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { buildBundle, type BundleManifest } from '../../infra/bundle/build';
import { validateManifest, type ManifestObject } from '../../infra/k8s/schemas';
import { ALL_RULES, evaluate } from '../../infra/policy';

const root = path.join(__dirname, '..', '..');
let tmp: string;
let bundle: BundleManifest;
let template: Template;
let raw: { Resources: Record<string, { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string }> };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cdk-'));
  bundle = await buildBundle({ outDir: path.join(tmp, 'dist') });
  const out = path.join(tmp, 'cdk.out');
  // The CLI of package.json, offline: no notices, no telemetry, no lookups.
  await promisify(execFile)(
    process.execPath,
    [path.join(root, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '--no-notices', '--quiet', '--output', out, '-c', `cairn:bundleDir=${path.join(tmp, 'dist')}`],
    { cwd: root, env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_DISABLE_VERSION_CHECK: 'true' }, timeout: 120_000 },
  );
  raw = JSON.parse(fs.readFileSync(path.join(out, 'Cairn.template.json'), 'utf8'));
  template = Template.fromJSON(raw);
}, 150_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The Kubernetes objects the stack applies to the cluster through the charts. */
function chartObjects(): ManifestObject[] {
  const manifests = Object.values(raw.Resources)
    .filter((r) => r.Type === 'Custom::AWSCDK-EKS-KubernetesResource')
    .map((r) => r.Properties?.Manifest as unknown);
  // EKS's own aws-auth ConfigMap holds role ARNs, so it is an Fn::Join; the charts' manifests
  // hold no CloudFormation tokens and stay plain JSON.
  const joined = manifests.filter((m) => typeof m !== 'string');
  expect(joined.map((m) => JSON.stringify(m).includes('\\"name\\":\\"aws-auth\\"'))).toEqual([true]);
  return manifests.filter((m): m is string => typeof m === 'string').flatMap((m) => JSON.parse(m) as ManifestObject[]);
}

describe('AWS CDK stack', () => {
  test('`cdk synth` runs offline and the template holds the cluster, bucket and database', () => {
    template.resourceCountIs('Custom::AWSCDK-EKS-Cluster', 1);
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', Properties: { VersioningConfiguration: { Status: 'Enabled' }, PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true } } });
    template.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Retain', Properties: { Engine: 'postgres', StorageEncrypted: true, DeletionProtection: true, DBName: 'cairn' } });
    template.resourceCountIs('AWS::SecretsManager::SecretTargetAttachment', 1);
    expect(raw.Resources[Object.keys(raw.Resources).find((k) => raw.Resources[k].Type === 'AWS::EC2::VPC') as string]).toBeDefined();
  });

  test("the chart's manifests are attached to the cluster, named after the bundle", () => {
    const objects = chartObjects();
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining(['Deployment/cairn-api', 'Deployment/cairn-executor', `Job/cairn-migrate-${bundle.bundleSha256.slice(0, 12)}`, 'Namespace/cairn-runtimes']));
    const api = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cairn-api') as any;
    expect(api.spec.template.spec.containers[0].image).toBe(`registry.example.com/cairn/cairn-api:${bundle.version}`);
  });

  test('every manifest of the template validates and passes every policy rule', () => {
    const objects = chartObjects();
    for (const obj of objects) expect(() => validateManifest(obj)).not.toThrow();
    expect(evaluate(ALL_RULES, objects)).toEqual([]);
  });
});
