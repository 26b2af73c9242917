// Wire shapes shared by the function API's resources: Qinling's timestamp format, its
// `faultstring` error body.
import type { ServerResponse } from 'node:http';
import { CairnError, isCairnError } from '../../core/errors';
import { sendJson } from '../http/respond';

/** Qinling's final timestamp format: `YYYY-MM-DDTHH:MM:SSZ` (UTC), or null. */
export function timestamp(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const d = value instanceof Date ? value : new Date(value);
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Writes a CairnError (or an unknown failure as a 500 with the request id) as Qinling did. */
export function renderFault(res: ServerResponse, err: unknown, requestId: string): void {
  const e = isCairnError(err) ? err : new CairnError('internal', { requestId });
  if (!isCairnError(err)) console.error(`[function-api] ${requestId}`, err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.status, {
    faultcode: e.status >= 500 ? 'Server' : 'Client',
    faultstring: e.message,
    debuginfo: null,
    code: e.code,
    request_id: requestId,
  });
}
