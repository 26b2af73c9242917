// The platform's PostgreSQL database in an OpenStack cloud, chosen by config: a Trove instance,
// a PostgreSQL StatefulSet in the cluster, or an external server the operator runs. Whatever the
// kind, the component's one output is the DSN (`CAIRN_DATABASE_URL`), a secret. The stateful
// resources (instance, database, volume claim) are protected and retained on delete.
import * as k8s from '@pulumi/kubernetes';
import * as openstack from '@pulumi/openstack';
import * as pulumi from '@pulumi/pulumi';
import { podSecurityLabels } from '../k8s/pod-security';
import * as random from '@pulumi/random';

export type CloudDatabaseArgs =
  | {
      kind: 'trove';
      /** Nova flavor of the Trove instance. */
      flavorId: pulumi.Input<string>;
      /** Volume size in GiB. @default 20 */
      sizeGb?: number;
      /** Trove datastore version. @default 16 */
      datastoreVersion?: string;
      /** Network the instance is attached to (the cluster's, so pods reach it). */
      networkId: pulumi.Input<string>;
    }
  | {
      kind: 'in-cluster';
      /** The cluster's provider. */
      provider: k8s.Provider;
      /** Persistent volume size, a Kubernetes quantity. @default 20Gi */
      storage?: string;
      /** Storage class of the volume claim. @default the cluster's default */
      storageClassName?: string;
      /** Pinned PostgreSQL image. @default docker.io/library/postgres:16.4 */
      image?: string;
      /** Namespace allowed to connect. @default cairn */
      clientNamespace?: string;
    }
  | {
      kind: 'external';
      /** `postgres://user:password@host:port/db`. */
      url: pulumi.Input<string>;
    };

export const DATABASE_KINDS = ['trove', 'in-cluster', 'external'] as const;

/** The database name and user the platform connects as. */
const DB = 'cairn';
const USER = 'cairn';
/** The in-cluster server's namespace (its own, so its Pod Security and network fence are its own). */
export const IN_CLUSTER_NAMESPACE = 'cairn-db';
/** uid/gid of `postgres` in the official image. */
const POSTGRES_UID = 999;

export class CloudDatabase extends pulumi.ComponentResource {
  /** `CAIRN_DATABASE_URL`, a secret. */
  readonly url: pulumi.Output<string>;
  readonly kind: CloudDatabaseArgs['kind'];

