// The execution service: the durable side of running functions. It records every execution
// before it runs (so a crash can never leave one unaccounted for), runs sync executions at
// once and async ones from a queue in the database (claimed with FOR UPDATE SKIP LOCKED, so
// several executors can share it), stores result and log, and on start-up settles whatever
// a crashed executor left `running`.
import type { BlobStore } from '../core/blobs';
import { logBlobKey } from '../core/code';
import { isCairnError } from '../core/errors';
import type { Database, Queryable } from '../core/db/database';
import type { ExecutionInput, Executor, FunctionSpec, RunResult } from '../core/execution';
import { RUN_MESSAGES } from '../core/execution';
import { newHexId, newUuid } from '../core/ids';
import { pythonJson } from '../core/pyjson';
import { Batcher } from '../core/batcher';

/** Logs up to this size stay inline in the executions row; larger ones go to the blob store. */
const INLINE_LOG_BYTES = 64 * 1024;
const HEARTBEAT_MS = 5_000;
const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

export interface ExecutionRow {
  id: string;
  project_id: string;
  user_id: string | null;
  function_id: string;
  function_version: number;
  function_alias: string | null;
  description: string | null;
  input: string | null;
  result: string | null;
  status: 'running' | 'success' | 'failed' | 'error';
  sync: boolean;
  log: string | null;
  log_key: string | null;
  created_at: Date;
  updated_at: Date | null;
}

/** A new executions row, as the batched INSERT takes it. */
interface NewRow {
  id: string;
  project_id: string;
  user_id: string;
  function_id: string;
  function_version: number;
  function_alias: string | null;
  description: string | null;
  input: string | null;
  sync: boolean;
  claimed_by: string | null;
}

/** The end state of an execution, as the batched UPDATE takes it. */
interface FinalState {
  id: string;
  status: RunResult['status'];
  result: string;
  log: string | null;
  log_key: string | null;
}

export interface NewExecution {
  projectId: string;
  userId: string;
  functionId: string;
  functionVersion: number;
  functionAlias: string | null;
  description: string | null;
  /** The input as shown back to users (spec §4.6). */
  inputText: string | null;
  input: ExecutionInput;
  sync: boolean;
}

export interface ExecutionServiceDeps {
  db: Database;
  executor: Executor;
  blobs: BlobStore;
  region: string;
  /** Builds the FunctionSpec of a function version at run time (async and queued runs). */
  resolveFunction(functionId: string, version: number): Promise<FunctionSpec>;
  /** A token for the execution's owner, handed to the function as its context. */
  issueToken(userId: string, projectId: string): Promise<string>;
  /** Most async executions this executor runs at once. @default 8 */
  asyncConcurrency?: number;
  /** True when this is the only executor (local mode): every claim left by another id is stale at once. */
  exclusive: boolean;
}

export class ExecutionService {
  readonly executorId = `exec-${newHexId().slice(0, 12)}`;
  private heartbeat?: NodeJS.Timeout;
  private poller?: NodeJS.Timeout;
  private inFlight = 0;
  private polling = false;
  private stopped = false;
  private readonly running = new Set<Promise<unknown>>();
  /** New records and final states are group-committed: one statement for all concurrent calls. */
  private readonly inserts = new Batcher<NewRow, ExecutionRow>((rows) => this.insertRows(rows));
  private readonly finishes = new Batcher<FinalState, ExecutionRow | undefined>((rows) => this.finishRows(rows));

  constructor(private readonly deps: ExecutionServiceDeps) {}

  private async insertRows(rows: NewRow[]): Promise<ExecutionRow[]> {
    const col = <K extends keyof NewRow>(k: K) => rows.map((r) => r[k]);
    // Counting and recording in one statement: atomic without an explicit transaction.
    const inserted = await this.deps.db.query<ExecutionRow>(
      `WITH v AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::bool[], $10::text[])
           AS t(id, project_id, user_id, function_id, function_version, function_alias, description, input, sync, claimed_by)),
       counted AS (
         UPDATE functions f SET count = f.count + c.n FROM (SELECT function_id, count(*) AS n FROM v GROUP BY function_id) c
         WHERE f.id = c.function_id)
       INSERT INTO executions (id, project_id, user_id, function_id, function_version, function_alias, description, input,
         status, sync, claimed_by, claimed_at)
       SELECT id, project_id, user_id, function_id, function_version, function_alias, description, input,
         'running', sync, claimed_by, CASE WHEN sync THEN now() END FROM v
       RETURNING *`,
      [col('id'), col('project_id'), col('user_id'), col('function_id'), col('function_version'), col('function_alias'), col('description'), col('input'), col('sync'), col('claimed_by')],
    );
    const byId = new Map(inserted.map((r) => [r.id, r]));
    return rows.map((r) => byId.get(r.id) as ExecutionRow);
  }

