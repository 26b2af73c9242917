// The meter every upload to the Swift upstream streams through (swift.ts): what makes a refused
// body never become visible upstream.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { CairnError } from '../errors';
import type { PutObjectOptions } from './backend';

/**
 * Counts, limits and (for chunked bodies with a client ETag) hashes an upload, always holding the
 * latest chunk back: the upstream gets the final bytes only after every check passed in flush().
 */
export class UploadMeter extends Transform {
  bytes = 0;
  etag: string | undefined;
  private held: Buffer | undefined;
  private readonly md5;

  constructor(private readonly opts: PutObjectOptions) {
    super();
    this.md5 = opts.contentLength === undefined && opts.expectedEtag !== undefined ? createHash('md5') : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.opts.maxBytes) return done(new CairnError('storage.too_large'));
    if (this.opts.contentLength !== undefined && this.bytes > this.opts.contentLength) return done(new CairnError('storage.bad_content_length'));
    this.md5?.update(chunk);
    if (this.held) this.push(this.held);
    this.held = chunk;
    done();
  }

  override _flush(done: (err?: Error | null) => void): void {
    if (this.opts.contentLength !== undefined && this.bytes !== this.opts.contentLength) return done(new CairnError('storage.incomplete_body'));
    if (this.md5) {
      this.etag = this.md5.digest('hex');
      if (this.etag !== this.opts.expectedEtag!.toLowerCase()) return done(new CairnError('storage.etag_mismatch'));
    }
    if (this.held) this.push(this.held);
    done();
  }
}