  constructor(name: string, args: CloudDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cairn:openstack:Database', name, {}, opts);
    this.kind = args.kind;
    switch (args.kind) {
      case 'trove':
        this.url = this.trove(name, args);
        break;
      case 'in-cluster':
        this.url = this.inCluster(name, args);
        break;
      case 'external':
        if (typeof args.url === 'string' && !/^postgres(ql)?:\/\//.test(args.url)) throw new Error(`CloudDatabase ${name}: url: expected postgres://user:password@host:port/db`);
        this.url = pulumi.secret(args.url);
        break;
      default:
        throw new Error(`CloudDatabase ${name}: kind "${(args as { kind: string }).kind}": expected one of ${DATABASE_KINDS.join(', ')}`);
    }
    this.registerOutputs({ url: this.url });
  }

  private trove(name: string, args: Extract<CloudDatabaseArgs, { kind: 'trove' }>): pulumi.Output<string> {
    const stateful = { parent: this, protect: true, retainOnDelete: true };
    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
    const instance = new openstack.database.Instance(
      `${name}-instance`,
      {
        name: `${name}-postgresql`,
        flavorId: args.flavorId,
        size: args.sizeGb ?? 20,
        datastore: { type: 'postgresql', version: args.datastoreVersion ?? '16' },
        networks: [{ uuid: args.networkId }],
      },
      stateful,
    );
    const database = new openstack.database.Database(`${name}-database`, { instanceId: instance.id, name: DB }, stateful);
    const user = new openstack.database.User(
      `${name}-user`,
      { instanceId: instance.id, name: USER, password: password.result, databases: [database.name] },
      { parent: this, additionalSecretOutputs: ['password'] },
    );
    // Trove reports the instance's addresses once it is ACTIVE; the first is on the given network.
    return pulumi.secret(
      pulumi.interpolate`postgres://${user.name}:${password.result}@${instance.addresses.apply((a) => a?.[0] ?? '')}:5432/${database.name}`,
    );
  }

  private inCluster(name: string, args: Extract<CloudDatabaseArgs, { kind: 'in-cluster' }>): pulumi.Output<string> {
    const kube = { parent: this, provider: args.provider };
    const labels = { 'app.kubernetes.io/name': 'cairn', 'app.kubernetes.io/component': 'database', 'app.kubernetes.io/part-of': 'cairn' };
    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
    const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: IN_CLUSTER_NAMESPACE, labels: { ...labels, ...podSecurityLabels() } } }, kube);
    const metadata = (n: string) => ({ name: n, namespace: namespace.metadata.name, labels });
    const secret = new k8s.core.v1.Secret(
      `${name}-secret`,
      { metadata: metadata('cairn-postgres'), stringData: pulumi.secret(pulumi.all([password.result]).apply(([pw]) => ({ POSTGRES_USER: USER, POSTGRES_DB: DB, POSTGRES_PASSWORD: pw }))) },
      { ...kube, additionalSecretOutputs: ['data', 'stringData'] },
    );
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      { metadata: metadata('cairn-postgres'), spec: { selector: labels, ports: [{ name: 'postgres', port: 5432, targetPort: 5432 }] } },
      kube,
    );
    // Only the platform's namespace reaches the server.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-ingress`,
      {
        metadata: metadata('cairn-postgres-ingress'),
        spec: {
          podSelector: { matchLabels: labels },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': args.clientNamespace ?? 'cairn' } } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
        },
      },
      kube,
    );
    const statefulSet = new k8s.apps.v1.StatefulSet(
      `${name}-statefulset`,
      {
        metadata: metadata('cairn-postgres'),
        spec: {
          serviceName: 'cairn-postgres',
          replicas: 1,
          selector: { matchLabels: labels },
          // The claim outlives the StatefulSet (a deleted or replaced set keeps its data).
          persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
          template: {
            metadata: { labels },
            spec: {
              securityContext: { runAsNonRoot: true, runAsUser: POSTGRES_UID, runAsGroup: POSTGRES_UID, fsGroup: POSTGRES_UID, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'postgres',
                  image: args.image ?? 'docker.io/library/postgres:16.4',
                  ports: [{ name: 'postgres', containerPort: 5432 }],
                  envFrom: [{ secretRef: { name: secret.metadata.name } }],
                  env: [{ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' }],
                  resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
                  securityContext: {
                    runAsNonRoot: true,
                    runAsUser: POSTGRES_UID,
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    privileged: false,
                    capabilities: { drop: ['ALL'] },
                    seccompProfile: { type: 'RuntimeDefault' },
                  },
                  readinessProbe: { exec: { command: ['pg_isready', '-U', USER, '-d', DB] }, periodSeconds: 10 },
                  livenessProbe: { exec: { command: ['pg_isready', '-U', USER, '-d', DB] }, periodSeconds: 30, failureThreshold: 6 },
                  volumeMounts: [
                    { name: 'data', mountPath: '/var/lib/postgresql/data' },
                    { name: 'run', mountPath: '/var/run/postgresql' },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                },
              ],
              volumes: [
                { name: 'run', emptyDir: { sizeLimit: '16Mi' } },
                { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: 'data', labels },
              spec: {
                accessModes: ['ReadWriteOnce'],
                ...(args.storageClassName ? { storageClassName: args.storageClassName } : {}),
                resources: { requests: { storage: args.storage ?? '20Gi' } },
              },
            },
          ],
        },
      },
      { ...kube, protect: true, retainOnDelete: true },
    );
    // Built from the Service and the StatefulSet, so whatever uses the URL waits for the server.
    return pulumi.secret(
      pulumi.interpolate`postgres://${USER}:${password.result}@${service.metadata.name}.${service.metadata.namespace}.svc:5432/${DB}${statefulSet.id.apply(() => '')}`,
    );
  }
}
