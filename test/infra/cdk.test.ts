// The AWS target: `cdk synth` through the real CDK CLI, offline, and the template it writes holds
// the cluster, the bucket, the database with its secret, and the charts' manifests, which
// validate against the Kubernetes schemas and pass the policy rules; the api reaches the bucket
// through an IRSA role scoped to it, and the chart's Secret is filled in the cluster from Secrets
// Manager, so no password is in the template. (One synth serves every test: it takes seconds.)
import { Template } from 'aws-cdk-lib/assertions';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { buildBundle, type BundleManifest } from '../../infra/bundle/build';
import { EXTERNAL_SECRETS_CHART } from '../../infra/cdk/secret-sync';
import { validateManifest, type ManifestObject } from '../../infra/k8s/schemas';
import { ALL_RULES, evaluate } from '../../infra/policy';
import { loadConfig } from '../../services/core/config';

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

/**
 * A CloudFormation reference inside a manifest, as the text the test reads in its place:
 * `<Ref:Id>` or `<Id.Attr>` (no quote or backslash, so the JSON around it stays valid).
 */
function placeholder(part: unknown): string {
  const p = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (p.Ref) return `<Ref:${p.Ref}>`;
  if (p['Fn::GetAtt']) return `<${p['Fn::GetAtt'].join('.')}>`;
  throw new Error(`unexpected intrinsic in a manifest: ${JSON.stringify(part)}`);
}

/** A manifest property rendered to JSON: plain, or an Fn::Join of text and references. */
function render(manifest: unknown): string {
  if (typeof manifest === 'string') return manifest;
  const [sep, parts] = (manifest as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((part) => (typeof part === 'string' ? part : placeholder(part))).join(sep);
}

/** Every Kubernetes object the stack applies to the cluster (charts, service accounts, secret sync, aws-auth). */
function chartObjects(): ManifestObject[] {
  return Object.values(raw.Resources)
    .filter((r) => r.Type === 'Custom::AWSCDK-EKS-KubernetesResource')
    .flatMap((r) => JSON.parse(render(r.Properties?.Manifest)) as ManifestObject[]);
}

function find(objects: ManifestObject[], kind: string, name: string): any {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0];
}

/** The logical id of the only resource of a type. */
function logicalId(type: string): string {
  const ids = Object.keys(raw.Resources).filter((k) => raw.Resources[k].Type === type);
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** The IAM policies attached to the role `roleId`. */
function policiesOf(roleId: string): any[] {
  return Object.values(raw.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.Roles as unknown[]).some((x) => JSON.stringify(x) === JSON.stringify({ Ref: roleId })))
    .map((r) => r.Properties?.PolicyDocument);
}

