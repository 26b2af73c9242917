// /v1/runtimes: the languages functions run in. Visible when public or owned; managed by admins.
import type { Database, Queryable } from '../../core/db/database';
import { CairnError } from '../../core/errors';
import { newUuid } from '../../core/ids';
import { KNOWN_RUNTIME_IMAGES, runtimeKindOf } from '../../core/runtimes';
import { readJsonObject } from '../http/body';
import { sendEmpty, sendJson } from '../http/respond';
import type { Router } from '../http/router';
import { requireAdmin, type CallHandler } from './context';
import { timestamp } from './wire';

export interface RuntimeRow {
  id: string;
  name: string | null;
  image: string;
  description: string | null;
  is_public: boolean;
  trusted: boolean;
  status: string;
  project_id: string;
  created_at: Date;
  updated_at: Date | null;
}

export function runtimeView(r: RuntimeRow): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    image: r.image,
    description: r.description,
    is_public: r.is_public,
    trusted: r.trusted,
    status: r.status,
    project_id: r.project_id,
    created_at: timestamp(r.created_at),
    updated_at: timestamp(r.updated_at),
  };
}

/** A runtime the project may use (public or its own), or 404. */
export async function visibleRuntime(db: Queryable, id: string, projectId: string): Promise<RuntimeRow> {
  const [row] = await db.query<RuntimeRow>('SELECT * FROM runtimes WHERE id = $1 AND (is_public OR project_id = $2)', [id, projectId]);
  if (!row) throw new CairnError('runtime.not_found', { id });
  return row;
}

/** Registers a runtime unless one with the same image exists (first start). */
export async function ensureRuntime(db: Database, r: { name: string; image: string; description: string }, projectId: string): Promise<void> {
  const existing = await db.query('SELECT id FROM runtimes WHERE image = $1', [r.image]);
  if (existing.length) return;
  await db.query(
    `INSERT INTO runtimes (id, name, image, description, is_public, trusted, status, project_id) VALUES ($1, $2, $3, $4, true, true, 'available', $5)`,
    [newUuid(), r.name, r.image, r.description, projectId],
  );
}

const list: CallHandler = async ({ ctx, auth, deps }) => {
  const rows = await deps.db.query<RuntimeRow>('SELECT * FROM runtimes WHERE is_public OR project_id = $1 ORDER BY created_at', [auth.projectId]);
  sendJson(ctx.res, 200, { runtimes: rows.map(runtimeView) });
};

const show: CallHandler = async ({ ctx, auth, params, deps }) => {
  sendJson(ctx.res, 200, runtimeView(await visibleRuntime(deps.db, params.id, auth.projectId)));
};

const create: CallHandler = async ({ ctx, auth, deps }) => {
  requireAdmin(auth);
  const body = await readJsonObject(ctx.req, deps.config.limits.requestBodyMaxBytes);
  const image = body.image;
  if (typeof image !== 'string' || image === '') throw new CairnError('request.missing_param', { params: "{'image'}" });
  // Local runtimes need no image pull: a known image is available at once, an unknown one cannot run here.
  if (!runtimeKindOf(image)) throw new CairnError('runtime.unknown_image', { image, known: KNOWN_RUNTIME_IMAGES.join(', ') });
  const str = (k: string): string | null => (typeof body[k] === 'string' ? (body[k] as string) : null);
  const bool = (k: string): boolean => (typeof body[k] === 'boolean' ? (body[k] as boolean) : !/^(false|0)$/i.test(String(body[k] ?? 'true')));
  const [row] = await deps.db.query<RuntimeRow>(
    `INSERT INTO runtimes (id, name, image, description, is_public, trusted, status, project_id)
     VALUES ($1, $2, $3, $4, $5, $6, 'available', $7) RETURNING *`,
    [newUuid(), str('name'), image, str('description'), bool('is_public'), bool('trusted'), auth.projectId],
  );
  sendJson(ctx.res, 201, runtimeView(row));
};

const update: CallHandler = async ({ ctx, auth, params, deps }) => {
  requireAdmin(auth);
  const current = await visibleRuntime(deps.db, params.id, auth.projectId);
  const body = await readJsonObject(ctx.req, deps.config.limits.requestBodyMaxBytes);
  const image = typeof body.image === 'string' ? body.image : current.image;
  if (!runtimeKindOf(image)) throw new CairnError('runtime.unknown_image', { image, known: KNOWN_RUNTIME_IMAGES.join(', ') });
  const [row] = await deps.db.query<RuntimeRow>(
    `UPDATE runtimes SET name = COALESCE($2, name), description = COALESCE($3, description), image = $4, updated_at = now()
     WHERE id = $1 RETURNING *`,
    [current.id, typeof body.name === 'string' ? body.name : null, typeof body.description === 'string' ? body.description : null, image],
  );
  deps.functions.invalidate();
  sendJson(ctx.res, 200, runtimeView(row));
};

const remove: CallHandler = async ({ ctx, auth, params, deps }) => {
  requireAdmin(auth);
  const rt = await visibleRuntime(deps.db, params.id, auth.projectId);
  await deps.db.transaction(async (tx) => {
    const used = await tx.query('SELECT 1 FROM functions WHERE runtime_id = $1 LIMIT 1', [rt.id]);
    if (used.length) throw new CairnError('runtime.in_use', { id: rt.id });
    await tx.query('DELETE FROM runtimes WHERE id = $1', [rt.id]);
  });
  sendEmpty(ctx.res, 204);
};

const pool: CallHandler = async ({ ctx, auth, params, deps }) => {
  requireAdmin(auth);
  const rt = await visibleRuntime(deps.db, params.id, auth.projectId);
  const kind = runtimeKindOf(rt.image);
  const capacity = kind ? await deps.pool.poolStatus(kind) : { total: 0, available: 0 };
  sendJson(ctx.res, 200, { name: rt.id, capacity });
};

export function runtimeRoutes(r: Router<CallHandler>): void {
  r.add('GET', '/v1/runtimes', list)
    .add('POST', '/v1/runtimes', create)
    .add('GET', '/v1/runtimes/:id', show)
    .add('PUT', '/v1/runtimes/:id', update)
    .add('DELETE', '/v1/runtimes/:id', remove)
    .add('GET', '/v1/runtimes/:id/pool', pool);
}
