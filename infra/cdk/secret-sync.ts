// How the Secret `cairn-secret` gets its values on EKS without them entering the template: the
// External Secrets Operator (installed by its Helm chart) reads Secrets Manager with an IRSA role
// that may read two secrets only, and writes CAIRN_DATABASE_URL (composed from the RDS generated
// secret) and CAIRN_INTERNAL_TOKEN into the chart's Secret. The template holds the secrets' ARNs,
// never their values. Chosen over the Secrets Store CSI driver because the DSN must be composed
// from the RDS secret's fields (ESO templates do that) and the chart's pods read envFrom a plain
// Secret, which needs no volume in the pod spec.
import { Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { objectLabels } from '../k8s/labels';

/** The External Secrets Operator chart, pinned: its CRDs serve `external-secrets.io/v1` (0.17 and later). */
export const EXTERNAL_SECRETS_CHART = { repository: 'https://charts.external-secrets.io', chart: 'external-secrets', version: '0.17.0', namespace: 'external-secrets' };
/** The ServiceAccount ESO authenticates to AWS as (its IRSA role reads the two secrets only). */
export const SECRETS_READER_SERVICE_ACCOUNT = 'cairn-secrets-reader';

export interface SecretSyncProps {
  cluster: eks.Cluster;
  /** Platform version, for the objects' labels. */
  version: string;
  /** The platform namespace, where the chart's Secret lives. */
  namespace: string;
  /** The chart's Secret the pods read envFrom (`cairn-secret`). */
  secretName: string;
  /** The RDS generated secret (username, password, host, port). */
  databaseSecret: secretsmanager.ISecret;
  databaseName: string;
  /** A secret whose whole value is CAIRN_INTERNAL_TOKEN. */
  internalToken: secretsmanager.ISecret;
  /** What creates the namespace and the Secret: the platform chart's manifest. */
  platform: IConstruct;
}

/** Installs the operator and the objects that fill the Secret; returns the reader account. */
export function syncSecrets(props: SecretSyncProps): eks.ServiceAccount {
  const { cluster, namespace } = props;
  // `wait`: the CRDs and the operator's admission webhook must answer before the objects below apply.
  const operator = cluster.addHelmChart('ExternalSecrets', { ...EXTERNAL_SECRETS_CHART, release: 'external-secrets', createNamespace: true, wait: true });

  // ESO requests a token for this account (jwt auth) and assumes its role; no pod runs as it.
  const reader = cluster.addServiceAccount('SecretsReader', { name: SECRETS_READER_SERVICE_ACCOUNT, namespace });
  props.databaseSecret.grantRead(reader);
  props.internalToken.grantRead(reader);
  manifestsOf(reader).forEach((m) => m.node.addDependency(props.platform));

  const labels = objectLabels('platform', props.version);
  const store = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'SecretStore',
    metadata: { name: 'cairn-aws', namespace, labels },
    spec: { provider: { aws: { service: 'SecretsManager', region: Stack.of(cluster).region, auth: { jwt: { serviceAccountRef: { name: SECRETS_READER_SERVICE_ACCOUNT } } } } } },
  };
  // Merge: the chart owns the Secret (it exists, empty, before this syncs); ESO fills its keys.
  // The RDS password leaves out URL-reserved characters (CDK's default exclusions); urlquery
  // still escapes what is left, and the client decodes it. RDS PostgreSQL 15+ forces TLS; the
  // server's certificate is not verified (Node lacks the RDS CA; libpq's `require` semantics).
  const databaseUrl = `postgres://{{ .username }}:{{ .password | urlquery }}@{{ .host }}:{{ .port }}/${props.databaseName}?uselibpqcompat=true&sslmode=require`;
  const external = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: props.secretName, namespace, labels },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { kind: 'SecretStore', name: 'cairn-aws' },
      target: {
        name: props.secretName,
        creationPolicy: 'Merge',
        template: { engineVersion: 'v2', data: { CAIRN_DATABASE_URL: databaseUrl, CAIRN_INTERNAL_TOKEN: '{{ .internalToken }}' } },
      },
      data: [{ secretKey: 'internalToken', remoteRef: { key: props.internalToken.secretArn } }],
      dataFrom: [{ extract: { key: props.databaseSecret.secretArn } }],
    },
  };
  const sync = cluster.addManifest('SecretSync', store, external);
  sync.node.addDependency(operator, props.platform, ...manifestsOf(reader));
  return reader;
}

/** The Kubernetes manifests a construct made (a ServiceAccount's, apart from its IAM role). */
export function manifestsOf(scope: IConstruct): IConstruct[] {
  return scope.node.findAll().filter((c) => c instanceof eks.KubernetesManifest);
}
