// /v1/executions: run a function sync or async with JSON input, then read status, result and
// log (spec §3.6, §4.5, §4.6). Recording and running belong to the ExecutionService.
import { CairnError } from '../../core/errors';
import { pythonJson } from '../../core/pyjson';
import { parseInput, type ExecutionRow } from '../../executor/service';
import { readJsonObject } from '../http/body';
import { sendEmpty, sendJson, sendText } from '../http/respond';
import type { Router } from '../http/router';
import type { Call, CallHandler } from './context';
import type { FilterColumn } from './filters';
import { functionSpec, listWhere, visibleFunctionWithRuntime } from './functions';
import { timestamp } from './wire';

export function executionView(e: ExecutionRow): Record<string, unknown> {
  return {
    id: e.id,
    function_id: e.function_id,
    function_version: e.function_version,
    function_alias: e.function_alias,
    description: e.description,
    input: e.input,
    result: e.result,
    status: e.status,
    sync: e.sync,
    project_id: e.project_id,
    created_at: timestamp(e.created_at),
    updated_at: timestamp(e.updated_at),
  };
}

async function visibleExecution(call: Call): Promise<ExecutionRow> {
  const [row] = await call.deps.db.query<ExecutionRow>('SELECT * FROM executions WHERE id = $1', [call.params.id]);
  if (!row || (row.project_id !== call.auth.projectId && !call.auth.isAdmin)) throw new CairnError('execution.not_found', { id: call.params.id });
  return row;
}

/** `function_version` arrives as an int from create commands and as a numeric string elsewhere. */
function versionOf(raw: unknown): number {
  if (raw === undefined || raw === null || raw === '') return 0;
  const n = typeof raw === 'number' ? raw : /^\d+$/.test(String(raw)) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new CairnError('request.invalid_param', { name: 'function_version', reason: 'a non-negative integer is required' });
  return n;
}

const create: CallHandler = async (call) => {
  const { ctx, auth, deps } = call;
  const body = await readJsonObject(ctx.req, deps.config.limits.requestBodyMaxBytes);
  const alias = typeof body.function_alias === 'string' && body.function_alias !== '' ? body.function_alias : null;
  const functionId = typeof body.function_id === 'string' && body.function_id !== '' ? body.function_id : null;
  if (!functionId && !alias) throw new CairnError('execution.function_required');
  // Aliases and versions arrive with the versions issue; until then neither can exist.
  if (!functionId && alias) throw new CairnError('execution.alias_not_found', { name: alias });
  const version = versionOf(body.function_version);
  let cached = deps.functions.get(functionId as string);
  if (!cached) {
    const { fn, runtime } = await visibleFunctionWithRuntime(deps.db, functionId as string, auth);
    cached = { fn, runtime, spec: await functionSpec(deps, fn, runtime) };
    deps.functions.set(fn.id, cached);
  }
  const { fn: f, runtime, spec } = cached;
  if (f.project_id !== auth.projectId && !auth.isAdmin) throw new CairnError('function.not_found', { id: f.id });
  if (version > 0) {
    if (f.code.source !== 'package') throw new CairnError('execution.version_not_package');
    throw new CairnError('execution.version_not_found', { id: f.id, version });
  }
  if (runtime && runtime.status !== 'available') throw new CairnError('runtime.unavailable_for_execution', { id: runtime.id });
  const rawInput = body.input === undefined || body.input === null ? null : typeof body.input === 'string' ? body.input : JSON.stringify(body.input);
  const input = parseInput(rawInput);
  const sync = body.sync === undefined || body.sync === null ? true : body.sync === true || /^(true|1)$/i.test(String(body.sync));
  const description = typeof body.description === 'string' ? body.description : null;
  const row = await deps.executions.submit(
    {
      projectId: f.project_id,
      userId: auth.userId,
      functionId: f.id,
      functionVersion: version,
      functionAlias: alias,
      description,
      inputText: input.kind === 'object' ? pythonJson(input.value) : rawInput,
      input,
      sync,
    },
    spec,
    auth.token,
  );
  sendJson(ctx.res, 201, executionView(row));
};

const EXECUTION_FILTERS: Record<string, FilterColumn> = {
  id: { column: 'id', type: 'text' },
  function_id: { column: 'function_id', type: 'text' },
  function_version: { column: 'function_version', type: 'int' },
  function_alias: { column: 'function_alias', type: 'text' },
  status: { column: 'status', type: 'text' },
  description: { column: 'description', type: 'text' },
  input: { column: 'input', type: 'text' },
  sync: { column: 'sync', type: 'bool' },
  created_at: { column: 'created_at', type: 'time' },
  updated_at: { column: 'updated_at', type: 'time' },
};

const list: CallHandler = async ({ ctx, auth, deps }) => {
  const { where, params } = listWhere(ctx.query, EXECUTION_FILTERS, auth);
  const rows = await deps.db.query<ExecutionRow>(
    `SELECT id, project_id, function_id, function_version, function_alias, description, input, result, status, sync,
            created_at, updated_at FROM executions ${where} ORDER BY created_at`,
    params,
  );
  sendJson(ctx.res, 200, { executions: rows.map(executionView) });
};

const show: CallHandler = async (call) => {
  sendJson(call.ctx.res, 200, executionView(await visibleExecution(call)));
};

const remove: CallHandler = async (call) => {
  const row = await visibleExecution(call);
  await call.deps.db.query('DELETE FROM executions WHERE id = $1', [row.id]);
  await call.deps.executions.deleteLog(row);
  sendEmpty(call.ctx.res, 204);
};

const log: CallHandler = async (call) => {
  const row = await visibleExecution(call);
  sendText(call.ctx.res, 200, await call.deps.executions.log(row));
};

export function executionRoutes(r: Router<CallHandler>): void {
  r.add('GET', '/v1/executions', list)
    .add('POST', '/v1/executions', create)
    .add('GET', '/v1/executions/:id', show)
    .add('DELETE', '/v1/executions/:id', remove)
    .add('GET', '/v1/executions/:id/log', log);
}
