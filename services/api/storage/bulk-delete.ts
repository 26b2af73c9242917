// Bulk delete: `POST` (or `DELETE`) `/v1/<account>[/…]?bulk-delete` with one URL-encoded
// `/container/object` or `/container` per line (relative to the account, whatever the URL's
// depth, as Swift reads them), at most 10000. Once the list is accepted the answer is always 200;
// the outcome is a report in the body (bulk-report.ts: text, JSON or XML per `Accept`), as Swift's
// bulk middleware sends it. Deletes go straight to the backend, so only the account's owner (or
// an account admin) may send one: a container ACL does not reach beyond its container.
import type { IncomingMessage } from 'node:http';
import { CairnError } from '../../core/errors';
import type { ObjectBackend } from '../../core/objectstore/backend';
import { BulkResponse, renderBulkReport, reportFormat } from './bulk-report';
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

const STATUS_TEXT: Record<number, string> = { 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found', 406: '406 Not Acceptable', 409: '409 Conflict', 411: '411 Length Required', 412: '412 Precondition Failed', 413: '413 Request Entity Too Large', 422: '422 Unprocessable Entity', 499: '499 Client Disconnect', 500: '500 Internal Error', 502: '502 Bad Gateway', 503: '503 Service Unavailable' };

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Error`;
}

function deleteFields(report: DeleteReport): [string, string | number][] {
  const failed = report.errors.length > 0;
  return [
    ['Number Deleted', report.deleted],
    ['Number Not Found', report.notFound],
    ['Response Status', failed ? '400 Bad Request' : '200 OK'],
    ['Response Body', failed ? 'Invalid bulk delete.' : ''],
  ];
}

/** The report body in the format the client asked for (see bulk-report.ts). */
export function renderReport(report: DeleteReport, accept: string | undefined): { type: string; body: string } {
  const format = reportFormat(accept) ?? 'text/plain';
  return { type: format, body: renderBulkReport(format, deleteFields(report), report.errors, 'delete') };
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
      if (!target || !ctx.query.has('bulk-delete') || (ctx.method !== 'POST' && ctx.method !== 'DELETE')) return next();
      if (req.authorized?.by !== 'token') throw new CairnError('storage.account_forbidden');
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
      const format = reportFormat(ctx.req.headers.accept);
      const out = new BulkResponse(ctx.res, format);
      out.start(KEEPALIVE_MS);
      if (!format) return out.finish(renderBulkReport(format, [['Response Status', '406 Not Acceptable'], ['Response Body', '']], [], 'delete'));
      try {
        for (const job of jobs) {
          if (report.errors.length >= BULK_DELETE_INFO.max_failed_deletes || ctx.res.destroyed) break;
          await deleteOne(deps.backend, target.account, job.container, job.object, job.label, report);
        }
      } finally {
        out.stop();
      }
      out.finish(renderBulkReport(format, deleteFields(report), report.errors, 'delete'));
    },
  };
}
