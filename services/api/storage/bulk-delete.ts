// Bulk delete: `POST` (or `DELETE`) `/v1/<account>?bulk-delete` with one URL-encoded
// `/container/object` or `/container` per line, at most 10000. Once the list is accepted the
// answer is always 200; the outcome is a report in the body (JSON with `Accept: application/json`,
// else `Key: value` lines), as Swift's bulk middleware sends it. The status line goes out before
// the work, and a space every few seconds keeps a long request from timing out at the client.
import type { IncomingMessage } from 'node:http';
import { CairnError } from '../../core/errors';
import type { ObjectBackend } from '../../core/objectstore/backend';
import { decodePath } from './constraints';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';

export const BULK_DELETE_INFO = { max_deletes_per_request: 10_000, max_failed_deletes: 1_000 } as const;

/** Longest line read: a container and an object name at their limits, %-encoded. */
const MAX_LINE_BYTES = 3 * (256 + 1024) + 2;
const KEEPALIVE_MS = 5_000;

export interface DeleteReport {
  deleted: number;
  notFound: number;
  /** `[path, "409 Conflict"]` per failure. */
  errors: [string, string][];
}

const STATUS_TEXT: Record<number, string> = { 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found', 409: '409 Conflict', 412: '412 Precondition Failed', 500: '500 Internal Error', 503: '503 Service Unavailable' };

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Error`;
}

/** The report body in the format the client asked for. */
export function renderReport(report: DeleteReport, accept: string | undefined): { type: string; body: string } {
  const status = report.errors.length ? '400 Bad Request' : '200 OK';
  const body = report.errors.length ? 'Invalid bulk delete.' : '';
  if ((accept ?? '').includes('application/json')) {
    return {
      type: 'application/json',
      body: JSON.stringify({ 'Number Deleted': report.deleted, 'Number Not Found': report.notFound, 'Response Status': status, 'Response Body': body, Errors: report.errors }),
    };
  }
  const lines = [`Number Deleted: ${report.deleted}`, `Number Not Found: ${report.notFound}`, `Response Status: ${status}`, `Response Body: ${body}`, 'Errors:'];
  for (const [p, s] of report.errors) lines.push(`${p}, ${s}`);
  return { type: 'text/plain', body: `${lines.join('\n')}\n` };
}

/** Deletes one `/container[/object]`, counting the outcome into `report`. */
export async function deleteOne(backend: ObjectBackend, account: string, container: string, object: string | undefined, label: string, report: DeleteReport): Promise<void> {
  try {
    if (object === undefined) await backend.deleteContainer(account, container);
    else await backend.deleteObject(account, container, object);
    report.deleted += 1;
  } catch (err) {
    if (!(err instanceof CairnError)) throw err;
    if (err.status === 404) report.notFound += 1;
    else report.errors.push([label, statusText(err.status)]);
  }
}

async function readLines(req: IncomingMessage, max: number): Promise<string[]> {
  const limit = max * (MAX_LINE_BYTES + 1);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw new CairnError('storage.bulk_too_many', { max });
    chunks.push(c);
  }
  const lines = Buffer.concat(chunks).toString('latin1').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length > max) throw new CairnError('storage.bulk_too_many', { max });
  return lines;
}

export function bulkDelete(deps: Pick<StorageDeps, 'backend'>): Middleware {
  return {
    name: 'bulk-delete',
    after: ['auth'],
    info: { bulk_delete: BULK_DELETE_INFO },
    async handle(req: StorageRequest, next) {
      const target = req.target;
      const { ctx } = req;
      if (!target || target.kind !== 'account' || !ctx.query.has('bulk-delete') || (ctx.method !== 'POST' && ctx.method !== 'DELETE')) return next();
      const lines = await readLines(ctx.req, BULK_DELETE_INFO.max_deletes_per_request);
      const report: DeleteReport = { deleted: 0, notFound: 0, errors: [] };
      const jobs: { container: string; object?: string; label: string }[] = [];
      for (const line of lines) {
        let path: string;
        try {
          path = decodePath(line).replace(/^\/+/, '');
        } catch {
          report.errors.push([Buffer.from(line, 'latin1').toString('utf8'), '412 Precondition Failed']);
          continue;
        }
        const slash = path.indexOf('/');
        const container = slash === -1 ? path : path.slice(0, slash);
        const object = slash === -1 ? undefined : path.slice(slash + 1) || undefined;
        const tooLong = Buffer.byteLength(container) > 256 || (object !== undefined && Buffer.byteLength(object) > 1024);
        if (!container || tooLong) report.errors.push([`/${path}`, '400 Bad Request']);
        else jobs.push({ container, object, label: `/${path}` });
      }
      const { res } = ctx;
      const accept = String(ctx.req.headers.accept ?? '');
      res.writeHead(200, { 'Content-Type': accept.includes('application/json') ? 'application/json' : 'text/plain' });
      const keepalive = setInterval(() => res.write(' '), KEEPALIVE_MS);
      try {
        for (const job of jobs) {
          if (report.errors.length >= BULK_DELETE_INFO.max_failed_deletes || res.destroyed) break;
          await deleteOne(deps.backend, target.account, job.container, job.object, job.label, report);
        }
      } finally {
        clearInterval(keepalive);
      }
      res.end(renderReport(report, accept).body);
    },
  };
}
