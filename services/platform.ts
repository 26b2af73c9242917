// One process running the whole platform on this machine: api + executor on one port, as
// `npm start` runs it. With CAIRN_ROLE=api the same composition serves the api alone and hands
// executions to a remote executor (api/executor-client.ts); the executor role is
// executor-process.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createFunctionSurface } from './api/functions';
import { FunctionCache } from './api/functions/function-cache';
import { ensureRuntime } from './api/functions/runtimes';
import { functionSpec, SWIFT_PACKAGE_MAX_BYTES } from './api/functions/functions';
import type { TenantObjects } from './api/functions/ports';
import { identitySurfaces } from './api/identity';
import { RemoteExecutor } from './api/executor-client';
import { RemoteRunExecutor } from './api/remote-runs';
import { createInternalSurface } from './api/internal';
import { createApiServer, type ApiServer } from './api/server';
import { createStorageSurface } from './api/storage';
import { startContainerSync } from './api/storage/container-sync-daemon';
import { packageBlobKey, parseCodeKey } from './core/code';
import { publicBaseUrl, type Config } from './core/config';
import { openDatabase, type Database } from './core/db/database';
import { migrate } from './core/db/migrate';
import { CairnError } from './core/errors';
import { createIdentity, type BootstrapResult, type Identity } from './core/identity';
import { writeOpenrc } from './core/identity/openrc';
import { storageAccount } from './core/identity/types';
import { createObjectBackend, createSystemStore, readObject, type ObjectBackend } from './core/objectstore';
import { startSweeper } from './core/objectstore/sweeper';
import { DEFAULT_RUNTIMES } from './core/runtimes';
import { BwrapRunExecutor } from './executor/runs/run-executor';
import { SandboxExecutor } from './executor/sandbox-executor';
import { ExecutionService } from './executor/service';

/** Something on this host is missing; the message says what to install. */
export class HostError extends Error {
  constructor(problems: string[]) {
    super(`Cairn cannot start on this host:\n  - ${problems.join('\n  - ')}`);
    this.name = 'HostError';
  }
}

export interface Platform {
  config: Config;
  baseUrl: string;
  port: number;
  credentials: BootstrapResult;
  db: Database;
  identity: Identity;
  backend: ObjectBackend;
  /** The in-process executor; undefined in the api role, where a remote executor runs the code. */
  executor: SandboxExecutor | undefined;
  executions: ExecutionService;
  /** Human instructions printed by `npm start`. */
  banner(): string;
  stop(): Promise<void>;
}

