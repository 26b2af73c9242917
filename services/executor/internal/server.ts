// The executor's HTTP port in the distributed mode: the internal API the api calls (runs, pool
// views, releases; core/internal-api.ts) behind the shared secret, and unauthenticated health for
// Kubernetes' probes. Node's http: four routes do not need a framework, and the run path is hot.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CairnError, isCairnError } from '../../core/errors';
import type { RunRequest, RunResult, RuntimeKind } from '../../core/execution';
import { hasInternalToken, INTERNAL_PREFIX, internalErrorBody, type PoolStatus, type WorkerView } from '../../core/internal-api';
import { servePlan, type PlanRunner } from './plan-route';
import type { StorletLeases } from './storlet-route';

/** Largest run request: the input is capped by the api (1 MiB by default) plus the function spec and context. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** What the server drives: the sandbox backend (bwrap pools or Kubernetes pods). */
export interface InternalBackend {
  run(req: RunRequest): Promise<RunResult>;
  poolStatus(runtime: RuntimeKind): PoolStatus;
  workers(functionId: string): WorkerView[];
  release(functionId: string, version?: number): void;
}

export interface InternalServerOptions {
  backend: InternalBackend;
  token: string;
  version: string;
  /** ZeroCloud and storlet plans (run-plans); absent where this executor does not run them. */
  plans?: PlanRunner;
  /** Warm storlet workers held for the api's calls; absent where this executor keeps none. */
  storlets?: StorletLeases;
  /** Readiness: false while starting and once stopping. */
  ready(): boolean;
}

export interface InternalServer {
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

export function createInternalServer(opts: InternalServerOptions): InternalServer {
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      const e = isCairnError(err) ? err : new CairnError('internal', { requestId: '-' });
      if (!isCairnError(err)) console.error('[executor] internal API:', err);
      send(res, e.status, internalErrorBody(e));
    });
  });
  // Longer than any run's deadline on the api side, so the api (not this server) ends an idle connection.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

async function handle(opts: InternalServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://executor');
  const p = url.pathname;
  if (p === '/healthz' || p === '/readyz') {
    // Liveness is the process answering; readiness is being able to take runs.
    const ok = p === '/healthz' || opts.ready();
    return send(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', role: 'executor', version: opts.version });
  }
  if (!p.startsWith(`${INTERNAL_PREFIX}/`)) throw new CairnError('request.not_found');
  if (!hasInternalToken(req, opts.token)) throw new CairnError('internal.unauthorized');
  const rest = p.slice(INTERNAL_PREFIX.length);
  const { backend } = opts;
  if (rest === '/runs') {
    allow(req, 'POST');
    if (!opts.ready()) throw new CairnError('executor.stopped');
    return send(res, 200, await backend.run(parseRun(await readJson(req))));
  }
  if (rest === '/run-plans') {
    allow(req, 'POST');
    if (!opts.ready()) throw new CairnError('executor.stopped');
    if (!opts.plans) throw new CairnError('request.not_found');
    return servePlan(opts.plans, req, res);
  }
  if (rest === '/storlet-workers') {
    allow(req, 'POST');
    if (!opts.ready()) throw new CairnError('executor.stopped');
    return send(res, 200, opts.storlets ? await opts.storlets.acquire(req) : { lease: null, needCode: false });
  }
  let m = /^\/storlet-workers\/([^/]+)\/(call|release)$/.exec(rest);
  if (m) {
    allow(req, 'POST');
    const id = decodeURIComponent(m[1]);
    if (!opts.storlets) throw new CairnError('request.not_found');
    if (m[2] === 'call') return opts.storlets.call(id, req, res);
    await opts.storlets.giveBack(id);
    res.writeHead(204).end();
    return;
  }
  m = /^\/pools\/([^/]+)$/.exec(rest);
  if (m) {
    allow(req, 'GET');
    const runtime = decodeURIComponent(m[1]);
    if (runtime !== 'python3' && runtime !== 'nodejs') throw new CairnError('request.invalid_param', { name: 'runtime', reason: 'python3 or nodejs' });
    return send(res, 200, backend.poolStatus(runtime));
  }
  m = /^\/functions\/([^/]+)\/(workers|release)$/.exec(rest);
  if (m) {
    const functionId = decodeURIComponent(m[1]);
    if (m[2] === 'workers') {
      allow(req, 'GET');
      return send(res, 200, { workers: backend.workers(functionId) });
    }
    allow(req, 'POST');
    const body = (await readJson(req)) as { version?: unknown };
    if (body.version !== undefined && !(Number.isInteger(body.version) && (body.version as number) >= 0)) {
      throw new CairnError('request.invalid_param', { name: 'version', reason: 'a non-negative integer' });
    }
    backend.release(functionId, body.version as number | undefined);
    res.writeHead(204).end();
    return;
  }
  throw new CairnError('request.not_found');
}

function allow(req: http.IncomingMessage, method: string): void {
  if (req.method !== method) throw new CairnError('request.method_not_allowed', { method: req.method ?? '' });
}

/** The run request as the api sends it; the shape is checked where a wrong one would crash a sandbox. */
function parseRun(body: unknown): RunRequest {
  const r = body as Partial<RunRequest>;
  const bad = (name: string): never => {
    throw new CairnError('request.invalid_param', { name, reason: 'missing or of the wrong type' });
  };
  if (!r || typeof r.executionId !== 'string') bad('executionId');
  if (!r.fn || typeof r.fn.functionId !== 'string' || typeof r.fn.codeKey !== 'string' || typeof r.fn.timeoutSeconds !== 'number') bad('fn');
  if (!r.input || typeof r.input.kind !== 'string') bad('input');
  if (!r.caller || typeof r.caller.token !== 'string') bad('caller');
  return r as RunRequest;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES) throw new CairnError('request.body_too_large', { limit: MAX_BODY_BYTES });
    chunks.push(chunk);
  }
  if (bytes === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new CairnError('request.bad_json', { reason: (err as Error).message });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length });
  res.end(payload);
}
