// The meter every upload to the Swift upstream streams through (swift.ts): what makes a refused
// body never become visible upstream.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { PutObjectOptions } from './backend';
import { checkBodyEnd, checkBodySoFar } from './body-checks';

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
    try {
      checkBodySoFar(this.bytes, this.opts);
    } catch (err) {
      return done(err as Error);
    }
    this.md5?.update(chunk);
    if (this.held) this.push(this.held);
    this.held = chunk;
    done();
  }

  override _flush(done: (err?: Error | null) => void): void {
    this.etag = this.md5?.digest('hex');
    try {
      checkBodyEnd(this.bytes, this.etag, this.opts);
    } catch (err) {
      return done(err as Error);
    }
    if (this.held) this.push(this.held);
    done();
  }
}
