// A stack's `cairn:*` config read into the arguments of its component, for the kinds whose
// config has some shape (`cloud`, `tenant`). Separate from the entry point so that tests (and
// `cairn tenant-clone`'s check of a produced stack file) drive the same reading.
import * as pulumi from '@pulumi/pulumi';
import { Cpu, Size } from '../k8s/units';
import type { CloudDatabaseChoice, MagnumClusterArgs, OpenStackCloudArgs } from './openstack-cloud';
import type { CairnTenantArgs } from './tenant';
import type { TenantQuotas } from './tenant-identity';

/** The bundle the platform deploys (dist/manifest.json). */
export interface BundleRef {
  version: string;
  bundleSha256: string;
}

/** `cairn:*` of a `cloud` stack. */
export function cloudArgs(config: pulumi.Config, bundle: BundleRef): OpenStackCloudArgs {
  const database = config.requireObject<CloudDatabaseChoice>('database');
  return {
    authUrl: config.require('authUrl'),
    region: config.get('region'),
    externalNetworkId: config.require('externalNetworkId'),
    subnetCidr: config.get('subnetCidr'),
    dnsNameservers: config.getObject<string[]>('dnsNameservers'),
    cluster: config.requireObject<MagnumClusterArgs>('cluster'),
    // An external server's DSN holds its password: a secret of its own, never in `cairn:database`.
    database: database.kind === 'external' ? { kind: 'external', url: config.requireSecret('databaseUrl') } : database,
    swiftUrl: config.require('swiftUrl'),
    endpoints: config.requireObject<OpenStackCloudArgs['endpoints']>('endpoints'),
    platform: {
      version: bundle.version,
      bundleSha256: bundle.bundleSha256,
      registry: config.require('registry'),
      env: config.getObject<Record<string, string>>('env'),
      secretEnv: config.getSecretObject<Record<string, string>>('secretEnv'),
    },
  };
}

/** Config values set with `pulumi config set --path` may be strings: numbers are read as such. */
function num(key: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`cairn:${key} ${JSON.stringify(v)}: expected a number`);
  return n;
}

/** `cairn:*` of a `tenant` stack. */
export function tenantArgs(config: pulumi.Config, version: string): CairnTenantArgs {
  // `cairn:quota`: `{ pods, cpu (cores), memoryGiB }` of the tenant namespace.
  const q = config.getObject<{ pods?: unknown; cpu?: unknown; memoryGiB?: unknown }>('quota');
  const cpu = num('quota.cpu', q?.cpu);
  const memory = num('quota.memoryGiB', q?.memoryGiB);
  // `cairn:identity` (on a cloud stack only): `{ role?, quotas? }`.
  const identity = config.getObject<{ role?: string; quotas?: Record<string, unknown> }>('identity');
  const quotas = identity?.quotas ? (Object.fromEntries(Object.entries(identity.quotas).map(([k, v]) => [k, num(`identity.quotas.${k}`, v)])) as TenantQuotas) : undefined;
  return {
    tenant: config.require('tenant'),
    version,
    cloudStack: config.require('cloudStack'),
    quota: q
      ? { pods: num('quota.pods', q.pods), cpu: cpu === undefined ? undefined : Cpu.cores(cpu), memory: memory === undefined ? undefined : Size.gibibytes(memory) }
      : undefined,
    identity: identity ? { role: identity.role, quotas } : undefined,
  };
}