/** The role an IRSA ServiceAccount names, after checking its trust is that account only. */
function irsaRole(sa: any): string {
  const roleId = /^<(.+)\.Arn>$/.exec(sa.metadata.annotations['eks.amazonaws.com/role-arn'])?.[1] as string;
  expect(raw.Resources[roleId]?.Type).toBe('AWS::IAM::Role');
  const trust = JSON.stringify(raw.Resources[roleId].Properties?.AssumeRolePolicyDocument);
  expect(trust).toContain('sts:AssumeRoleWithWebIdentity');
  // The subject condition (a CfnJson resource, its keys hold the issuer URL) names the account.
  const conditionId = /"Fn::GetAtt":\["([^"]+)","Value"\]/.exec(trust)?.[1] as string;
  expect(JSON.stringify(raw.Resources[conditionId].Properties)).toContain(`system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`);
  return roleId;
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
    // The External Secrets Operator's kinds have no kubernetes-models schema; their shape is checked below.
    for (const obj of objects.filter((o) => !o.apiVersion.startsWith('external-secrets.io/'))) expect(() => validateManifest(obj)).not.toThrow();
    expect(evaluate(ALL_RULES, objects)).toEqual([]);
  });

  test('the ConfigMap selects the s3 backend with the stack\'s bucket and region, and the pods load it', () => {
    const objects = chartObjects();
    const data = find(objects, 'ConfigMap', 'cairn-config').data;
    const bucketId = logicalId('AWS::S3::Bucket');
    expect(data).toMatchObject({ CAIRN_OBJECT_STORE: 's3', CAIRN_S3_BUCKET: `<Ref:${bucketId}>`, CAIRN_S3_REGION: '<Ref:AWS::Region>' });
    expect(Object.keys(data).filter((k) => /S3_(ACCESS|SECRET)/.test(k))).toEqual([]);
    // What each container sees: the ConfigMap, the keys the secret sync writes into the Secret
    // (sample values here), and its own env; the services' config loader accepts it.
    const secretKeys = Object.keys(find(objects, 'ExternalSecret', 'cairn-secret').spec.target.template.data);
    const secret = Object.fromEntries(secretKeys.map((k) => [k, k === 'CAIRN_DATABASE_URL' ? 'postgres://cairn:pw@db.internal:5432/cairn?sslmode=require' : 'x'.repeat(48)]));
    for (const name of ['cairn-api', 'cairn-executor']) {
      const container = find(objects, 'Deployment', name).spec.template.spec.containers[0];
      expect(container.envFrom).toEqual([{ configMapRef: { name: 'cairn-config' } }, { secretRef: { name: 'cairn-secret' } }]);
      const env = { ...data, ...secret, ...Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value])) };
      const config = loadConfig(env);
      expect(config.objectStore).toMatchObject({ backend: 's3', bucket: `<Ref:${bucketId}>`, region: '<Ref:AWS::Region>', accessKeyId: undefined });
      expect(config.databaseUrl).toMatch(/^postgres:/);
    }
  });

  test('the api and its migration Job run as an IRSA ServiceAccount whose role reaches the bucket only', () => {
    const objects = chartObjects();
    const sa = find(objects, 'ServiceAccount', 'cairn-api');
    expect(sa.metadata.namespace).toBe('cairn');
    const roleId = irsaRole(sa);
    const bucketArn = { 'Fn::GetAtt': [logicalId('AWS::S3::Bucket'), 'Arn'] };
    const statements = policiesOf(roleId).flatMap((d) => d.Statement);
    expect(statements.length).toBeGreaterThan(0);
    for (const st of statements) {
      expect(st.Effect).toBe('Allow');
      for (const action of [st.Action].flat()) expect(action).toMatch(/^s3:/);
      expect(st.Resource).toEqual([bucketArn, { 'Fn::Join': ['', [bucketArn, '/*']] }]);
    }
    const actions = statements.flatMap((st) => [st.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:PutObject', 's3:DeleteObject*', 's3:List*', 's3:Abort*']));
    expect(find(objects, 'Deployment', 'cairn-api').spec.template.spec.serviceAccountName).toBe('cairn-api');
    expect(find(objects, 'Job', `cairn-migrate-${bundle.bundleSha256.slice(0, 12)}`).spec.template.spec.serviceAccountName).toBe('cairn-api');
    // The executor keeps its own account (no bucket access) and the RBAC it needs for runtime pods.
    expect(find(objects, 'Deployment', 'cairn-executor').spec.template.spec.serviceAccountName).toBe('cairn-executor');
    expect(find(objects, 'ServiceAccount', 'cairn-executor').metadata.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined();
    expect(find(objects, 'RoleBinding', 'cairn-executor').subjects).toEqual([{ kind: 'ServiceAccount', name: 'cairn-executor', namespace: 'cairn' }]);
  });

  test('the internal token is generated in Secrets Manager and synced with the database URL into the chart\'s Secret', () => {
    const objects = chartObjects();
    const tokenId = Object.keys(raw.Resources).find((k) => raw.Resources[k].Type === 'AWS::SecretsManager::Secret' && /INTERNAL_TOKEN/.test(raw.Resources[k].Properties?.Description)) as string;
    expect(raw.Resources[tokenId].Properties).toMatchObject({ GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true } });
    const dbSecret = { Ref: logicalId('AWS::SecretsManager::SecretTargetAttachment') };
    template.hasResourceProperties('Custom::AWSCDK-EKS-HelmChart', { Chart: 'external-secrets', Repository: EXTERNAL_SECRETS_CHART.repository, Version: EXTERNAL_SECRETS_CHART.version, Wait: true });

    const store = find(objects, 'SecretStore', 'cairn-aws');
    expect(store.metadata.namespace).toBe('cairn');
    expect(store.spec.provider.aws).toEqual({ service: 'SecretsManager', region: '<Ref:AWS::Region>', auth: { jwt: { serviceAccountRef: { name: 'cairn-secrets-reader' } } } });
    const external = find(objects, 'ExternalSecret', 'cairn-secret');
    expect(external.spec.secretStoreRef).toEqual({ kind: 'SecretStore', name: 'cairn-aws' });
    // Merged into the Secret the chart makes and the pods read.
    expect(external.spec.target).toMatchObject({ name: 'cairn-secret', creationPolicy: 'Merge' });
    expect(find(objects, 'Secret', 'cairn-secret').metadata.namespace).toBe('cairn');
    expect(external.spec.target.template.data).toEqual({
      CAIRN_DATABASE_URL: 'postgres://{{ .username }}:{{ .password | urlquery }}@{{ .host }}:{{ .port }}/cairn?uselibpqcompat=true&sslmode=require',
      CAIRN_INTERNAL_TOKEN: '{{ .internalToken }}',
    });
    expect(external.spec.data).toEqual([{ secretKey: 'internalToken', remoteRef: { key: `<Ref:${tokenId}>` } }]);
    expect(external.spec.dataFrom).toEqual([{ extract: { key: placeholder(dbSecret) } }]);

    // The reader's role may read those two secrets and nothing else.
    const statements = policiesOf(irsaRole(find(objects, 'ServiceAccount', 'cairn-secrets-reader'))).flatMap((d) => d.Statement);
    expect(statements.map((st) => st.Resource)).toEqual(expect.arrayContaining([dbSecret, { Ref: tokenId }]));
    for (const st of statements) {
      expect([st.Action].flat().sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
      expect([dbSecret, { Ref: tokenId }]).toContainEqual(st.Resource);
    }
  });

  test('no password or token value is written into the template', () => {
    for (const r of Object.values(raw.Resources).filter((x) => x.Type === 'AWS::SecretsManager::Secret')) {
      expect(r.Properties?.SecretString).toBeUndefined();
      expect(r.Properties?.GenerateSecretString).toBeDefined();
    }
    const db = raw.Resources[logicalId('AWS::RDS::DBInstance')].Properties as Record<string, unknown>;
    expect(JSON.stringify(db.MasterUserPassword)).toContain('{{resolve:secretsmanager:');
    const objects = chartObjects();
    const secret = find(objects, 'Secret', 'cairn-secret');
    expect({ ...secret.data, ...secret.stringData }).toEqual({});
    // Every connection string in the template or its manifests carries a placeholder for its password.
    const text = JSON.stringify(raw) + objects.map((o) => JSON.stringify(o)).join('\n');
    const dsns = [...text.matchAll(/postgres(?:ql)?:\/\/([^:@"]*):([^@"]*)@/g)];
    expect(dsns.length).toBeGreaterThan(0);
    for (const m of dsns) expect(m[2]).toBe('{{ .password | urlquery }}');
    expect(text).not.toMatch(/"password"\s*:\s*"/i);
  });
});
