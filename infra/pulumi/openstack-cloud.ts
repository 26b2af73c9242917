// Cairn as an OpenStack cloud service: its own network and router, a Magnum Kubernetes cluster
// (the kubeconfig a secret output, the provider every Kubernetes resource uses), the platform's
// Swift identity and its system container, the database, and the Keystone service and endpoints that
// let `openstack function …` find Cairn in the cloud's catalog (type `function-engine`); then the
// platform itself on the new cluster, its database URL and Swift key passed as secrets.
import * as k8s from '@pulumi/kubernetes';
import * as openstack from '@pulumi/openstack';
import * as pulumi from '@pulumi/pulumi';
import { CloudDatabase } from './cloud-database';
import * as random from '@pulumi/random';
import { CairnPlatform, type CairnPlatformArgs } from './platform';

export interface MagnumClusterArgs {
  /** Glance image of the cluster nodes (e.g. a Fedora CoreOS image Magnum supports). */
  image: string;
  /** Nova flavor of the control-plane nodes. */
  masterFlavor: string;
  /** Nova flavor of the worker nodes. */
  flavor: string;
  /** Control-plane nodes, an odd number. @default 1 */
  masterCount?: number;
  /** Worker nodes. @default 3 */
  nodeCount?: number;
  /** Nova keypair for SSH to the nodes. @default none */
  keypair?: string;
  /** Docker volume per node, GiB. @default 50 */
  dockerVolumeSize?: number;
  /** Magnum labels (kube_tag, …), merged with the template's. @default none */
  labels?: Record<string, string>;
}

export type CloudDatabaseChoice =
  | { kind: 'trove'; flavorId: string; sizeGb?: number; datastoreVersion?: string }
  | { kind: 'in-cluster'; storage?: string; storageClassName?: string; image?: string }
  | { kind: 'external'; url: pulumi.Input<string> };

export interface OpenStackCloudArgs {
  /** Keystone v3 URL of the cloud (`https://keystone.example.com/v3`): the Swift backend and tenants authenticate there. */
  authUrl: string;
  /** Region of the catalog endpoints and the Swift backend. @default RegionOne */
  region?: string;
  /** Neutron network with the floating IPs (the router's gateway). */
  externalNetworkId: pulumi.Input<string>;
  /** CIDR of the cluster's subnet. @default 10.42.0.0/24 */
  subnetCidr?: string;
  /** DNS servers handed out on the subnet. @default Neutron's */
  dnsNameservers?: string[];
  cluster: MagnumClusterArgs;
  database: CloudDatabaseChoice;
  /** The cloud's Swift endpoint up to the account (`https://swift.example.com/v1`): the platform's system container is made there. */
  swiftUrl: string;
  /** Role that lets the platform's service user reach every tenant's account. @default ResellerAdmin */
  resellerRole?: string;
  /** Swift's reseller prefix of account names. @default AUTH_ */
  accountPrefix?: string;
  /** Catalog URLs of the function-engine service (the service root, without /v1). */
  endpoints: { public: string; /** @default public */ internal?: string; /** @default internal */ admin?: string };
  /** Service name in the catalog (clients select by type, `function-engine`). @default qinling */
  serviceName?: string;
  /** The platform on the new cluster (its provider and database come from this component). */
  platform: Omit<CairnPlatformArgs, 'provider'>;
}

/** The catalog type python-qinlingclient looks up (spec/function-api.md §1.1). */
export const FUNCTION_ENGINE_SERVICE_TYPE = 'function-engine';
export const ENDPOINT_INTERFACES = ['public', 'internal', 'admin'] as const;
/**
 * Where the swift backend keeps platform data: Cairn account `.cairn` (upstream `<prefix>_.cairn`),
 * container `system`, carrying the mark of a container Cairn made (`X-Container-Meta-Cairn`).
 * The same as services/core/objectstore (SYSTEM_ACCOUNT, SYSTEM_CONTAINER, CONTAINER_MARK); a
 * test holds them equal, as infra does not import the services' storage code.
 */
export const SWIFT_SYSTEM = { account: '.cairn', container: 'system', markMetadata: 'cairn' } as const;

export class OpenStackCloud extends pulumi.ComponentResource {
  readonly networkId: pulumi.Output<string>;
  readonly clusterId: pulumi.Output<string>;
  /** The Magnum cluster's kubeconfig, a secret (tenant stacks read it through a StackReference). */
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  readonly databaseUrl: pulumi.Output<string>;
  /** The upstream Swift account of the platform's data, `<prefix>_.cairn`. */
  readonly swiftAccount: pulumi.Output<string>;
  readonly serviceId: pulumi.Output<string>;
  readonly platform: CairnPlatform;

