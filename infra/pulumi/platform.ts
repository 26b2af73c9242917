// The Cairn platform on a Kubernetes cluster: the objects of the platform and runtime-pool charts
// (infra/k8s, the one source of manifests), each a Pulumi resource, ordered so that namespaces
// come first and the Deployments of the platform roll only after this bundle's migration Job has
// completed (the Kubernetes provider waits for a Job to complete).
import type * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { createCairnApp, type CairnAppProps } from '../k8s/app';
import type { ManifestObject } from '../k8s/schemas';
import { createKubeObject } from './kube-object';

export interface CairnPlatformArgs {
  /** The cluster's provider (ExistingCluster, or a cluster the stack creates). */
  provider: k8s.Provider;
  /** Platform version (dist/manifest.json `version`). */
  version: string;
  /** dist/manifest.json `bundleSha256`: names the migration Job. */
  bundleSha256: string;
  /** Registry path holding the cairn-* images. */
  registry: string;
  /** Non-secret CAIRN_* settings. @default none */
  env?: Record<string, string>;
  /**
   * Secret CAIRN_* settings (database URL, passwords); stored as secrets in the state. @default none;
   * CAIRN_INTERNAL_TOKEN (the api ⇄ executor secret) is generated when not given.
   */
  secretEnv?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Further settings of the charts. @default the charts' defaults */
  charts?: Pick<CairnAppProps, 'platform' | 'runtimePools'>;
}

export class CairnPlatform extends pulumi.ComponentResource {
  readonly version: pulumi.Output<string>;
  readonly namespace: pulumi.Output<string>;
  readonly migrationJobName: pulumi.Output<string>;
  /** The Kubernetes resources, by `Kind/namespace/name`. */
  readonly resources: ReadonlyMap<string, pulumi.CustomResource>;

  constructor(name: string, args: CairnPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cairn:kubernetes:Platform', name, {}, opts);
    const objects = synthesize(args);
    const { platform } = objects;

    // The api and the executor refuse to start without their shared secret: generate it once.
    const internalToken = new random.RandomPassword(`${name}-internal-token`, { length: 48, special: false }, { parent: this });
    const secretEnv = pulumi
      .all([pulumi.output(args.secretEnv ?? {}), internalToken.result])
      .apply(([given, token]) => ({ CAIRN_INTERNAL_TOKEN: token, ...given }));

    const created = new Map<string, pulumi.CustomResource>();
    const child = (obj: ManifestObject, dependsOn: pulumi.Resource[], override?: Record<string, unknown>, extra: pulumi.CustomResourceOptions = {}) => {
      const r = createKubeObject(name, obj, { parent: this, provider: args.provider, dependsOn, ...extra }, override);
      created.set(key(obj), r);
      return r;
    };

    // 1. Namespaces.
    const namespaces = new Map<string, pulumi.CustomResource>();
    for (const obj of objects.all.filter((o) => o.kind === 'Namespace')) namespaces.set(obj.metadata.name, child(obj, []));
    const inNamespace = (obj: ManifestObject) => (obj.metadata.namespace ? [namespaces.get(obj.metadata.namespace)].filter((r): r is pulumi.CustomResource => !!r) : []);

    // 2. Configuration, accounts, RBAC, policies, services: everything but the workloads.
    const workloadKinds = ['Deployment', 'Job', 'HorizontalPodAutoscaler'];
    for (const obj of objects.all.filter((o) => o.kind !== 'Namespace' && !workloadKinds.includes(o.kind))) {
      if (obj.kind === 'Secret' && obj.metadata.name === 'cairn-secret') {
        child(obj, inNamespace(obj), { stringData: pulumi.secret(secretEnv) }, { additionalSecretOutputs: ['data', 'stringData'] });
      } else {
        child(obj, inNamespace(obj));
      }
    }
    const configured = [...created.values()];

    // 3. The migration Job of this bundle, then the Deployments (and their autoscalers).
    const job = objects.all.find((o) => o.kind === 'Job' && o.metadata.name === platform.migrationJobName);
    if (!job) throw new Error(`the platform chart has no migration Job ${platform.migrationJobName}`);
    const migration = child(job, configured);
    for (const obj of objects.all.filter((o) => o.kind === 'Deployment')) {
      // Runtime pools do not touch the database: only the platform's own Deployments wait.
      const waits = obj.metadata.namespace === platform.platformNamespace ? [migration] : [];
      child(obj, [...configured, ...waits]);
    }
    for (const obj of objects.all.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
      const target = (obj as { spec?: { scaleTargetRef?: { name?: string } } }).spec?.scaleTargetRef?.name;
      const deployment = created.get(`Deployment/${obj.metadata.namespace}/${target}`);
      child(obj, deployment ? [deployment] : configured);
    }

    this.resources = created;
    this.version = pulumi.output(args.version);
    this.namespace = pulumi.output(platform.platformNamespace);
    this.migrationJobName = pulumi.output(platform.migrationJobName);
    this.registerOutputs({ version: this.version, namespace: this.namespace, migrationJobName: this.migrationJobName });
  }
}

function key(obj: ManifestObject): string {
  return `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

/** The objects of the platform and runtime-pool charts (the Secret's values are added by Pulumi, as secrets). */
function synthesize(args: CairnPlatformArgs) {
  const app = createCairnApp({
    version: args.version,
    bundleSha256: args.bundleSha256,
    registry: args.registry,
    platform: { ...args.charts?.platform, env: args.env, secretEnv: {} },
    runtimePools: args.charts?.runtimePools,
  });
  const all = [app.runtimePools, app.platform].flatMap((chart) => chart.toJson() as ManifestObject[]);
  return { platform: app.platform, all };
}
