// The api ⇄ executor internal HTTP API (distributed mode), the part both sides share: paths, the
// shared-secret header, and the JSON error body. The api calls the executor to run executions and
// read its pools; the executor calls the api for function packages (and relays the sandboxes'
// API traffic to it). Bodies are JSON (but run-plans': framed files, core/run-wire.ts); a run's request and answer are core/execution.ts's
// RunRequest and RunResult, so local and distributed mode run the very same contract.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CairnError, ERROR_CATALOG, type ErrorCode } from './errors';

/** Every internal route lives under this prefix, on each service's one HTTP port. */
export const INTERNAL_PREFIX = '/internal/v1';

/** Header carrying the shared secret (CAIRN_INTERNAL_TOKEN). */
export const INTERNAL_TOKEN_HEADER = 'x-cairn-internal-token';

export const INTERNAL_PATHS = {
  /** POST RunRequest → RunResult (executor). */
  runs: `${INTERNAL_PREFIX}/runs`,
  /** POST a plan of Runs and its staged files → the files written and the results (executor; core/run-wire.ts). */
  runPlans: `${INTERNAL_PREFIX}/run-plans`,
  /** POST the spec (and, when asked for, the code) → { lease, sandboxInbox } | { lease: null, needCode }: a warm storlet worker held for one call (executor; core/run-wire.ts). */
  storletWorkers: `${INTERNAL_PREFIX}/storlet-workers`,
  /** POST the call and its inbox files → the call's result and output (executor; core/run-wire.ts). */
  storletCall: (lease: string) => `${INTERNAL_PREFIX}/storlet-workers/${encodeURIComponent(lease)}/call`,
  /** POST → 204: gives back a lease that made no call (executor). Idempotent. */
  storletRelease: (lease: string) => `${INTERNAL_PREFIX}/storlet-workers/${encodeURIComponent(lease)}/release`,
  /** GET → PoolStatus (executor). */
  pool: (runtime: string) => `${INTERNAL_PREFIX}/pools/${encodeURIComponent(runtime)}`,
  /** GET → { workers: WorkerView[] } (executor). */
  workers: (functionId: string) => `${INTERNAL_PREFIX}/functions/${encodeURIComponent(functionId)}/workers`,
  /** POST { version? } → 204, drops warm sandboxes (executor). Idempotent. */
  release: (functionId: string) => `${INTERNAL_PREFIX}/functions/${encodeURIComponent(functionId)}/release`,
  /** GET ?key=<codeKey> → the package zip (api). */
  code: (codeKey: string) => `${INTERNAL_PREFIX}/code?key=${encodeURIComponent(codeKey)}`,
} as const;

export interface PoolStatus {
  total: number;
  available: number;
}

export interface WorkerView {
  functionId: string;
  version: number;
  name: string;
}

/** The JSON error body of the internal API ("JSON for internal", STYLE.md rule 2). */
export interface InternalErrorBody {
  error: { code: string; message: string };
}

export function internalErrorBody(err: CairnError): InternalErrorBody {
  return { error: { code: err.code, message: err.message } };
}

/** True when the request carries the shared secret (constant-time comparison). */
export function hasInternalToken(req: IncomingMessage, token: string): boolean {
  const sent = req.headers[INTERNAL_TOKEN_HEADER];
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Rebuilds the CairnError a peer sent, keeping its code and message; unknown codes are a protocol error. */
export function errorFromBody(status: number, body: unknown): CairnError {
  const e = (body as Partial<InternalErrorBody> | undefined)?.error;
  if (e && typeof e.code === 'string' && e.code in ERROR_CATALOG) {
    const err = new CairnError(e.code as ErrorCode);
    // The peer filled in the template's parameters; keep its text.
    if (typeof e.message === 'string') err.message = e.message;
    return err;
  }
  return new CairnError('executor.protocol', { reason: `HTTP ${status} without a known error code` });
}
