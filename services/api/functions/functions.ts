// /v1/functions: create from a package, an object in the store or a container image; list,
// show, download, update, delete (spec §3.3). Packages live in the blob store by MD5.
import { createHash } from 'node:crypto';
import type { Queryable } from '../../core/db/database';
import { CairnError } from '../../core/errors';
import type { FunctionSpec } from '../../core/execution';
import { newUuid } from '../../core/ids';
import { packageBlobKey, packageCodeKey, swiftCodeKey, type StoredCode } from '../../core/code';
import { validatePackage } from '../../core/packages';
import { runtimeKindOf } from '../../core/runtimes';
import { sendEmpty, sendJson, sendText } from '../http/respond';
import type { Router } from '../http/router';
import { requireAdmin, type Call, type CallHandler, type FunctionApiDeps } from './context';
import { parseFilters, type FilterColumn } from './filters';
import { readForm, type FormInput } from './forms';
import { parseLimit } from './limits';
import { visibleRuntime, type RuntimeRow } from './runtimes';
import { timestamp } from './wire';

/** Largest object accepted as a swift-source package (Qinling: 51 MiB). */
export const SWIFT_PACKAGE_MAX_BYTES = 51 * 1024 * 1024;
const ENTRY_PATTERN = /^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*\.[A-Za-z_$][\w$]*$/;

export interface FunctionRow {
  id: string;
  project_id: string;
  name: string | null;
  description: string | null;
  runtime_id: string | null;
  code: StoredCode;
  entry: string | null;
  cpu: number;
  memory_size: string | number;
  timeout: number;
  count: string | number;
  latest_version: number;
  package_key: string | null;
  created_at: Date;
  updated_at: Date | null;
}

/** Qinling returned `code` as an object on create/show/update and as JSON text in lists. */
export function functionView(f: FunctionRow, codeAsText = false): Record<string, unknown> {
  return {
    id: f.id,
    name: f.name,
    description: f.description,
    count: Number(f.count),
    code: codeAsText ? JSON.stringify(f.code) : f.code,
    runtime_id: f.runtime_id,
    entry: f.entry,
    cpu: f.cpu,
    memory_size: Number(f.memory_size),
    timeout: f.timeout,
    latest_version: f.latest_version,
    project_id: f.project_id,
    created_at: timestamp(f.created_at),
    updated_at: timestamp(f.updated_at),
  };
}

/** The function if the caller may see it (own project; admins see all), else 404. */
export async function visibleFunction(db: Queryable, id: string, auth: Call['auth']): Promise<FunctionRow> {
  const [row] = await db.query<FunctionRow>('SELECT * FROM functions WHERE id = $1', [id]);
  if (!row || (row.project_id !== auth.projectId && !auth.isAdmin)) throw new CairnError('function.not_found', { id });
  return row;
}

/** The function and its runtime in one round trip (the invocation hot path). */
export async function visibleFunctionWithRuntime(db: Queryable, id: string, auth: Call['auth']): Promise<{ fn: FunctionRow; runtime?: RuntimeRow }> {
  const [row] = await db.query<FunctionRow & { runtime: RuntimeRow | null }>(
    'SELECT f.*, to_jsonb(r.*) AS runtime FROM functions f LEFT JOIN runtimes r ON r.id = f.runtime_id WHERE f.id = $1',
    [id],
  );
  if (!row || (row.project_id !== auth.projectId && !auth.isAdmin)) throw new CairnError('function.not_found', { id });
  const { runtime, ...fn } = row;
  return { fn: fn as FunctionRow, runtime: runtime ?? undefined };
}

/** What the executor needs to run version 0 of a function. */
export async function functionSpec(deps: Pick<FunctionApiDeps, 'db' | 'objects'>, f: FunctionRow, runtime?: RuntimeRow): Promise<FunctionSpec> {
  const base = {
    functionId: f.id,
    version: 0,
    projectId: f.project_id,
    entry: f.entry ?? undefined,
    timeoutSeconds: f.timeout,
    cpuMillis: f.cpu,
    memoryBytes: Number(f.memory_size),
  };
  if (f.code.source === 'image') return { ...base, kind: 'image', image: f.code.image, codeKey: `image:${f.code.image}` };
  const rt = runtime ?? (await runtimeOf(deps.db, f));
  const kind = runtimeKindOf(rt.image);
  if (!kind) throw new CairnError('runtime.unavailable_for_execution', { id: rt.id });
  if (f.code.source === 'package') return { ...base, kind: 'package', runtime: kind, codeKey: packageCodeKey(f.id, f.code.md5sum) };
  const { container, object } = f.code.swift;
  const info = await deps.objects.head(f.project_id, container, object);
  if (!info) throw new CairnError('function.swift_invalid');
  return { ...base, kind: 'package', runtime: kind, codeKey: swiftCodeKey(f.project_id, container, object, info.etag) };
}