  constructor(name: string, args: OpenStackCloudArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers, so bad arguments leave nothing behind.
    const a = normalize(name, args);
    super('cairn:openstack:Cloud', name, {}, opts);
    const stateful = { parent: this, protect: true, retainOnDelete: true };

    // 1. Network: a private subnet routed to the external network.
    const network = new openstack.networking.Network(`${name}-network`, { name: `${name}-cairn`, adminStateUp: true }, { parent: this });
    const subnet = new openstack.networking.Subnet(
      `${name}-subnet`,
      { name: `${name}-cairn`, networkId: network.id, cidr: a.subnetCidr, ipVersion: 4, dnsNameservers: a.dnsNameservers },
      { parent: this },
    );
    const router = new openstack.networking.Router(`${name}-router`, { name: `${name}-cairn`, externalNetworkId: args.externalNetworkId }, { parent: this });
    const routerInterface = new openstack.networking.RouterInterface(`${name}-router-interface`, { routerId: router.id, subnetId: subnet.id }, { parent: this });

    // 2. The Magnum cluster on that network; its kubeconfig is a secret from the start.
    const template = new openstack.containerinfra.ClusterTemplate(
      `${name}-cluster-template`,
      {
        name: `${name}-cairn`,
        coe: 'kubernetes',
        image: a.cluster.image,
        masterFlavor: a.cluster.masterFlavor,
        flavor: a.cluster.flavor,
        externalNetworkId: args.externalNetworkId,
        fixedNetwork: network.id,
        fixedSubnet: subnet.id,
        networkDriver: 'calico',
        dockerVolumeSize: a.cluster.dockerVolumeSize,
        floatingIpEnabled: false,
        masterLbEnabled: a.cluster.masterCount > 1,
        labels: a.cluster.labels,
      },
      { parent: this },
    );
    const cluster = new openstack.containerinfra.Cluster(
      `${name}-cluster`,
      {
        name: `${name}-cairn`,
        clusterTemplateId: template.id,
        masterCount: a.cluster.masterCount,
        nodeCount: a.cluster.nodeCount,
        masterFlavor: a.cluster.masterFlavor,
        flavor: a.cluster.flavor,
        keypair: a.cluster.keypair,
        fixedNetwork: network.id,
        fixedSubnet: subnet.id,
        mergeLabels: true,
        labels: a.cluster.labels,
      },
      { ...stateful, dependsOn: [routerInterface], additionalSecretOutputs: ['kubeconfig'] },
    );
    this.kubeconfig = pulumi.secret(cluster.kubeconfig.apply((k) => k.rawConfig));
    this.provider = new k8s.Provider(`${name}-provider`, { kubeconfig: this.kubeconfig, enableServerSideApply: true }, { parent: this });

    // 3. The platform's Keystone identity for the swift backend, a reseller admin (it reaches every
    //    `<prefix>…` account), and the system container of its own account.
    const serviceProject = `${name}-cairn-service`;
    const serviceUser = `${name}-cairn`;
    const project = new openstack.identity.Project(`${name}-service-project`, { name: serviceProject, description: 'Cairn platform service account' }, { parent: this });
    const swiftPassword = new random.RandomPassword(`${name}-swift-password`, { length: 32, special: false }, { parent: this });
    const user = new openstack.identity.User(
      `${name}-service-user`,
      { name: serviceUser, defaultProjectId: project.id, password: swiftPassword.result, description: 'Cairn platform: Swift backend' },
      { parent: this, additionalSecretOutputs: ['password'] },
    );
    const resellerRole = openstack.identity.getRoleOutput({ name: a.resellerRole }, { parent: this });
    const roles = [new openstack.identity.RoleAssignment(`${name}-service-role`, { projectId: project.id, userId: user.id, roleId: resellerRole.id }, { parent: this })];
    const systemAccount = `${a.accountPrefix}_${SWIFT_SYSTEM.account}`;
    // Signed in as that user; its object-store endpoint is the system account (a reseller admin may
    // address any account), so the container lands where the backend looks for it.
    const serviceProvider = new openstack.Provider(
      `${name}-service-openstack`,
      {
        authUrl: a.authUrl,
        region: a.region,
        userName: user.name,
        password: swiftPassword.result,
        tenantId: project.id,
        userDomainName: 'Default',
        endpointOverrides: { 'object-store': `${a.swiftUrl}/${systemAccount}/` },
      },
      { parent: this },
    );
    new openstack.objectstorage.Container(
      `${name}-system-container`,
      { name: SWIFT_SYSTEM.container, region: a.region, metadata: { [SWIFT_SYSTEM.markMetadata]: '1' } },
      // The user's token is scoped to the project only once it holds a role there.
      { ...stateful, provider: serviceProvider, dependsOn: roles },
    );
    this.swiftAccount = pulumi.output(systemAccount);

    // 4. The database.
    const database = new CloudDatabase(
      `${name}-database`,
      args.database.kind === 'trove'
        ? { ...args.database, networkId: network.id }
        : args.database.kind === 'in-cluster'
          ? { ...args.database, provider: this.provider }
          : args.database,
      { parent: this, dependsOn: args.database.kind === 'trove' ? [routerInterface] : [] },
    );
    this.databaseUrl = database.url;

    // 5. The catalog: the function-engine service with one endpoint per interface.
    const service = new openstack.identity.ServiceV3(
      `${name}-service`,
      { name: a.serviceName, type: FUNCTION_ENGINE_SERVICE_TYPE, description: 'Cairn: Qinling-compatible functions', enabled: true },
      { parent: this },
    );
    for (const iface of ENDPOINT_INTERFACES) {
      new openstack.identity.EndpointV3(
        `${name}-endpoint-${iface}`,
        { name: `${a.serviceName}-${iface}`, serviceId: service.id, interface: iface, endpointRegion: a.region, url: a.endpoints[iface] },
        { parent: this },
      );
    }
    this.serviceId = service.id;

    // 6. The platform on the new cluster, the database URL and Swift key as secrets.
    const env: Record<string, string> = {
      CAIRN_REGION: a.region,
      CAIRN_PUBLIC_URL: a.endpoints.public,
      ...args.platform.env,
      CAIRN_OBJECT_STORE: 'swift',
      CAIRN_SWIFT_AUTH_URL: a.authUrl,
      CAIRN_SWIFT_AUTH_VERSION: '3',
      CAIRN_SWIFT_USER: serviceUser,
      CAIRN_SWIFT_PROJECT: serviceProject,
      CAIRN_SWIFT_DOMAIN: 'Default',
      CAIRN_SWIFT_ACCOUNT_PREFIX: a.accountPrefix,
    };
    // The api ⇄ executor token is generated by CairnPlatform unless the operator sets one.
    const secretEnv = pulumi.secret(
      pulumi
        .all([pulumi.output(args.platform.secretEnv ?? {}), database.url, swiftPassword.result, pulumi.all(roles.map((r) => r.id))])
        // The role assignments are in the list so the Secret (hence the pods) waits for them.
        .apply(([extra, url, key]) => ({ ...extra, CAIRN_DATABASE_URL: url, CAIRN_SWIFT_KEY: key })),
    );
    this.platform = new CairnPlatform(`${name}-platform`, { ...args.platform, provider: this.provider, env, secretEnv }, { parent: this });

    this.networkId = network.id;
    this.clusterId = cluster.id;
    this.registerOutputs({ networkId: this.networkId, clusterId: this.clusterId, kubeconfig: this.kubeconfig, swiftAccount: this.swiftAccount, serviceId: this.serviceId });
  }
}

