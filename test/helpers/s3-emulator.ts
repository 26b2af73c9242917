// The S3-compatible server s3rver, in-process on 127.0.0.1:0 with a temp directory and one bucket,
// for the s3 backend's tests. s3rver 3.7 lacks two calls the backend makes: ListMultipartUploads
// and AbortMultipartUpload. They are answered here, in front of s3rver's router, from s3rver's own
// upload directory (`<dir>/<bucket>/._S3rver_uploads/<uploadId>/key`), with S3's wire shapes.
// Note s3rver checks only the access key id of SigV4 requests, not the signature, and these two
// calls not at all. Every request's method, path and query are recorded
// so tests can tell which calls the backend made.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  status: number;
  type: string;
  body: unknown;
  req: IncomingMessage;
  res: ServerResponse;
}
interface S3rverInstance {
  middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[];
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => S3rverInstance;

export const EMULATOR_KEY = 'S3RVER';
export const EMULATOR_BUCKET = 'cairn-test';

export interface S3Emulator {
  endpoint: string;
  dir: string;
  /** CAIRN_* settings selecting the s3 backend on this emulator. */
  env: Record<string, string>;
  /** `METHOD /path?query-names` of every request, in order (without the SDK's `x-id`). */
  requests: string[];
  /** Every key in the bucket. */
  keys(): Promise<string[]>;
  /** Unfinished multipart uploads, as ListMultipartUploads would return them. */
  uploads(): { key: string; uploadId: string; dir: string }[];
  /** s3rver's data file of a key (to backdate it: LastModified is its mtime). */
  objectFile(key: string): string;
  client: S3Client;
  stop(): Promise<void>;
}

/** `listUploads: false` leaves ListMultipartUploads to s3rver, which answers NotImplemented. */
export async function startS3Emulator(opts: { listUploads?: boolean } = {}): Promise<S3Emulator> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: EMULATOR_BUCKET }] });
  const requests: string[] = [];
  const uploadsDir = path.join(dir, EMULATOR_BUCKET, '._S3rver_uploads');
  // s3rver makes an upload's directory before it writes the `key` file in it: an upload caught in
  // between is not listed yet (as S3 would not list it before CreateMultipartUpload returns).
  const uploads = (): { key: string; uploadId: string; dir: string }[] =>
    (fs.existsSync(uploadsDir) ? fs.readdirSync(uploadsDir) : []).flatMap((uploadId) => {
      const dir = path.join(uploadsDir, uploadId);
      try {
        return [{ uploadId, dir, key: fs.readFileSync(path.join(dir, 'key'), 'utf8') }];
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    });
  server.middleware.unshift(async (ctx, next) => {
    const names = Object.keys(ctx.query).filter((n) => n !== 'x-id');
    requests.push(`${ctx.method} ${ctx.path}${names.length ? `?${names.sort().join('&')}` : ''}`);
    const inBucket = ctx.path.startsWith(`/${EMULATOR_BUCKET}`);
    if (opts.listUploads !== false && inBucket && ctx.method === 'GET' && ctx.path.replace(/\/$/, '') === `/${EMULATOR_BUCKET}` && 'uploads' in ctx.query) {
      const prefix = ctx.query.prefix ?? '';
      const rows = uploads()
        .filter((u) => u.key.startsWith(prefix))
        .map((u) => `<Upload><Key>${u.key}</Key><UploadId>${u.uploadId}</UploadId><Initiated>${fs.statSync(u.dir).mtime.toISOString()}</Initiated></Upload>`);
      ctx.type = 'application/xml';
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>${EMULATOR_BUCKET}</Bucket><IsTruncated>false</IsTruncated>${rows.join('')}</ListMultipartUploadsResult>`;
      return;
    }
    if (inBucket && ctx.method === 'DELETE' && ctx.query.uploadId !== undefined) {
      const upload = uploads().find((u) => u.uploadId === ctx.query.uploadId);
      if (!upload) {
        ctx.status = 404;
        ctx.type = 'application/xml';
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`;
        return;
      }
      fs.rmSync(upload.dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    await next();
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: EMULATOR_KEY, secretAccessKey: EMULATOR_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    dir,
    env: {
      CAIRN_OBJECT_STORE: 's3',
      CAIRN_S3_ENDPOINT: endpoint,
      CAIRN_S3_REGION: 'us-east-1',
      CAIRN_S3_BUCKET: EMULATOR_BUCKET,
      CAIRN_S3_ACCESS_KEY_ID: EMULATOR_KEY,
      CAIRN_S3_SECRET_ACCESS_KEY: EMULATOR_KEY,
      CAIRN_S3_FORCE_PATH_STYLE: 'true',
    },
    requests,
    client,
    uploads,
    async keys() {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: EMULATOR_BUCKET, ContinuationToken: token }));
        out.push(...(page.Contents ?? []).map((o) => o.Key as string));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    objectFile(key) {
      const parts = key.split('/');
      const last = parts.pop() as string;
      return path.join(dir, EMULATOR_BUCKET, ...parts, `${last}._S3rver_object`);
    },
    async stop() {
      client.destroy();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