export async function runtimeOf(db: Queryable, f: FunctionRow): Promise<RuntimeRow> {
  const [rt] = await db.query<RuntimeRow>('SELECT * FROM runtimes WHERE id = $1', [f.runtime_id]);
  if (!rt) throw new CairnError('runtime.not_found', { id: String(f.runtime_id) });
  return rt;
}

function parseCode(text: string | undefined): Record<string, unknown> {
  if (text === undefined) throw new CairnError('request.missing_param', { params: "{'code'}" });
  let code: unknown;
  try {
    code = JSON.parse(text);
  } catch {
    throw new CairnError('function.invalid_code', { reason: 'code must be a JSON object such as {"source": "package"}' });
  }
  if (code === null || typeof code !== 'object' || Array.isArray(code)) {
    throw new CairnError('function.invalid_code', { reason: 'code must be a JSON object such as {"source": "package"}' });
  }
  return code as Record<string, unknown>;
}

function parseEntry(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!ENTRY_PATTERN.test(raw)) throw new CairnError('function.invalid_entry', { entry: raw });
  return raw;
}

async function acceptPackage(deps: FunctionApiDeps, functionId: string, pkg: Buffer | undefined, claimedMd5: unknown): Promise<string> {
  if (!pkg || pkg.length === 0) throw new CairnError('function.package_missing');
  const md5 = createHash('md5').update(pkg).digest('hex');
  if (typeof claimedMd5 === 'string' && claimedMd5 !== '' && claimedMd5.toLowerCase() !== md5) throw new CairnError('function.package_md5_mismatch');
  await validatePackage(pkg, deps.config.limits);
  await deps.blobs.put(packageBlobKey(functionId, md5), pkg);
  return md5;
}

async function checkSwiftObject(deps: FunctionApiDeps, projectId: string, swift: unknown): Promise<{ container: string; object: string }> {
  const s = (swift ?? {}) as Record<string, unknown>;
  if (typeof s.container !== 'string' || typeof s.object !== 'string' || !s.container || !s.object) {
    throw new CairnError('function.swift_incomplete');
  }
  const info = await deps.objects.head(projectId, s.container, s.object);
  if (!info || info.bytes > SWIFT_PACKAGE_MAX_BYTES) throw new CairnError('function.swift_invalid');
  return { container: s.container, object: s.object };
}

function formLimits(deps: FunctionApiDeps) {
  return { fieldsMaxBytes: deps.config.limits.requestBodyMaxBytes, packageMaxBytes: deps.config.limits.packageMaxBytes };
}