  private async finishRows(rows: FinalState[]): Promise<(ExecutionRow | undefined)[]> {
    const col = <K extends keyof FinalState>(k: K) => rows.map((r) => r[k]);
    const updated = await this.deps.db.query<ExecutionRow>(
      `UPDATE executions e SET status = v.status, result = v.result, log = v.log, log_key = v.log_key, claimed_by = NULL, updated_at = now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS v(id, status, result, log, log_key)
       WHERE e.id = v.id RETURNING e.*`,
      [col('id'), col('status'), col('result'), col('log'), col('log_key')],
    );
    const byId = new Map(updated.map((r) => [r.id, r]));
    return rows.map((r) => byId.get(r.id));
  }

  async start(): Promise<void> {
    const { db } = this.deps;
    await db.query('INSERT INTO executors (id) VALUES ($1)', [this.executorId]);
    await this.recover();
    this.heartbeat = setInterval(() => {
      db.query('UPDATE executors SET heartbeat_at = now() WHERE id = $1', [this.executorId]).catch(() => undefined);
      if (!this.deps.exclusive) this.recover().catch((err) => console.error('[executions] recovery failed', err));
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    this.poller = setInterval(() => this.poll(), 1_000);
    this.poller.unref();
    this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearInterval(this.poller);
    await Promise.allSettled([...this.running]);
    await this.deps.db.query('DELETE FROM executors WHERE id = $1', [this.executorId]).catch(() => undefined);
  }

  /**
   * Records a new execution. A sync one runs now and the final row is returned; an async one is
   * queued and returned `running`. The function's `count` is bumped at creation, whatever the outcome.
   */
  async submit(e: NewExecution, fn?: FunctionSpec, callerToken?: string): Promise<ExecutionRow> {
    const id = newUuid();
    const recorded = this.inserts.submit({
      id,
      project_id: e.projectId,
      user_id: e.userId,
      function_id: e.functionId,
      function_version: e.functionVersion,
      function_alias: e.functionAlias,
      description: e.description,
      input: e.inputText,
      sync: e.sync,
      claimed_by: e.sync ? this.executorId : null,
    });
    if (!e.sync) {
      const row = await recorded;
      this.poll();
      return row;
    }
    // A sync run starts while its record is being written: the record is committed long before
    // a run could be interrupted, and a short run does not wait for two round trips in a row.
    recorded.catch(() => undefined);
    let result: RunResult;
    try {
      result = await this.execute({ id, function_id: e.functionId, function_version: e.functionVersion, project_id: e.projectId, user_id: e.userId }, e.input, fn, callerToken);
    } catch (err) {
      // Back-pressure (429) and an unreachable executor (503) are answers, not executions: take the record back.
      if (isRefusal(err)) {
        await recorded;
        await this.deps.db.query(
          `WITH uncounted AS (UPDATE functions SET count = count - 1 WHERE id = $2) DELETE FROM executions WHERE id = $1`,
          [id, e.functionId],
        );
      }
      throw err;
    }
    await recorded;
    return this.finish(id, result);
  }

  /** The full log text of an execution ('' while nothing is recorded). */
  async log(row: Pick<ExecutionRow, 'log' | 'log_key'>): Promise<string> {
    if (row.log !== null) return row.log;
    if (row.log_key) return (await this.deps.blobs.get(row.log_key))?.toString('utf8') ?? '';
    return '';
  }

  async deleteLog(row: Pick<ExecutionRow, 'log_key'>): Promise<void> {
    if (row.log_key) await this.deps.blobs.delete(row.log_key);
  }

  /** Runs one execution; only back-pressure throws, every other failure is an `error` result. */
  private async execute(
    row: Pick<ExecutionRow, 'id' | 'function_id' | 'function_version' | 'project_id' | 'user_id'>,
    input: ExecutionInput,
    fn?: FunctionSpec,
    callerToken?: string,
  ): Promise<RunResult> {
    try {
      const spec = fn ?? (await this.deps.resolveFunction(row.function_id, row.function_version));
      // A sync call runs with the caller's own token; queued runs get a fresh one for the owner.
      const token = callerToken ?? (await this.deps.issueToken(row.user_id ?? '', row.project_id));
      return await this.deps.executor.run({
        executionId: row.id,
        fn: spec,
        input,
        caller: { token, projectId: row.project_id, userId: row.user_id ?? '', region: this.deps.region },
      });
    } catch (err) {
      if (isRefusal(err)) throw err;
      console.error(`[executions] ${row.id} could not run:`, err);
      const reason = isCairnError(err) ? err.message : (err as Error).message;
      return { status: 'error', output: RUN_MESSAGES.failed, duration: 0, log: `Execution ${row.id} could not run: ${reason}\n`, warm: false };
    }
  }

  private async finish(id: string, r: RunResult): Promise<ExecutionRow> {
    const resultText = pythonJson('output' in r && r.output !== undefined ? { duration: r.duration, output: r.output } : { duration: r.duration });
    let log: string | null = r.log;
    let logKey: string | null = null;
    if (Buffer.byteLength(r.log) > INLINE_LOG_BYTES) {
      logKey = logBlobKey(id);
      await this.deps.blobs.put(logKey, Buffer.from(r.log));
      log = null;
    }
    const row = await this.finishes.submit({ id, status: r.status, result: resultText, log, log_key: logKey });
    // Deleted while running: the record is gone by the user's wish; nothing to return but the outcome.
    return row ?? ({ id, status: r.status, result: resultText } as ExecutionRow);
  }

  /** Claims queued async executions up to the concurrency budget and runs them. */
  private poll(): void {
    if (this.polling || this.stopped) return;
    const budget = (this.deps.asyncConcurrency ?? 8) - this.inFlight;
    if (budget <= 0) return;
    this.polling = true;
    this.claim(budget)
      .then((rows) => {
        for (const row of rows) {
          this.inFlight++;
          const p = this.execute(row, inputOf(row))
            .then((result) => this.finish(row.id, result))
            .catch(async (err) => {
              // The executor's queue is full or it is away: hand the execution back to the queue for a later claim.
              if (isRefusal(err)) {
                await this.deps.db.query('UPDATE executions SET claimed_by = NULL, claimed_at = NULL WHERE id = $1', [row.id]).catch(() => undefined);
              } else console.error(`[executions] async ${row.id} failed to finish:`, err);
            })
            .finally(() => {
              this.inFlight--;
              this.running.delete(p);
              this.poll();
            });
          this.running.add(p);
        }
      })
      .catch((err) => console.error('[executions] claim failed', err))
      .finally(() => {
        this.polling = false;
      });
  }

  private claim(limit: number): Promise<ExecutionRow[]> {
    return this.deps.db.query<ExecutionRow>(
      `UPDATE executions SET claimed_by = $1, claimed_at = now()
       WHERE id IN (SELECT id FROM executions WHERE status = 'running' AND NOT sync AND claimed_by IS NULL
                    ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [this.executorId, limit],
    );
  }

  /**
   * Settles executions whose executor is gone: they end as `error` with the reason, never stay
   * `running`. Queued async executions nobody claimed yet are kept and run.
   */
  async recover(): Promise<number> {
    const { db } = this.deps;
    const reason = RUN_MESSAGES.failed;
    const note = 'Execution interrupted: the executor running it stopped (platform restart or crash).\n';
    const rows = await db.transaction(async (tx: Queryable) => {
      const stale = this.deps.exclusive
        ? `claimed_by <> $1`
        : `claimed_by IN (SELECT id FROM executors WHERE id <> $1 AND heartbeat_at < now() - interval '${STALE_AFTER_MS / 1000} seconds')
           OR (claimed_by IS NOT NULL AND claimed_by NOT IN (SELECT id FROM executors))`;
      const settled = await tx.query<{ id: string }>(
        `UPDATE executions SET status = 'error', result = $2, log = COALESCE(log, '') || $3, claimed_by = NULL, updated_at = now()
         WHERE status = 'running' AND (${stale}) RETURNING id`,
        [this.executorId, pythonJson({ duration: 0, output: reason }), note],
      );
      await tx.query(
        this.deps.exclusive
          ? 'DELETE FROM executors WHERE id <> $1'
          : `DELETE FROM executors WHERE id <> $1 AND heartbeat_at < now() - interval '${STALE_AFTER_MS / 1000} seconds'`,
        [this.executorId],
      );
      return settled;
    });
    if (rows.length) console.warn(`[executions] settled ${rows.length} execution(s) interrupted by a stopped executor`);
    return rows.length;
  }
}

/** The executor declined the run before it started (busy, or unreachable in the distributed mode): retry later. */
function isRefusal(err: unknown): boolean {
  return isCairnError(err) && (err.code === 'execution.queue_full' || err.code === 'executor.unavailable');
}

/** Rebuilds the runtime input of a queued execution from its stored text (spec §4.6). */
export function inputOf(row: Pick<ExecutionRow, 'input'>): ExecutionInput {
  return parseInput(row.input);
}

/**
 * Spec §4.6: a JSON object becomes keyword arguments; anything else (not JSON, an integer,
 * other JSON kinds, which broke Qinling's runtime) is one raw positional string.
 */
export function parseInput(text: string | null | undefined): ExecutionInput {
  if (text === null || text === undefined || text === '') return { kind: 'none' };
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { kind: 'object', value: value as Record<string, unknown> };
  } catch {
    // not JSON: raw
  }
  return { kind: 'raw', value: text };
}


