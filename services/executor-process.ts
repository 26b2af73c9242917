// The executor role of the distributed mode (CAIRN_ROLE=executor, `dist/executor.js`): the
// sandboxes and the internal API the api calls, nothing else. It holds no platform state: the
// api records executions and serves function packages; the sandboxes' API traffic is relayed to
// the api (executor/internal/api-relay.ts), so function code sees the same endpoints as locally.
// ZeroCloud jobs and storlet calls come as plans of Runs with their staged files (run-plans).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from './core/config';
import type { FunctionSpec } from './core/execution';
import { errorFromBody, INTERNAL_PATHS } from './core/internal-api';
import { InternalClient, jsonOf } from './core/internal-client';
import { ApiRelay } from './executor/internal/api-relay';
import { createInternalServer, type InternalBackend } from './executor/internal/server';
import { HostError } from './platform';
import { SandboxExecutor } from './executor/sandbox-executor';
import { BwrapRunExecutor } from './executor/runs/run-executor';
import { StorletLeases } from './executor/internal/storlet-route';

/** Deadline of one package download from the api. */
const CODE_FETCH_MS = 60_000;

/** What the role needs of a sandbox backend beyond serving the internal API. */
export interface ExecutorBackend extends InternalBackend {
  checkHost(): string[] | Promise<string[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ExecutorProcess {
  config: Config;
  /** Where the internal API and health are served. */
  baseUrl: string;
  port: number;
  stop(): Promise<void>;
}

export async function startExecutorProcess(config: Config): Promise<ExecutorProcess> {
  // loadConfig guarantees both for the executor role.
  const apiUrl = config.internal.apiUrl!;
  const token = config.internal.token!;
  const runDir = path.join(config.dataDir, 'run');
  fs.mkdirSync(runDir, { recursive: true });
  const api = new InternalClient(apiUrl, token);
  const fetchCode = async (fn: FunctionSpec): Promise<Buffer> => {
    // A package download is a read: retried on transient failures.
    const a = await api.call({ method: 'GET', path: INTERNAL_PATHS.code(fn.codeKey), timeoutMs: CODE_FETCH_MS, idempotent: true });
    if (a.status === 200) return a.body;
    throw errorFromBody(a.status, jsonOf(a));
  };
  const relay = new ApiRelay(path.join(runDir, 'api.sock'), apiUrl);
  const backend = await createBackend(config, {
    fetchCode,
    apiSocketPath: path.join(runDir, 'api.sock'),
    apiPort: Number(new URL(apiUrl).port || 80),
  });
  const problems = await backend.checkHost();
  if (problems.length) throw new HostError(problems);

  let ready = false;
  // ZeroCloud jobs and storlet calls the api sends (run-plans): cold bwrap sandboxes, as in local mode.
  const runs = new BwrapRunExecutor(config);
  const platformPaths = [config.executor.runtimeDir, config.executor.nodePath];
  const plans = { runs, platformPaths };
  // Warm storlet workers live here; the api sends a version's code when a worker must start for it.
  const storlets = new StorletLeases({ runs, platformPaths });
  const server = createInternalServer({ backend, token, version: config.version, plans, storlets, ready: () => ready });
  const cleanups: (() => Promise<void>)[] = [async () => storlets.close(), async () => runs.close(), async () => api.close()];
  try {
    await relay.start();
    cleanups.unshift(() => relay.stop());
    await backend.start();
    cleanups.unshift(() => backend.stop());
    const port = await server.listen(config.port, config.host);
    cleanups.unshift(() => server.close());
    ready = true;
    let stopped: Promise<void> | undefined;
    return {
      config,
      baseUrl: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
      port,
      stop: () =>
        (stopped ??= (async () => {
          ready = false;
          for (const c of cleanups) await c().catch((err) => console.error('[executor] stop:', err));
        })()),
    };
  } catch (err) {
    for (const c of cleanups) await c().catch(() => undefined);
    throw err;
  }
}

async function createBackend(config: Config, deps: { fetchCode(fn: FunctionSpec): Promise<Buffer>; apiSocketPath: string; apiPort: number }): Promise<ExecutorBackend> {
  if (config.sandbox.backend === 'kubernetes') {
    // Loaded only when chosen: the Kubernetes client is an ES module of its own.
    const { KubernetesExecutor } = await import('./executor/sandbox/kubernetes/kubernetes-executor');
    return new KubernetesExecutor(config, config.sandbox, { fetchCode: deps.fetchCode, apiUrl: config.internal.apiUrl! });
  }
  return new SandboxExecutor(config, deps);
}
