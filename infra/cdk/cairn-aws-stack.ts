// Cairn on AWS: a VPC, an EKS cluster, an S3 bucket, RDS PostgreSQL with its generated secret,
// and the same cdk8s charts as every other target (infra/k8s) attached to the cluster: the api
// stores object bytes in the bucket through an IRSA role, and the chart's Secret is filled from
// Secrets Manager in the cluster (secret-sync.ts), so no password is written into the template.
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { createCairnApp } from '../k8s/app';
import { manifestsOf, syncSecrets } from './secret-sync';

/** The platform chart's namespace and Secret (PlatformChart's defaults, kept explicit here). */
const PLATFORM_NAMESPACE = 'cairn';
const PLATFORM_SECRET = 'cairn-secret';
/** The api's ServiceAccount, made here with an IRSA role instead of by the chart. */
const API_SERVICE_ACCOUNT = 'cairn-api';
const DATABASE_NAME = 'cairn';

export interface CairnAwsStackProps extends StackProps {
  /** Platform version (dist/manifest.json `version`). */
  version: string;
  /** dist/manifest.json `bundleSha256`: names the migration Job. */
  bundleSha256: string;
  /** Registry path holding the cairn-* images (e.g. an ECR repository path). */
  registry: string;
  /** Availability zones used. @default 2 */
  maxAzs?: number;
  /** Worker nodes. @default 2 × m6i.large */
  nodes?: { count: number; instanceType: ec2.InstanceType };
  /** Database instance class. @default db.t4g.medium */
  databaseInstanceType?: ec2.InstanceType;
}

export class CairnAwsStack extends Stack {
  readonly cluster: eks.Cluster;
  readonly bucket: s3.Bucket;
  readonly database: rds.DatabaseInstance;
  /** CAIRN_INTERNAL_TOKEN, generated: the api ⇄ executor shared secret. */
  readonly internalToken: secretsmanager.Secret;
  /** The api's (and the migration Job's) ServiceAccount, whose role reads and writes the bucket. */
  readonly apiServiceAccount: eks.ServiceAccount;

  constructor(scope: Construct, id: string, props: CairnAwsStackProps) {
    super(scope, id, props);
    const maxAzs = props.maxAzs ?? 2;
    const nodes = props.nodes ?? { count: 2, instanceType: ec2.InstanceType.of(ec2.InstanceClass.M6I, ec2.InstanceSize.LARGE) };

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'nodes', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });

    // Object storage: private, encrypted, TLS only, versioned, kept when the stack is deleted.
    this.bucket = new s3.Bucket(this, 'Objects', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The database: PostgreSQL in isolated subnets, its password generated into Secrets Manager.
    this.database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      instanceType: props.databaseInstanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      credentials: rds.Credentials.fromGeneratedSecret('cairn'),
      databaseName: DATABASE_NAME,
      storageEncrypted: true,
      multiAz: maxAzs > 1,
      allocatedStorage: 20,
      backupRetention: Duration.days(7),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.cluster = new eks.Cluster(this, 'Cluster', {
      version: eks.KubernetesVersion.V1_33,
      kubectlLayer: new KubectlV33Layer(this, 'Kubectl'),
      vpc,
      vpcSubnets: [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
      defaultCapacity: nodes.count,
      defaultCapacityInstance: nodes.instanceType,
      endpointAccess: eks.EndpointAccess.PUBLIC_AND_PRIVATE,
    });
    this.database.connections.allowDefaultPortFrom(this.cluster, 'Cairn pods reach PostgreSQL');

    this.internalToken = new secretsmanager.Secret(this, 'InternalToken', {
      description: 'Cairn CAIRN_INTERNAL_TOKEN: the shared secret of the api and the executor',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });

    // IRSA: the api pods get web-identity credentials for this role (the SDK's default chain
    // picks them up; no keys in CAIRN_S3_*), which may use this bucket only. The executor never
    // touches the object store (it fetches packages from the api), so it keeps its own account
    // and the RBAC the chart gives it.
    this.apiServiceAccount = this.cluster.addServiceAccount('ApiServiceAccount', { name: API_SERVICE_ACCOUNT, namespace: PLATFORM_NAMESPACE });
    this.bucket.grantReadWrite(this.apiServiceAccount);

    // The same charts as `npm run synth` and Pulumi. The bucket's name and the region are tokens:
    // addCdk8sChart resolves them into the manifest (an Fn::Join). The Secret `cairn-secret` is
    // synthesized empty and filled in the cluster by syncSecrets.
    const charts = createCairnApp({
      version: props.version,
      bundleSha256: props.bundleSha256,
      registry: props.registry,
      platform: {
        namespace: PLATFORM_NAMESPACE,
        apiServiceAccount: this.apiServiceAccount.serviceAccountName,
        env: { CAIRN_OBJECT_STORE: 's3', CAIRN_S3_BUCKET: this.bucket.bucketName, CAIRN_S3_REGION: this.region },
      },
    });
    const runtimePools = this.cluster.addCdk8sChart('RuntimePools', charts.runtimePools);
    const platform = this.cluster.addCdk8sChart('Platform', charts.platform);
    // The executor's Role lives in the runtime namespace.
    platform.node.addDependency(runtimePools);
    // The ServiceAccount goes into the chart's namespace. Until it exists the api's ReplicaSet
    // cannot create pods (and retries), so no api pod ever starts without the role.
    manifestsOf(this.apiServiceAccount).forEach((m) => m.node.addDependency(platform));

    syncSecrets({
      cluster: this.cluster,
      version: props.version,
      namespace: PLATFORM_NAMESPACE,
      secretName: PLATFORM_SECRET,
      // fromGeneratedSecret always makes one.
      databaseSecret: this.database.secret!,
      databaseName: DATABASE_NAME,
      internalToken: this.internalToken,
      platform,
    });
  }
}
