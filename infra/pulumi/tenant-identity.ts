// A tenant's OpenStack side: its Keystone project, a user with a generated password and a role on
// the project, an application credential (what the tenant's tools authenticate with), and the
// project's quotas. Its storage account is `AUTH_<project id>` (Cairn's and, with the swift
// backend, the upstream's), which Swift creates on the first write, so nothing is made for it.
// The openrc values are the component's outputs; the credential's secret stays secret.
import * as openstack from '@pulumi/openstack';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

export interface TenantQuotas {
  /** Nova instances. @default 10 */
  instances?: number;
  /** Nova vCPUs. @default 20 */
  cores?: number;
  /** Nova RAM, MiB. @default 51200 */
  ramMb?: number;
  /** Cinder volumes. @default 10 */
  volumes?: number;
  /** Cinder GiB. @default 500 */
  gigabytes?: number;
  /** Neutron networks. @default 5 */
  networks?: number;
  /** Neutron floating IPs. @default 5 */
  floatingIps?: number;
}

export interface TenantIdentityArgs {
  tenant: string;
  /** Keystone v3 URL (the cloud stack's `authUrl` output). */
  authUrl: pulumi.Input<string>;
  /** Region (the cloud stack's `region` output). */
  region: pulumi.Input<string>;
  /** Role the tenant's user holds on its project. @default member */
  role?: string;
  /** Keystone domain of the project and user. @default default */
  domainId?: string;
  /** Swift's reseller prefix of account names. @default AUTH_ */
  accountPrefix?: string;
  /** @default see TenantQuotas */
  quotas?: TenantQuotas;
}

export class TenantIdentity extends pulumi.ComponentResource {
  readonly projectId: pulumi.Output<string>;
  readonly userName: pulumi.Output<string>;
  /** The user's password, a secret. */
  readonly password: pulumi.Output<string>;
  readonly applicationCredentialId: pulumi.Output<string>;
  /** The application credential's secret, a secret. */
  readonly applicationCredentialSecret: pulumi.Output<string>;
  /** The tenant's Swift account, `<prefix><project id>`. */
  readonly storageAccount: pulumi.Output<string>;
  /** The non-secret openrc values (`OS_*`); OS_APPLICATION_CREDENTIAL_SECRET is `applicationCredentialSecret`. */
  readonly openrc: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: TenantIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cairn:openstack:TenantIdentity', name, {}, opts);
    const role = args.role ?? 'member';
    const domainId = args.domainId ?? 'default';
    const q = normalizeQuotas(name, args.quotas ?? {});
    const objectName = `cairn-${args.tenant}`;

    const project = new openstack.identity.Project(
      `${name}-project`,
      { name: objectName, domainId, description: `Cairn tenant ${args.tenant}`, tags: ['cairn', `cairn-tenant=${args.tenant}`] },
      { parent: this, protect: true, retainOnDelete: true },
    );
    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
    const user = new openstack.identity.User(
      `${name}-user`,
      { name: objectName, domainId, defaultProjectId: project.id, password: password.result, description: `Cairn tenant ${args.tenant}` },
      { parent: this, additionalSecretOutputs: ['password'] },
    );
    const roleId = openstack.identity.getRoleOutput({ name: role }, { parent: this }).id;
    const assignment = new openstack.identity.RoleAssignment(`${name}-role`, { projectId: project.id, userId: user.id, roleId }, { parent: this });

    // Quotas are set by the operator's (admin) credential, the stack's default provider.
    new openstack.compute.QuotaSetV2(`${name}-compute-quota`, { projectId: project.id, instances: q.instances, cores: q.cores, ram: q.ramMb }, { parent: this });
    new openstack.blockstorage.QuoteSetV3(`${name}-volume-quota`, { projectId: project.id, volumes: q.volumes, gigabytes: q.gigabytes }, { parent: this });
    new openstack.networking.QuotaV2(`${name}-network-quota`, { projectId: project.id, network: q.networks, floatingip: q.floatingIps }, { parent: this });

    // An application credential belongs to the user who creates it: a provider signed in as the
    // tenant's user, scoped to its project.
    const asTenant = new openstack.Provider(
      `${name}-openstack`,
      { authUrl: args.authUrl, region: args.region, userName: user.name, password: password.result, tenantId: project.id, userDomainId: domainId },
      { parent: this },
    );
    const credential = new openstack.identity.ApplicationCredential(
      `${name}-credential`,
      { name: objectName, description: `Cairn tenant ${args.tenant}`, roles: [role] },
      { parent: this, provider: asTenant, dependsOn: [assignment], additionalSecretOutputs: ['secret'] },
    );

    this.projectId = project.id;
    this.userName = user.name;
    this.password = pulumi.secret(password.result);
    this.applicationCredentialId = credential.id;
    this.applicationCredentialSecret = pulumi.secret(credential.secret);
    this.storageAccount = pulumi.interpolate`${args.accountPrefix ?? 'AUTH_'}${project.id}`;
    this.openrc = pulumi.all([args.authUrl, args.region, credential.id, project.id]).apply(([authUrl, region, id, projectId]): Record<string, string> => ({
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_AUTH_URL: authUrl,
      OS_IDENTITY_API_VERSION: '3',
      OS_REGION_NAME: region,
      OS_INTERFACE: 'public',
      OS_APPLICATION_CREDENTIAL_ID: id,
      OS_PROJECT_ID: projectId,
    }));
    this.registerOutputs({ projectId: this.projectId, storageAccount: this.storageAccount, openrc: this.openrc, applicationCredentialSecret: this.applicationCredentialSecret });
  }
}

function normalizeQuotas(name: string, quotas: TenantQuotas): Required<TenantQuotas> {
  const q: Required<TenantQuotas> = {
    instances: quotas.instances ?? 10,
    cores: quotas.cores ?? 20,
    ramMb: quotas.ramMb ?? 51200,
    volumes: quotas.volumes ?? 10,
    gigabytes: quotas.gigabytes ?? 500,
    networks: quotas.networks ?? 5,
    floatingIps: quotas.floatingIps ?? 5,
  };
  const problems = Object.entries(q)
    .filter(([, v]) => !Number.isInteger(v) || v < 0)
    .map(([k, v]) => `quotas.${k} ${v}: expected an integer ≥ 0`);
  if (problems.length) throw new Error(`TenantIdentity ${name}: ${problems.join('; ')}`);
  return q;
}