const create: CallHandler = async ({ ctx, auth, deps }) => {
  const form = await readForm(ctx.req, formLimits(deps));
  const f = form.fields;
  const code = parseCode(f.code);
  const limits = deps.config.limits;
  // Validate every field before anything is stored.
  const timeout = parseLimit('timeout', f.timeout, limits.timeout) ?? limits.timeout.default;
  const cpu = parseLimit('cpu', f.cpu, limits.cpu) ?? limits.cpu.default;
  const memory = parseLimit('memory_size', f.memory_size, limits.memorySize) ?? limits.memorySize.default;
  const entry = parseEntry(f.entry);
  const id = newUuid();
  let stored: StoredCode;
  let runtimeId: string | null = null;
  let packageKey: string | null = null;
  if (code.source === 'image') {
    if (typeof code.image !== 'string' || code.image === '') throw new CairnError('function.invalid_code', { reason: 'an image function needs "image"' });
    stored = { source: 'image', image: code.image };
  } else if (code.source === 'package' || code.source === 'swift') {
    if (!f.runtime_id) throw new CairnError('function.runtime_required');
    const rt = await visibleRuntime(deps.db, f.runtime_id, auth.projectId);
    if (rt.status !== 'available') throw new CairnError('runtime.not_available', { id: rt.id });
    runtimeId = rt.id;
    if (code.source === 'package') {
      const md5 = await acceptPackage(deps, id, form.package, code.md5sum);
      packageKey = packageBlobKey(id, md5);
      stored = { source: 'package', md5sum: md5 };
    } else {
      stored = { source: 'swift', swift: await checkSwiftObject(deps, auth.projectId, code.swift) };
    }
  } else {
    throw new CairnError('function.invalid_source');
  }
  const [row] = await deps.db.query<FunctionRow>(
    `INSERT INTO functions (id, project_id, name, description, runtime_id, code, entry, cpu, memory_size, timeout, package_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [id, auth.projectId, f.name ?? null, f.description ?? null, runtimeId, JSON.stringify(stored), stored.source === 'image' ? null : (entry ?? 'main.main'), cpu, memory, timeout, packageKey],
  );
  sendJson(ctx.res, 201, functionView(row));
};

const FUNCTION_FILTERS: Record<string, FilterColumn> = {
  id: { column: 'id', type: 'text' },
  name: { column: 'name', type: 'text' },
  description: { column: 'description', type: 'text' },
  runtime_id: { column: 'runtime_id', type: 'text' },
  entry: { column: 'entry', type: 'text' },
  count: { column: 'count', type: 'int' },
  timeout: { column: 'timeout', type: 'int' },
  cpu: { column: 'cpu', type: 'int' },
  memory_size: { column: 'memory_size', type: 'int' },
  created_at: { column: 'created_at', type: 'time' },
  updated_at: { column: 'updated_at', type: 'time' },
};

/**
 * The WHERE clause of a list call: the query's filters plus tenancy — members see their project
 * only; admins may widen with all_projects, or pick one with project_id.
 */
export function listWhere(query: URLSearchParams, columns: Record<string, FilterColumn>, auth: Call['auth']): { where: string; params: unknown[] } {
  const filters = parseFilters(query, columns, 0);
  if (filters.allProjects && !auth.isAdmin) throw new CairnError('auth.forbidden');
  const project = !auth.isAdmin ? auth.projectId : filters.projectId ?? (filters.allProjects ? undefined : auth.projectId);
  const where = [...filters.where];
  const params = [...filters.params];
  if (project !== undefined) {
    params.push(project);
    where.push(`project_id = $${params.length}`);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

const list: CallHandler = async ({ ctx, auth, deps }) => {
  const { where, params } = listWhere(ctx.query, FUNCTION_FILTERS, auth);
  const rows = await deps.db.query<FunctionRow>(`SELECT * FROM functions ${where} ORDER BY created_at`, params);
  sendJson(ctx.res, 200, { functions: rows.map((r) => functionView(r, true)) });
};

const show: CallHandler = async ({ ctx, auth, params, deps }) => {
  const f = await visibleFunction(deps.db, params.id, auth);
  if (/^(true|1)$/i.test(ctx.query.get('download') ?? '')) return download(ctx, f, deps);
  sendJson(ctx.res, 200, functionView(f));
};

async function download(ctx: Call['ctx'], f: FunctionRow, deps: FunctionApiDeps): Promise<void> {
  let bytes: Buffer | undefined;
  if (f.code.source === 'image') throw new CairnError('function.download_image');
  if (f.code.source === 'package') bytes = f.package_key ? await deps.blobs.get(f.package_key) : undefined;
  else bytes = await deps.objects.read(f.project_id, f.code.swift.container, f.code.swift.object, SWIFT_PACKAGE_MAX_BYTES);
  if (!bytes) throw new CairnError('function.swift_invalid');
  // Raw bytes, never gzip-encoded: the CLI copies the socket stream to the file as is.
  sendText(ctx.res, 200, bytes, 'application/zip', { 'Content-Disposition': `attachment; filename="${f.id}"` });
}

const update: CallHandler = async ({ ctx, auth, params, deps }) => {
  const current = await visibleFunction(deps.db, params.id, auth);
  const form = await readForm(ctx.req, formLimits(deps));
  const f = form.fields;
  const limits = deps.config.limits;
  const timeout = parseLimit('timeout', f.timeout, limits.timeout);
  const codeChange = f.code !== undefined || form.package !== undefined || f.source !== undefined;
  const heavy = codeChange || f.entry !== undefined || f.cpu !== undefined || f.memory_size !== undefined;
  const cpu = parseLimit('cpu', f.cpu, limits.cpu);
  const memory = parseLimit('memory_size', f.memory_size, limits.memorySize);
  const entry = parseEntry(f.entry);
  let code: StoredCode = current.code;
  let packageKey = current.package_key;
  let oldPackageKey: string | null = null;
  if (heavy && current.code.source === 'image') throw new CairnError('function.image_code_changed');
  if (codeChange) {
    ({ code, packageKey, oldPackageKey } = await changedCode(deps, current, form));
  }
  const [row] = await deps.db.query<FunctionRow>(
    `UPDATE functions SET name = $2, description = $3, timeout = $4, cpu = $5, memory_size = $6, entry = $7, code = $8,
       package_key = $9, updated_at = now() WHERE id = $1 RETURNING *`,
    [
      current.id,
      'name' in f ? f.name : current.name,
      'description' in f ? f.description : current.description,
      timeout ?? current.timeout,
      cpu ?? current.cpu,
      memory ?? current.memory_size,
      entry ?? current.entry,
      JSON.stringify(code),
      packageKey,
    ],
  );
  deps.functions.invalidate(current.id);
  if (oldPackageKey && oldPackageKey !== packageKey) await deps.blobs.delete(oldPackageKey);
  // Warm sandboxes hold the old code and limits; the timeout is applied per call and needs no release.
  if (heavy) deps.pool.release(current.id, 0);
  sendJson(ctx.res, 200, functionView(row));
};

async function changedCode(
  deps: FunctionApiDeps,
  current: FunctionRow,
  form: FormInput,
): Promise<{ code: StoredCode; packageKey: string | null; oldPackageKey: string | null }> {
  const f = form.fields;
  const code = f.code !== undefined ? parseCode(f.code) : { source: f.source };
  if (code.source !== undefined && code.source !== current.code.source) throw new CairnError('function.code_type_changed');
  if (current.code.source === 'package') {
    if (!form.package) throw new CairnError('function.package_missing');
    const md5 = createHash('md5').update(form.package).digest('hex');
    if (typeof code.md5sum === 'string' && code.md5sum === current.code.md5sum) throw new CairnError('function.checksum_not_changed');
    await acceptPackage(deps, current.id, form.package, code.md5sum);
    return { code: { source: 'package', md5sum: md5 }, packageKey: packageBlobKey(current.id, md5), oldPackageKey: current.package_key };
  }
  if (current.code.source === 'swift') {
    // python-qinlingclient 5.1.1 sends `source=swift&swift=container&swift=object`: the values are
    // lost on its side, so only a `code` JSON field can carry a new location.
    if (f.code === undefined) throw new CairnError('function.swift_update_unsupported');
    const merged = { ...current.code.swift, ...((code.swift as object) ?? {}) };
    return { code: { source: 'swift', swift: await checkSwiftObject(deps, current.project_id, merged) }, packageKey: null, oldPackageKey: null };
  }
  throw new CairnError('function.image_code_changed');
}

const remove: CallHandler = async ({ ctx, auth, params, deps }) => {
  const f = await visibleFunction(deps.db, params.id, auth);
  if (f.project_id !== auth.projectId) throw new CairnError('function.delete_not_owner');
  await deps.db.query('DELETE FROM functions WHERE id = $1', [f.id]);
  deps.functions.invalidate(f.id);
  deps.pool.release(f.id);
  if (f.package_key) await deps.blobs.delete(f.package_key);
  sendEmpty(ctx.res, 204);
};

const workers: CallHandler = async ({ ctx, auth, params, deps }) => {
  requireAdmin(auth);
  const f = await visibleFunction(deps.db, params.id, auth);
  const version = ctx.query.get('function_version');
  const rows = (await deps.pool.workers(f.id)).filter((w) => version === null || String(w.version) === version);
  sendJson(ctx.res, 200, { workers: rows.map((w) => ({ function_id: w.functionId, function_version: w.version, worker_name: w.name })) });
};

const detach: CallHandler = async ({ ctx, auth, params, deps }) => {
  requireAdmin(auth);
  const f = await visibleFunction(deps.db, params.id, auth);
  deps.pool.release(f.id, 0);
  sendEmpty(ctx.res, 202);
};

export function functionRoutes(r: Router<CallHandler>): void {
  r.add('GET', '/v1/functions', list)
    .add('POST', '/v1/functions', create)
    .add('GET', '/v1/functions/:id', show)
    .add('PUT', '/v1/functions/:id', update)
    .add('DELETE', '/v1/functions/:id', remove)
    .add('GET', '/v1/functions/:id/workers', workers)
    .add('POST', '/v1/functions/:id/detach', detach);
}