export async function startPlatform(config: Config): Promise<Platform> {
  const runDir = path.join(config.dataDir, 'run');
  const apiSocket = path.join(runDir, 'api.sock');
  fs.mkdirSync(runDir, { recursive: true });

  // The executor states what the host lacks (bubblewrap, cgroups) before anything starts.
  let port = config.port;
  // Bound once the object store is open; the executor only calls it for runs, after start.
  let fetchPackage: (codeKey: string) => Promise<Buffer> = () => Promise.reject(new Error('platform not started'));
  const remote = config.role === 'api' ? remoteExecutor(config) : undefined;
  const executor = remote
    ? undefined
    : new SandboxExecutor(config, {
        fetchCode: (fn) => fetchPackage(fn.codeKey),
        apiSocketPath: apiSocket,
        get apiPort() {
          return port;
        },
      });
  const problems = executor?.checkHost() ?? [];
  if (problems.length) throw new HostError(problems);

  const db = await openDatabase({ url: config.databaseUrl, dataDir: path.join(config.dataDir, 'db') });
  const cleanups: (() => Promise<void>)[] = [() => db.close(), async () => remote?.close()];
  try {
    await migrate(db);
    const identity = await createIdentity({ config, db });
    const credentials = await identity.bootstrap();
    const backend = createObjectBackend(config, db);
    cleanups.unshift(() => backend.close());
    // Crash leftovers of the object store (orphan files, blobs, unfinished uploads): swept in the
    // background now and every hour; stopped before the backend closes.
    const sweeper = startSweeper(backend);
    cleanups.unshift(() => sweeper.stop());
    // Container sync pushes to other clusters every CAIRN_CONTAINER_SYNC_INTERVAL seconds, in the
    // background like the sweeper, and is stopped before the backend closes too.
    const containerSync = startContainerSync({ config, db, backend });
    cleanups.unshift(() => containerSync.stop());
    const blobs = createSystemStore(backend);
    const objects = tenantObjects(backend);
    for (const rt of DEFAULT_RUNTIMES) await ensureRuntime(db, rt, credentials.admin.projectId);

    fetchPackage = async (codeKey: string): Promise<Buffer> => {
      const key = parseCodeKey(codeKey);
      if (key?.kind === 'package') {
        const bytes = await blobs.get(packageBlobKey(key.functionId, key.md5));
        if (bytes) return bytes;
      } else if (key?.kind === 'swift') {
        const bytes = await objects.read(key.projectId, key.container, key.object, SWIFT_PACKAGE_MAX_BYTES);
        if (bytes) return bytes;
      }
      throw new CairnError('function.swift_invalid');
    };

    const executions = new ExecutionService({
      db,
      executor: remote ?? executor!,
      blobs,
      region: config.region,
      // api replicas share the queue in the distributed mode; only a lone process owns every claim.
      exclusive: !remote,
      asyncConcurrency: config.executor.maxSandboxes,
      resolveFunction: async (functionId) => {
        const [f] = await db.query<Parameters<typeof functionSpec>[1]>('SELECT * FROM functions WHERE id = $1', [functionId]);
        if (!f) throw new CairnError('function.not_found', { id: functionId });
        return functionSpec({ db, objects }, f);
      },
      issueToken: async (userId, projectId) => (await identity.issueToken({ userId, projectId })).token,
    });

    // ZeroCloud jobs and storlets: cold bwrap sandboxes, separate from the function pools; in the
    // api role they run in the executor's (api/remote-runs.ts), so the api runs no tenant code.
    const runs = remote ? remoteRuns(config) : new BwrapRunExecutor(config);
    cleanups.unshift(async () => runs.close());
    const api: ApiServer = createApiServer({
      baseUrl: () => publicBaseUrl(config, port),
      surfaces: [
        ...identitySurfaces(identity),
        createFunctionSurface({ config, db, blobs, objects, executions, pool: remote ?? executor!, validator: identity, functions: new FunctionCache() }),
        createStorageSurface({ config, db, backend, validator: identity, runs }),
        ...(remote ? [createInternalSurface({ token: config.internal.token!, packageBytes: (codeKey) => fetchPackage(codeKey) })] : []),
      ],
      health: async () => {
        await db.query('SELECT 1');
        return true;
      },
    });
    port = await api.listen(config.port, config.host);
    cleanups.unshift(() => api.close());
    if (executor) {
      await api.listenUnix(apiSocket);
      await executor.start();
      cleanups.unshift(() => executor.stop());
    }
    await executions.start();
    cleanups.unshift(() => executions.stop());

    const baseUrl = publicBaseUrl(config, port);
    for (const [file, c] of [['openrc', credentials.demo], ['openrc.admin', credentials.admin]] as const) {
      writeOpenrc(path.join(config.dataDir, file), {
        authUrl: `${baseUrl}/identity/v3`,
        username: c.userName,
        password: c.password,
        projectName: c.projectName,
        region: config.region,
      });
    }

    let stopped: Promise<void> | undefined;
    return {
      config,
      baseUrl,
      port,
      credentials,
      db,
      identity,
      backend,
      executor,
      executions,
      banner: () => banner(config, baseUrl, credentials),
      stop: () => (stopped ??= runCleanups(cleanups)),
    };
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

function remoteExecutor(config: Config): RemoteExecutor {
  // loadConfig guarantees both for the api role.
  return new RemoteExecutor({ url: config.internal.executorUrl!, token: config.internal.token!, marginSeconds: config.internal.marginSeconds });
}

function remoteRuns(config: Config): RemoteRunExecutor {
  return new RemoteRunExecutor({ url: config.internal.executorUrl!, token: config.internal.token!, marginSeconds: config.internal.marginSeconds, dataDir: config.dataDir, storletWorkers: config.runs.storletWorkers });
}

async function runCleanups(cleanups: (() => Promise<void>)[]): Promise<void> {
  for (const c of cleanups) await c().catch((err) => console.error('[platform] stop:', err));
}

function tenantObjects(backend: ObjectBackend): TenantObjects {
  return {
    async head(projectId, container, object) {
      const info = await backend.headObject(storageAccount(projectId), container, object);
      return info && { bytes: info.bytes, etag: info.etag };
    },
    async read(projectId, container, object, maxBytes) {
      try {
        return (await readObject(backend, storageAccount(projectId), container, object, maxBytes))?.data;
      } catch (err) {
        if (err instanceof CairnError) return undefined;
        throw err;
      }
    },
  };
}

function banner(config: Config, baseUrl: string, c: BootstrapResult): string {
  const rc = path.join(config.dataDir, 'openrc');
  return [
    `Cairn ${config.version} is running at ${baseUrl}`,
    `  identity (Keystone v3)   ${baseUrl}/identity/v3`,
    `  function API (Qinling)   ${baseUrl}/function/v1`,
    `  object store (Swift)     ${baseUrl}/v1/AUTH_<project_id>   (tempauth: ${baseUrl}/auth/v1.0)`,
    `  data                     ${config.dataDir}${config.databaseUrl ? ` (database ${new URL(config.databaseUrl).host})` : ' (embedded PGlite)'}`,
    '',
    `Use it:   source ${rc}      # demo user, project demo (admin: ${rc}.admin)`,
    `          openstack function create --runtime python3 --entry hello.main --file hello.py --name hello`,
    `          openstack function execution create --function hello --input '{"name": "Cairn"}'`,
    `          swift list`,
    `Users:    admin / ${c.admin.password}    demo / ${c.demo.password}`,
    'Stop with Ctrl-C.',
  ].join('\n');
}
