// Configuration is read and validated once, at start-up, into a typed object. Nothing else in
// Cairn reads process.env: services receive the Config (or the part they need).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Bounds for one per-function limit, in the unit the function API uses. */
export interface LimitRange {
  default: number;
  min: number;
  max: number;
}

export interface Config {
  /** Platform version, stamped everywhere (package.json `version`). */
  version: string;
  /** TCP address the api listens on. @default 127.0.0.1 */
  host: string;
  /** TCP port. 0 picks a free port (tests). @default 8080 */
  port: number;
  /** Base URL users reach the api at; the catalog and storage URLs are built from it.
   *  @default http://<host>:<port> once the port is known */
  publicUrl: string | undefined;
  /** Where local state lives (PGlite files, objects, sandboxes' scratch). @default ./.cairn */
  dataDir: string;
  /** `postgres://…` for a real PostgreSQL; unset means embedded PGlite in `<dataDir>/db`. */
  databaseUrl: string | undefined;
  /** Keystone region name in the catalog. @default RegionOne */
  region: string;
  identity: {
    /** Password of the bootstrap `admin` user; generated and stored on first start when unset. */
    adminPassword: string | undefined;
    /** Password of the `demo` user; generated and stored on first start when unset. */
    demoPassword: string | undefined;
    /** Token lifetime. @default 86400 s (Keystone's and tempauth's default) */
    tokenTtlSeconds: number;
    /**
     * Roles whose holders own their project's storage account (Swift keystoneauth's
     * `operator_roles`); a project user without one is an ordinary user there, let in only by
     * ACLs (tempauth's non-`.admin` user). CAIRN_STORAGE_OPERATOR_ROLES, comma-separated.
     * @default admin,member
     */
    storageOperatorRoles: string[];
  };
  /** Where object bytes live (CAIRN_OBJECT_STORE). @default fs */
  objectStore: ObjectStoreConfig;
  limits: {
    /** seconds */
    timeout: LimitRange;
    /** millicpu */
    cpu: LimitRange;
    /** bytes */
    memorySize: LimitRange;
    /** Largest uploaded package. @default 50 MiB (the CLI's own cap) */
    packageMaxBytes: number;
    /** Largest unpacked package, the zip-bomb guard. @default 256 MiB */
    unpackedMaxBytes: number;
    /** Most files in one package. @default 10000 */
    packageMaxEntries: number;
    /** Largest JSON/form request body on the function API (uploads use packageMaxBytes). @default 1 MiB */
    requestBodyMaxBytes: number;
    /** Execution log kept per execution; the rest is cut with a marker. @default 1 MiB */
    logMaxBytes: number;
    /** Most processes in one sandbox. @default 128 (Qinling's runtime rlimit) */
    processes: number;
    /** Most open files in one sandbox. @default 1024 */
    openFiles: number;
    /** Private /tmp size in a sandbox. @default 64 MiB */
    tmpBytes: number;
  };
  executor: {
    /** bubblewrap binary. @default /usr/bin/bwrap */
    bwrapPath: string;
    /** Python 3 interpreter for the python3 runtime; Debian's, not a pyenv shim. @default /usr/bin/python3 */
    pythonPath: string;
    /** Node.js binary for the nodejs runtime. @default the running node */
    nodePath: string;
    /** podman binary for image functions; unset or missing means image functions cannot run. @default /usr/bin/podman */
    podmanPath: string;
    /** cgroup v1 mount root used for memory/cpu/pids limits. @default /sys/fs/cgroup */
    cgroupRoot: string;
    /** Generic warm sandboxes kept ready per runtime. @default 2 */
    poolSize: number;
    /** Most sandboxes running at once (all functions). @default 16 */
    maxSandboxes: number;
    /** Most sandboxes one function version may hold. @default 4 */
    maxWorkersPerFunction: number;
    /** Calls waiting for a sandbox before new ones get 429. @default 1000 */
    queueLimit: number;
    /** Memory granted to the runtime itself (interpreter, built-in libraries) on top of the
     *  function's memory_size, as Qinling's worker parent held its libraries outside the
     *  function's cgroup. @default 128 MiB */
    runtimeOverheadBytes: number;
    /** A warm sandbox unused this long is stopped. @default 600 s */
    idleSeconds: number;
    /** Directory holding the runtime servers (python3/server.py, nodejs/server.js), mounted
     *  read-only in every sandbox. @default <repository>/functions-runtime */
    runtimeDir: string;
  };
  /** Which parts this process runs (CAIRN_ROLE): `all` is api + executor in one process (`npm start`);
   *  `api` and `executor` are the two halves of the distributed mode. @default all */
  role: 'all' | 'api' | 'executor';
  /** The api ⇄ executor internal HTTP API (distributed mode). */
  internal: {
    /** Shared secret both sides send and check (CAIRN_INTERNAL_TOKEN); required for the api and executor roles. */
    token: string | undefined;
    /** Where the api reaches the executor (CAIRN_EXECUTOR_URL); required for the api role. */
    executorUrl: string | undefined;
    /** Where the executor reaches the api (CAIRN_API_URL): function packages, the sandboxes' API forwarder; required for the executor role. */
    apiUrl: string | undefined;
    /** Longest wait for the executor's answer beyond the function's own timeout. @default 30 s */
    marginSeconds: number;
  };
  /** Where package functions run (CAIRN_SANDBOX). @default bwrap */
  sandbox: SandboxConfig;
  /** Code next to the data: ZeroCloud jobs and storlets (one sandbox per node or call). */
  runs: {
    /** Wall-clock limit of a whole ZeroCloud job. @default 10 s (ZeroCloud's `zerovm_timeout`) */
    zerocloudTimeoutSeconds: number;
    /** Wall-clock limit of one storlet call. @default 40 s (Storlets' `storlet_timeout`) */
    storletTimeoutSeconds: number;
    /** Memory per sandbox. @default 256 MiB */
    memoryBytes: number;
    /** Warm storlet workers kept at most (CAIRN_STORLET_WORKERS); 0 runs every call cold. @default 8 */
    storletWorkers: number;
    /** Idle seconds before a warm storlet worker exits (CAIRN_STORLET_IDLE_SECONDS). @default 300 (Storlets' daemons) */
    storletIdleSeconds: number;
  };
  /** Swift's container sync: where containers may sync to, and how often the sync pass runs. */
  containerSync: ContainerSyncConfig;
}

