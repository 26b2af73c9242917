// Entry of the Pulumi program (Pulumi.yaml `main`). A stack is one environment, chosen by the
// `cairn:kind` config. Built so far: `existing-cluster` (the platform on a cluster the operator
// already runs) and `tenant` (a tenant's guard rails on the cluster of such a stack). The
// OpenStack cloud kind is still to come (issue 4).
//
// The components live in their own modules so tests import them after `setMocks`; this file only
// reads the stack's config and wires them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type { BundleManifest } from '../bundle/build';
import { ExistingCluster } from './existing-cluster';
import { CairnPlatform } from './platform';
import { CairnTenant } from './tenant';

const KINDS = ['existing-cluster', 'tenant'] as const;

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
function existingClusterStack(): Record<string, pulumi.Output<string>> {
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

/** One tenant's environment on the cluster of the stack named by `cairn:cloudStack`. */
function tenantStack(): Record<string, pulumi.Output<string>> {
  const tenant = new CairnTenant('tenant', { tenant: config.require('tenant'), version: manifest.version, cloudStack: config.require('cloudStack') });
  return { version: pulumi.output(manifest.version), namespace: tenant.namespace };
}

const outputs = kind === 'tenant' ? tenantStack() : existingClusterStack();
export const version = outputs.version;
export const namespace = outputs.namespace;
export const migrationJobName = outputs.migrationJobName;
export const kubeconfig = outputs.kubeconfig;
