// Entry of the Pulumi program (Pulumi.yaml `main`). A stack is one environment, chosen by the
// `cairn:kind` config: `cloud` (Cairn as an OpenStack cloud service: network, Magnum cluster,
// Swift, database, Keystone catalog, and the platform on it), `existing-cluster` (the platform on
// a cluster the operator already runs) and `tenant` (a tenant's guard rails on the cluster of
// such a stack, plus its Keystone project, user, credential and quotas on a cloud stack).
//
// The components live in their own modules so tests import them after `setMocks`; this file only
// reads the stack's config and wires them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type { BundleManifest } from '../bundle/build';
import { ExistingCluster } from './existing-cluster';
import { OpenStackCloud } from './openstack-cloud';
import { CairnPlatform } from './platform';
import { cloudArgs, tenantArgs } from './stack-config';
import { CairnTenant } from './tenant';

const KINDS = ['cloud', 'existing-cluster', 'tenant'] as const;

function readBundleManifest(): BundleManifest {
  const file = path.join(__dirname, '..', '..', 'dist', 'manifest.json');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before \`pulumi up\``);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as BundleManifest;
}

const config = new pulumi.Config('cairn');
const kind = config.require('kind');
if (!(KINDS as readonly string[]).includes(kind)) {
  throw new Error(`cairn:kind "${kind}": expected one of ${KINDS.join(', ')} (set it with \`pulumi config set cairn:kind existing-cluster\`)`);
}

const manifest = readBundleManifest();

/** The platform on a cluster the operator runs; its kubeconfig output feeds the tenant stacks. */
function existingClusterStack(): Record<string, pulumi.Output<unknown>> {
  const cluster = new ExistingCluster('cluster', { kubeconfig: config.requireSecret('kubeconfig'), context: config.get('kubeContext') });
  const platform = new CairnPlatform('cairn', {
    provider: cluster.provider,
    version: manifest.version,
    bundleSha256: manifest.bundleSha256,
    registry: config.require('registry'),
    env: config.getObject<Record<string, string>>('env'),
    secretEnv: config.getSecretObject<Record<string, string>>('secretEnv'),
  });
  return { version: platform.version, namespace: platform.namespace, migrationJobName: platform.migrationJobName, kubeconfig: cluster.kubeconfig };
}

/** Cairn as an OpenStack cloud service; its kubeconfig, authUrl and region outputs feed the tenant stacks. */
function cloudStack(): Record<string, pulumi.Output<unknown>> {
  const args = cloudArgs(config, manifest);
  const cloud = new OpenStackCloud('cloud', args);
  return {
    version: cloud.platform.version,
    namespace: cloud.platform.namespace,
    migrationJobName: cloud.platform.migrationJobName,
    kubeconfig: cloud.kubeconfig,
    authUrl: pulumi.output(args.authUrl),
    region: pulumi.output(args.region ?? 'RegionOne'),
    swiftAccount: cloud.swiftAccount,
  };
}

/** One tenant's environment on the cluster of the stack named by `cairn:cloudStack`. */
function tenantStack(): Record<string, pulumi.Output<unknown>> {
  const tenant = new CairnTenant('tenant', tenantArgs(config, manifest.version));
  return {
    version: pulumi.output(manifest.version),
    namespace: tenant.namespace,
    ...(tenant.identity
      ? { openrc: tenant.identity.openrc, applicationCredentialSecret: tenant.identity.applicationCredentialSecret, storageAccount: tenant.identity.storageAccount }
      : {}),
  };
}

const outputs = kind === 'tenant' ? tenantStack() : kind === 'cloud' ? cloudStack() : existingClusterStack();
export const version = outputs.version;
export const namespace = outputs.namespace;
export const migrationJobName = outputs.migrationJobName;
export const kubeconfig = outputs.kubeconfig;
export const authUrl = outputs.authUrl;
export const region = outputs.region;
export const swiftAccount = outputs.swiftAccount;
export const openrc = outputs.openrc;
export const applicationCredentialSecret = outputs.applicationCredentialSecret;
export const storageAccount = outputs.storageAccount;
