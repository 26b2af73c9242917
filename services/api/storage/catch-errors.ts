// The storage surface's one error renderer: a CairnError becomes Swift's wire shape — the status
// carrying the meaning, a short HTML page (or plain text for validation errors, as Swift sends
// them), `Www-Authenticate` on 401. Anything else is a 500 naming the request id, never a stack.
import { type CairnError, isCairnError, type ErrorCode } from '../../core/errors';
import type { Middleware, StorageRequest } from './pipeline';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Request Entity Too Large',
  416: 'Requested Range Not Satisfiable',
  422: 'Unprocessable Entity',
  499: 'Client Disconnect',
  500: 'Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** Swift answers these with the bare message as text/plain; everything else gets an HTML page. */
const PLAIN_TEXT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'storage.invalid_name',
  'storage.name_too_long',
  'storage.bad_path',
  'storage.metadata_name_empty',
  'storage.metadata_not_utf8',
  'storage.metadata_name_too_long',
  'storage.metadata_value_too_long',
  'storage.metadata_too_many',
  'storage.metadata_too_large',
  'storage.header_too_long',
  'storage.limit_too_large',
  'storage.bad_listing_param',
  'storage.not_implemented',
  'storage.bad_expiry',
  'storage.delete_at_in_past',
  'storage.bad_copy_from',
  'storage.bad_copy_account',
  'storage.bad_manifest_header',
  'storage.slo_invalid',
  'storage.slo_segment_errors',
  'storage.slo_too_large',
  'storage.bulk_too_many',
  'storage.bulk_bad_request',
  'storage.bulk_bad_archive_format',
  'storage.bad_acl',
  'storage.transfer_coding_unsupported',
  'storage.bad_transfer_encoding',
  'storage.bad_sync_to',
  'storage.sync_auth_invalid',
  'storage.bad_timestamp',
  'storage.quota_exceeded',
  'storage.bad_quota',
]);

export function catchErrors(): Middleware {
  return {
    name: 'catch-errors',
    after: ['request-id'],
    async handle(req, next) {
      try {
        await next();
      } catch (err) {
        render(req, err);
      }
    },
  };
}

function render(req: StorageRequest, err: unknown): void {
  const { res, requestId } = req.ctx;
  if (res.headersSent) {
    // Mid-body failure (disk error while streaming): the client must see a broken response, not a short one.
    if (!isCairnError(err)) console.error(`[storage] ${requestId} failed while streaming:`, err);
    res.destroy();
    return;
  }
  let e: CairnError | undefined = isCairnError(err) ? err : undefined;
  if (!e) console.error(`[storage] ${requestId} unhandled:`, err);
  const status = e?.status ?? 500;
  const headers: Record<string, string> = {};
  if (status === 401) {
    const target = req.target;
    // URL-quoted like Python's quote(), as Swift does: nothing in the account can break the header.
    const realm = target ? encodeURIComponent(target.account).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : 'unknown';
    // A refused container-sync signature names its own scheme, as Swift's container_sync does.
    headers['Www-Authenticate'] = `${e?.code === 'storage.sync_auth_invalid' ? 'SwiftContainerSync' : 'Swift'} realm="${realm}"`;
  }
  if (e && e.code.startsWith('auth.') && status === 401) e = undefined; // identity's wording → Swift's below
  let body: string;
  let type: string;
  if (e && PLAIN_TEXT.has(e.code)) {
    body = e.message;
    // Swift labels an over-long account or container name's message as HTML (objects: plain),
    // and the container server's refusal of a sync destination.
    type = (e.code === 'storage.name_too_long' && e.params.kind !== 'Object') || e.code === 'storage.bad_sync_to' ? 'text/html; charset=UTF-8' : 'text/plain; charset=UTF-8';
  } else {
    const reason = REASONS[status] ?? 'Error';
    const message =
      status === 500
        ? `An error occurred (request ${requestId}).`
        : status === 401
          ? 'This server could not verify that you are authorized to access the document you requested.'
          : (e?.message ?? reason);
    body = `<html><h1>${reason}</h1><p>${escapeHtml(message)}</p></html>`;
    type = 'text/html; charset=UTF-8';
  }
  // An unread request body (refused before streaming) is drained by Node after the response, which
  // keeps keep-alive working; closing instead could reset the socket before the client reads this.
  // Except a body refused for its size: draining gigabytes to keep one connection is not worth it.
  if (status === 413 && !req.ctx.req.complete) headers.Connection = 'close';
  const payload = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': payload.length });
  res.end(payload);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}