/** One container-sync realm (Swift's container-sync-realms.conf section), names upper-cased. */
export interface SyncRealm {
  /** The realm's shared secret; signs `X-Container-Sync-Auth`. */
  key: string;
  /** A second secret accepted on incoming requests, for key rotation. */
  key2: string | undefined;
  /** Cluster name → its Swift API endpoint, ending in `/v1/`. */
  clusters: Record<string, string>;
}

export interface ContainerSyncConfig {
  /** Hosts a full-URL `X-Container-Sync-To` may name (CAIRN_CONTAINER_SYNC_HOSTS, comma-separated).
   *  @default 127.0.0.1,localhost */
  allowedHosts: string[];
  /** Realms for `//REALM/CLUSTER/account/container` values, by upper-case name
   *  (CAIRN_CONTAINER_SYNC_REALMS: path to a JSON file). @default none */
  realms: Record<string, SyncRealm>;
  /** Seconds between sync passes (CAIRN_CONTAINER_SYNC_INTERVAL); 0 disables the pass. @default 300 */
  intervalSeconds: number;
}

/** The roles a deployment knows (services/core/identity/store.ts ROLES). */
const KNOWN_ROLES = ['admin', 'member'];

function operatorRoles(raw: string, problems: string[]): string[] {
  const roles = raw.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = roles.filter((r) => !KNOWN_ROLES.includes(r));
  if (roles.length === 0 || unknown.length) {
    problems.push(`CAIRN_STORAGE_OPERATOR_ROLES=${raw}: expected a comma-separated list of ${KNOWN_ROLES.join(', ')}`);
    return ['admin', 'member'];
  }
  return roles;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const MiB = 1024 * 1024;

type Env = Record<string, string | undefined>;

/**
 * Reads CAIRN_* variables (and explicit overrides, which win) into a Config. Every problem is
 * collected into one ConfigError that names the variable and what it takes.
 */
export function loadConfig(env: Env = process.env, overrides: Partial<Env> = {}): Config {
  const e: Env = { ...env, ...overrides };
  const problems: string[] = [];
  const int = (name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = e[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${raw}: expected an integer from ${min} to ${max}`);
      return def;
    }
    return n;
  };
  const str = (name: string, def: string): string => (e[name] === undefined || e[name] === '' ? def : (e[name] as string));
  const opt = (name: string): string | undefined => (e[name] === undefined || e[name] === '' ? undefined : e[name]);

  const databaseUrl = opt('CAIRN_DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(`CAIRN_DATABASE_URL=${databaseUrl}: expected postgres://user@host:port/db (or unset for embedded PGlite)`);
  }
  const objectStore = objectStoreConfig(str, opt, problems);
  const publicUrl = opt('CAIRN_PUBLIC_URL')?.replace(/\/+$/, '');
  if (publicUrl && !/^https?:\/\/[^/]+/.test(publicUrl)) problems.push(`CAIRN_PUBLIC_URL=${publicUrl}: expected http(s)://host[:port]`);

  const timeoutMax = int('CAIRN_TIMEOUT_MAX', 300, 1, 3600);
  const config: Config = {
    version: str('CAIRN_VERSION', readPackageVersion()),
    host: str('CAIRN_HOST', '127.0.0.1'),
    port: int('CAIRN_PORT', 8080, 0, 65535),
    publicUrl,
    dataDir: path.resolve(str('CAIRN_DATA_DIR', '.cairn')),
    databaseUrl,
    region: str('CAIRN_REGION', 'RegionOne'),
    identity: {
      adminPassword: opt('CAIRN_ADMIN_PASSWORD'),
      demoPassword: opt('CAIRN_DEMO_PASSWORD'),
      tokenTtlSeconds: int('CAIRN_TOKEN_TTL', 86400, 60, 30 * 86400),
      storageOperatorRoles: operatorRoles(str('CAIRN_STORAGE_OPERATOR_ROLES', 'admin,member'), problems),
    },
    objectStore,
    limits: {
      timeout: { default: int('CAIRN_TIMEOUT_DEFAULT', 5, 1, timeoutMax), min: 1, max: timeoutMax },
      cpu: { default: 100, min: 100, max: int('CAIRN_CPU_MAX', 300, 100, 64000) },
      memorySize: { default: 32 * MiB, min: 32 * MiB, max: int('CAIRN_MEMORY_MAX', 128 * MiB, 32 * MiB) },
      packageMaxBytes: int('CAIRN_PACKAGE_MAX_BYTES', 50 * MiB, 1024),
      unpackedMaxBytes: int('CAIRN_UNPACKED_MAX_BYTES', 256 * MiB, 1024),
      packageMaxEntries: int('CAIRN_PACKAGE_MAX_ENTRIES', 10000, 1),
      requestBodyMaxBytes: int('CAIRN_REQUEST_BODY_MAX_BYTES', 1 * MiB, 1024),
      logMaxBytes: int('CAIRN_LOG_MAX_BYTES', 1 * MiB, 1024),
      processes: int('CAIRN_SANDBOX_PROCESSES', 128, 8),
      openFiles: int('CAIRN_SANDBOX_OPEN_FILES', 1024, 64),
      tmpBytes: int('CAIRN_SANDBOX_TMP_BYTES', 64 * MiB, MiB),
    },
    executor: {
      bwrapPath: str('CAIRN_BWRAP', '/usr/bin/bwrap'),
      pythonPath: str('CAIRN_PYTHON', '/usr/bin/python3'),
      nodePath: str('CAIRN_NODE', process.execPath),
      podmanPath: str('CAIRN_PODMAN', '/usr/bin/podman'),
      cgroupRoot: str('CAIRN_CGROUP_ROOT', '/sys/fs/cgroup'),
      poolSize: int('CAIRN_POOL_SIZE', 2, 0, 64),
      maxSandboxes: int('CAIRN_MAX_SANDBOXES', 16, 1, 4096),
      maxWorkersPerFunction: int('CAIRN_MAX_WORKERS_PER_FUNCTION', 4, 1, 1024),
      queueLimit: int('CAIRN_QUEUE_LIMIT', 1000, 0),
      runtimeOverheadBytes: int('CAIRN_RUNTIME_OVERHEAD_BYTES', 128 * MiB, 16 * MiB),
      idleSeconds: int('CAIRN_IDLE_SECONDS', 600, 1),
      runtimeDir: path.resolve(str('CAIRN_RUNTIME_DIR', path.join(__dirname, '..', '..', 'functions-runtime'))),
    },
    role: roleOf(str('CAIRN_ROLE', 'all'), problems),
    internal: {
      token: opt('CAIRN_INTERNAL_TOKEN'),
      executorUrl: opt('CAIRN_EXECUTOR_URL')?.replace(/\/+$/, ''),
      apiUrl: opt('CAIRN_API_URL')?.replace(/\/+$/, ''),
      marginSeconds: int('CAIRN_INTERNAL_MARGIN', 30, 1, 600),
    },
    sandbox: sandboxConfig(str, opt, problems),
    runs: {
      zerocloudTimeoutSeconds: int('CAIRN_ZEROCLOUD_TIMEOUT', 10, 1, 3600),
      storletTimeoutSeconds: int('CAIRN_STORLET_TIMEOUT', 40, 1, 3600),
      memoryBytes: int('CAIRN_RUN_MEMORY_BYTES', 256 * MiB, 32 * MiB),
      storletWorkers: int('CAIRN_STORLET_WORKERS', 8, 0, 1024),
      storletIdleSeconds: int('CAIRN_STORLET_IDLE_SECONDS', 300, 1, 86400),
    },
    containerSync: {
      allowedHosts: str('CAIRN_CONTAINER_SYNC_HOSTS', '127.0.0.1,localhost').split(',').map((h) => h.trim()).filter(Boolean),
      realms: syncRealms(opt('CAIRN_CONTAINER_SYNC_REALMS'), problems),
      intervalSeconds: int('CAIRN_CONTAINER_SYNC_INTERVAL', 300, 0, 7 * 86400),
    },
  };
  checkRole(config, problems);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/**
 * Reads the realms file: `{"<realm>": {"key": "…", "key2": "…", "clusters": {"<cluster>":
 * "https://host/v1/"}}}`. Names are upper-cased, as Swift compares them.
 */
function syncRealms(file: string | undefined, problems: string[]): Record<string, SyncRealm> {
  if (file === undefined) return {};
  const bad = (why: string): Record<string, SyncRealm> => {
    problems.push(`CAIRN_CONTAINER_SYNC_REALMS=${file}: ${why}`);
    return {};
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return bad(`expected a readable JSON file (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return bad('expected a JSON object of realms');
  const realms: Record<string, SyncRealm> = {};
  const errors: string[] = [];
  for (const [name, raw] of Object.entries(parsed)) {
    const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof r.key !== 'string' || r.key === '') errors.push(`realm ${name}: "key" must be a non-empty string`);
    if (r.key2 !== undefined && (typeof r.key2 !== 'string' || r.key2 === '')) errors.push(`realm ${name}: "key2" must be a non-empty string when given`);
    const clusters: Record<string, string> = {};
    if (typeof r.clusters !== 'object' || r.clusters === null || Array.isArray(r.clusters)) errors.push(`realm ${name}: "clusters" must be an object of cluster name → endpoint`);
    else {
      for (const [cluster, url] of Object.entries(r.clusters)) {
        if (typeof url !== 'string' || !/^https?:\/\/[^/]+(\/.*)?\/v1\/$/.test(url)) errors.push(`realm ${name}: cluster ${cluster}: expected an endpoint http(s)://host[:port]/…/v1/`);
        else clusters[cluster.toUpperCase()] = url;
      }
    }
    realms[name.toUpperCase()] = { key: String(r.key ?? ''), key2: typeof r.key2 === 'string' ? r.key2 : undefined, clusters };
  }
  if (errors.length) return bad(errors.join('; '));
  return realms;
}

function roleOf(raw: string, problems: string[]): Config['role'] {
  if (raw === 'all' || raw === 'api' || raw === 'executor') return raw;
  problems.push(`CAIRN_ROLE=${raw}: expected all, api or executor`);
  return 'all';
}

/** The split roles cannot work without their peer's address and the shared secret. */
function checkRole(c: Config, problems: string[]): void {
  const { role, internal } = c;
  if (c.sandbox.backend === 'kubernetes' && role !== 'executor') problems.push('CAIRN_SANDBOX=kubernetes needs CAIRN_ROLE=executor: runtime pods are created by the executor service of the distributed mode');
  if (role === 'all') return;
  if (!internal.token) problems.push(`CAIRN_INTERNAL_TOKEN is required when CAIRN_ROLE=${role}: the same long random string for the api and the executor (the chart reads it from the cairn-secret Secret)`);
  else if (internal.token.length < 16) problems.push('CAIRN_INTERNAL_TOKEN: expected at least 16 characters');
  const url = (name: string, v: string | undefined, needed: boolean): void => {
    if (v === undefined) {
      if (needed) problems.push(`${name} is required when CAIRN_ROLE=${role}`);
    } else if (!/^http:\/\/[^/]+$/.test(v)) problems.push(`${name}=${v}: expected http://host:port (cluster-internal, no path)`);
  };
  url('CAIRN_EXECUTOR_URL', internal.executorUrl, role === 'api');
  url('CAIRN_API_URL', internal.apiUrl, role === 'executor');
}

/** `bwrap`: local bubblewrap sandboxes (default). `kubernetes`: runtime pods the executor creates. */
export type SandboxConfig =
  | { backend: 'bwrap' }
  | {
      backend: 'kubernetes';
      /** Namespace of the runtime pods (CAIRN_K8S_NAMESPACE). @default cairn-runtimes */
      namespace: string;
      /** Kubernetes API server URL (CAIRN_K8S_API_URL), e.g. a `kubectl proxy`; unset means the
       *  in-cluster service account (or ~/.kube/config outside a cluster). */
      apiUrl: string | undefined;
      /** Images of the runtime pods, pinned, by runtime (CAIRN_K8S_IMAGE_PYTHON3, CAIRN_K8S_IMAGE_NODEJS). */
      images: { python3: string; nodejs: string };
      /** Where the runtime image keeps functions-runtime/. @default /opt/cairn/functions-runtime */
      imageRuntimeDir: string;
      /** The pods' control port (CAIRN_K8S_CONTROL_PORT). @default 9090 (the runtime-pool chart's RUNTIME_PORT) */
      controlPort: number;
      /** Longest wait for a new pod to become ready. @default 120 s */
      podStartSeconds: number;
    };

function sandboxConfig(
  str: (name: string, def: string) => string,
  opt: (name: string) => string | undefined,
  problems: string[],
): SandboxConfig {
  const backend = str('CAIRN_SANDBOX', 'bwrap');
  if (backend === 'bwrap') return { backend };
  if (backend !== 'kubernetes') {
    problems.push(`CAIRN_SANDBOX=${backend}: expected bwrap or kubernetes`);
    return { backend: 'bwrap' };
  }
  const apiUrl = opt('CAIRN_K8S_API_URL')?.replace(/\/+$/, '');
  if (apiUrl && !/^https?:\/\/[^/]+/.test(apiUrl)) problems.push(`CAIRN_K8S_API_URL=${apiUrl}: expected http(s)://host[:port]`);
  const image = (name: string): string => {
    const v = opt(name);
    if (!v) problems.push(`${name} is required when CAIRN_SANDBOX=kubernetes (the runtime's image, pinned to the platform version)`);
    return v ?? '';
  };
  const images = { python3: image('CAIRN_K8S_IMAGE_PYTHON3'), nodejs: image('CAIRN_K8S_IMAGE_NODEJS') };
  const port = Number(str('CAIRN_K8S_CONTROL_PORT', '9090'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`CAIRN_K8S_CONTROL_PORT=${port}: expected a port number`);
  const start = Number(str('CAIRN_K8S_POD_START_SECONDS', '120'));
  if (!Number.isInteger(start) || start < 1) problems.push(`CAIRN_K8S_POD_START_SECONDS=${start}: expected a positive integer`);
  return {
    backend,
    namespace: str('CAIRN_K8S_NAMESPACE', 'cairn-runtimes'),
    apiUrl,
    images,
    imageRuntimeDir: str('CAIRN_K8S_IMAGE_RUNTIME_DIR', '/opt/cairn/functions-runtime'),
    controlPort: port,
    podStartSeconds: start,
  };
}

function readPackageVersion(): string {
  // package.json sits at the repository root, two levels above services/core.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}

/** The URL users reach the api at, once the listening port is known. */
export function publicBaseUrl(config: Config, boundPort: number): string {
  return config.publicUrl ?? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${boundPort}`;
}

/**
 * `fs`: files under the data directory with the listing index in the database (the default).
 * `swift`: a real Swift upstream; Cairn account `AUTH_<p>` is the upstream account
 * `<accountPrefix><p>` (others: objectstore/swift-names.ts), reached with a reseller-admin credential. `s3`: object bytes in one S3 bucket, the listing index
 * in the database.
 */
export type ObjectStoreConfig =
  | { backend: 'fs' }
  | {
      backend: 'swift';
      /** Auth endpoint: `…/auth/v1.0` (tempauth) or a Keystone `…/v3`. */
      authUrl: string;
      /** `1` (tempauth, `account:user`) or `3` (Keystone password auth). @default 1 */
      authVersion: '1' | '3';
      user: string;
      key: string;
      /** Keystone project of the credential (auth version 3). */
      projectName: string | undefined;
      /** Keystone domain of the user and project (auth version 3). @default Default */
      domainName: string;
      /** Prefix of upstream account names (Swift's reseller prefix). @default AUTH_ */
      accountPrefix: string;
    }
  | {
      backend: 's3';
      /** S3 endpoint; unset means AWS's own endpoint for `region`. */
      endpoint: string | undefined;
      region: string;
      bucket: string;
      /** Unset means the AWS SDK's default credential chain (instance role, env, profile). */
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
      /** Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need. */
      forcePathStyle: boolean;
    };

function objectStoreConfig(
  str: (name: string, def: string) => string,
  opt: (name: string) => string | undefined,
  problems: string[],
): ObjectStoreConfig {
  const backend = str('CAIRN_OBJECT_STORE', 'fs');
  const required = (name: string): string => {
    const v = opt(name);
    if (v === undefined) problems.push(`${name} is required when CAIRN_OBJECT_STORE=${backend}`);
    return v ?? '';
  };
  const url = (name: string, v: string | undefined): void => {
    if (v !== undefined && v !== '' && !/^https?:\/\/[^/]+/.test(v)) problems.push(`${name}=${v}: expected http(s)://host[:port][/path]`);
  };
  switch (backend) {
    case 'fs':
      return { backend };
    case 'swift': {
      const authUrl = required('CAIRN_SWIFT_AUTH_URL');
      url('CAIRN_SWIFT_AUTH_URL', authUrl);
      const authVersion = str('CAIRN_SWIFT_AUTH_VERSION', '1');
      if (authVersion !== '1' && authVersion !== '3') problems.push(`CAIRN_SWIFT_AUTH_VERSION=${authVersion}: expected 1 or 3`);
      const projectName = opt('CAIRN_SWIFT_PROJECT');
      if (authVersion === '3' && projectName === undefined) problems.push('CAIRN_SWIFT_PROJECT is required when CAIRN_SWIFT_AUTH_VERSION=3');
      return {
        backend,
        authUrl,
        authVersion: authVersion === '3' ? '3' : '1',
        user: required('CAIRN_SWIFT_USER'),
        key: required('CAIRN_SWIFT_KEY'),
        projectName,
        domainName: str('CAIRN_SWIFT_DOMAIN', 'Default'),
        accountPrefix: str('CAIRN_SWIFT_ACCOUNT_PREFIX', 'AUTH_'),
      };
    }
    case 's3': {
      const endpoint = opt('CAIRN_S3_ENDPOINT');
      url('CAIRN_S3_ENDPOINT', endpoint);
      const accessKeyId = opt('CAIRN_S3_ACCESS_KEY_ID');
      const secretAccessKey = opt('CAIRN_S3_SECRET_ACCESS_KEY');
      if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
        problems.push('CAIRN_S3_ACCESS_KEY_ID and CAIRN_S3_SECRET_ACCESS_KEY are set together or not at all');
      }
      const pathStyle = str('CAIRN_S3_FORCE_PATH_STYLE', endpoint === undefined ? 'false' : 'true');
      if (pathStyle !== 'true' && pathStyle !== 'false') problems.push(`CAIRN_S3_FORCE_PATH_STYLE=${pathStyle}: expected true or false`);
      return {
        backend,
        endpoint,
        region: str('CAIRN_S3_REGION', 'us-east-1'),
        bucket: required('CAIRN_S3_BUCKET'),
        accessKeyId,
        secretAccessKey,
        forcePathStyle: pathStyle === 'true',
      };
    }
    default:
      problems.push(`CAIRN_OBJECT_STORE=${backend}: expected fs, swift or s3`);
      return { backend: 'fs' };
  }
}
