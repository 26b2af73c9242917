// The api's side of the split: the Executor contract (and the function API's pool views) served
// by a remote executor over the internal HTTP API. A run is not idempotent, so it is sent again
// only when the connection was refused (it never arrived); reads and releases retry freely.
// Failures to reach the executor become `executor.unavailable` (503), never an `error` execution.
import { CairnError, isCairnError } from '../core/errors';
import { RUN_MESSAGES, type Executor, type RunRequest, type RunResult, type RuntimeKind } from '../core/execution';
import { errorFromBody, INTERNAL_PATHS, type PoolStatus, type WorkerView } from '../core/internal-api';
import { InternalClient, jsonOf, PeerUnreachableError, type InternalAnswer, type InternalCall } from '../core/internal-client';
import type { PoolView } from './functions/ports';

/** Deadline of reads and releases. */
const SMALL_CALL_MS = 5_000;

export interface RemoteExecutorOptions {
  /** CAIRN_EXECUTOR_URL. */
  url: string;
  /** CAIRN_INTERNAL_TOKEN. */
  token: string;
  /** Added to the function's timeout for the run's deadline (queueing, sandbox start). */
  marginSeconds: number;
}

export class RemoteExecutor implements Executor, PoolView {
  private readonly client: InternalClient;

  constructor(private readonly opts: RemoteExecutorOptions) {
    this.client = new InternalClient(opts.url, opts.token);
  }

  async run(req: RunRequest): Promise<RunResult> {
    let a: InternalAnswer;
    try {
      a = await this.call({ method: 'POST', path: INTERNAL_PATHS.runs, body: req, timeoutMs: (req.fn.timeoutSeconds + this.opts.marginSeconds) * 1000 });
    } catch (err) {
      // Lost after the request went out: the run may have started, so it is recorded, not retried.
      const cause = isCairnError(err) ? err.cause : undefined;
      if (cause instanceof PeerUnreachableError && cause.sent) {
        return { status: 'error', output: RUN_MESSAGES.failed, duration: 0, log: `Execution ${req.executionId}: the executor was lost during the run (${cause.message}).\n`, warm: false };
      }
      throw err;
    }
    const r = jsonOf(a) as RunResult | undefined;
    if (!r || typeof r.status !== 'string' || typeof r.log !== 'string') throw new CairnError('executor.protocol', { reason: 'a run answer without status and log' });
    return r;
  }

  async poolStatus(runtime: RuntimeKind): Promise<PoolStatus> {
    return jsonOf(await this.call({ method: 'GET', path: INTERNAL_PATHS.pool(runtime), timeoutMs: SMALL_CALL_MS, idempotent: true })) as PoolStatus;
  }

  async workers(functionId: string): Promise<WorkerView[]> {
    const body = jsonOf(await this.call({ method: 'GET', path: INTERNAL_PATHS.workers(functionId), timeoutMs: SMALL_CALL_MS, idempotent: true })) as { workers?: WorkerView[] };
    return body?.workers ?? [];
  }

  /** Fire and forget, as in-process: a function update must not fail because the executor is away (its sandboxes then expire idle). */
  release(functionId: string, version?: number): void {
    this.call({ method: 'POST', path: INTERNAL_PATHS.release(functionId), body: version === undefined ? {} : { version }, timeoutMs: SMALL_CALL_MS, idempotent: true }).catch((err) =>
      console.warn(`[executor-client] release of ${functionId} failed: ${(err as Error).message}`),
    );
  }

  close(): void {
    this.client.close();
  }

  /** One call; transport failures and error answers become CairnErrors. */
  private async call(c: InternalCall): Promise<InternalAnswer> {
    let a: InternalAnswer;
    try {
      a = await this.client.call(c);
    } catch (err) {
      if (err instanceof PeerUnreachableError) throw new CairnError('executor.unavailable', { reason: err.message }, { cause: err });
      throw err;
    }
    if (a.status >= 200 && a.status < 300) return a;
    const err = errorFromBody(a.status, jsonOf(a));
    // The caller did nothing wrong: a token mismatch is the platform's misconfiguration.
    if (err.code === 'internal.unauthorized') throw new CairnError('executor.unavailable', { reason: 'it refused the internal token; CAIRN_INTERNAL_TOKEN differs between api and executor' });
    throw err;
  }
}