/** Applies the defaults once and checks every argument, reporting all problems together. */
function normalize(name: string, args: OpenStackCloudArgs) {
  const problems: string[] = [];
  const cluster = {
    ...args.cluster,
    masterCount: args.cluster?.masterCount ?? 1,
    nodeCount: args.cluster?.nodeCount ?? 3,
    dockerVolumeSize: args.cluster?.dockerVolumeSize ?? 50,
  };
  const endpoints = { public: args.endpoints?.public, internal: args.endpoints?.internal ?? args.endpoints?.public, admin: '' };
  endpoints.admin = args.endpoints?.admin ?? endpoints.internal;
  const a = {
    authUrl: args.authUrl,
    region: args.region ?? 'RegionOne',
    subnetCidr: args.subnetCidr ?? '10.42.0.0/24',
    dnsNameservers: args.dnsNameservers,
    cluster,
    swiftUrl: (args.swiftUrl ?? '').replace(/\/+$/, ''),
    resellerRole: args.resellerRole ?? 'ResellerAdmin',
    accountPrefix: args.accountPrefix ?? 'AUTH_',
    endpoints: endpoints as Record<(typeof ENDPOINT_INTERFACES)[number], string>,
    serviceName: args.serviceName ?? 'qinling',
  };
  if (!/^https?:\/\/[^/]+\/.*v3\/?$/.test(a.authUrl ?? '')) problems.push(`authUrl ${a.authUrl}: expected the Keystone v3 URL, https://host[:port]/v3`);
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(a.subnetCidr)) problems.push(`subnetCidr ${a.subnetCidr}: expected an IPv4 CIDR such as 10.42.0.0/24`);
  for (const key of ['image', 'masterFlavor', 'flavor'] as const) if (!cluster[key]) problems.push(`cluster.${key} is required`);
  if (!Number.isInteger(cluster.masterCount) || cluster.masterCount < 1 || cluster.masterCount % 2 === 0) problems.push(`cluster.masterCount ${cluster.masterCount}: expected an odd number ≥ 1 (etcd quorum)`);
  if (!Number.isInteger(cluster.nodeCount) || cluster.nodeCount < 1) problems.push(`cluster.nodeCount ${cluster.nodeCount}: expected an integer ≥ 1`);
  for (const iface of ENDPOINT_INTERFACES) {
    const url = a.endpoints[iface];
    if (!/^https?:\/\/[^/]+/.test(url ?? '')) problems.push(`endpoints.${iface} ${url}: expected http(s)://host[:port][/path]`);
    else if (/\/v1\/?$/.test(url)) problems.push(`endpoints.${iface} ${url}: the catalog holds the service root; clients append /v1 themselves`);
  }
  if (!/^https?:\/\/[^/]+\/v1$/.test(a.swiftUrl)) problems.push(`swiftUrl ${args.swiftUrl}: expected the object-store endpoint up to /v1, https://host[:port]/v1`);
  if (problems.length) throw new Error(`OpenStackCloud ${name}: ${problems.join('; ')}`);
  return a;
}
