// The checks every backend applies to an object body while it streams in and once it has ended,
// so fs, s3 and swift refuse the same bodies with the same codes before anything becomes visible.
import { CairnError } from '../errors';
import type { PutObjectOptions } from './backend';

/** After each chunk: `bytes` received so far must fit maxBytes and the declared length. */
export function checkBodySoFar(bytes: number, opts: PutObjectOptions): void {
  if (bytes > opts.maxBytes) throw new CairnError('storage.too_large');
  if (opts.contentLength !== undefined && bytes > opts.contentLength) throw new CairnError('storage.bad_content_length');
}

/** At the end: the declared length was reached and, when computed, the MD5 is the client's ETag. */
export function checkBodyEnd(bytes: number, etag: string | undefined, opts: PutObjectOptions): void {
  if (opts.contentLength !== undefined && bytes !== opts.contentLength) throw new CairnError('storage.incomplete_body');
  if (etag !== undefined && opts.expectedEtag !== undefined && opts.expectedEtag.toLowerCase() !== etag) throw new CairnError('storage.etag_mismatch');
}
