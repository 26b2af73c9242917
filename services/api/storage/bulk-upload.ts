// Extract archive (Swift's bulk upload): `PUT /v1/<account>[/<container>[/<prefix>]]?extract-archive=
// tar|tar.gz|tar.bz2` with a tar body creates an object per regular file of the archive, at
// `<URL path>/<member path>` (with only an account in the URL the first path segment is the
// container; files at the archive's top level are ignored then). Directories, links and devices
// are skipped. The archive is read as it arrives, never held whole.
//
// Each container (HEAD, then PUT when missing) and each object is a subrequest through the whole
// pipeline with the caller's token, so names, metadata, quotas and permissions are checked exactly
// as for a client's own PUT, container by container. As in Swift the answer is a 200 sent at once
// and a report at the end (bulk-report.ts): `Number Files Created`, `Response Status`,
// `Response Body`, `Errors` ([%-quoted path, status] per refused member).
import { spawn } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CairnError } from '../../core/errors';
import { readTarStream, TarError } from '../../core/tar';
import { statusText } from './bulk-delete';
import { BulkResponse, quotePath, renderBulkReport, reportFormat, type ReportErrors } from './bulk-report';
import { SWIFT_CONSTRAINTS } from './constraints';
import { chain, type Middleware, type StorageRequest } from './pipeline';
import { subrequest } from './subrequest';

/** Swift's defaults, as its /info reports them. */
export const BULK_UPLOAD_INFO = { max_containers_per_extraction: 10_000, max_failed_extractions: 1_000 } as const;

const KEEPALIVE_MS = 5_000;
/** Swift truncates a failed member's path to this many bytes in the report. */
const MAX_PATH_LENGTH = SWIFT_CONSTRAINTS.max_object_name_length + SWIFT_CONSTRAINTS.max_container_name_length + 2;
const ARCHIVE_KINDS: Record<string, 'tar' | 'gz' | 'bz2'> = { tar: 'tar', 'tar.gz': 'gz', 'tar.bz2': 'bz2' };
/** Headers of the archive's request every object inherits (besides `X-Object-Meta-*`). */
const INHERITED = new Set(['x-delete-at', 'x-delete-after']);

/** Ends the extraction early with this report status and body (Swift raises an HTTPException). */
class StopExtraction extends Error {
  constructor(
    readonly status: string,
    readonly body: string,
  ) {
    super(status);
  }
}

/** A compressed body that does not decompress: reported as an invalid archive, like a TarError. */
class DecompressError extends Error {}

const UNAUTHORIZED_BODY = '<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized to access the document you requested.</p></html>';

function encodeSegments(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(bytes: Buffer): string | undefined {
  try {
    const text = utf8.decode(bytes);
    return text.includes('\0') ? undefined : text;
  } catch {
    return undefined;
  }
}

/** The request body decompressed as `kind` says; `close` stops a decompressor still running. */
function archiveSource(req: Readable, kind: 'tar' | 'gz' | 'bz2'): { source: AsyncIterable<Buffer>; close(): void } {
  if (kind === 'tar') return { source: req, close: () => undefined };
  if (kind === 'gz') {
    const gunzip = createGunzip();
    req.on('error', (err) => gunzip.destroy(err));
    req.pipe(gunzip);
    const source = (async function* () {
      try {
        for await (const chunk of gunzip) yield chunk as Buffer;
      } catch (err) {
        if (typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).code!.startsWith('Z_')) throw new DecompressError((err as Error).message);
        throw err;
      }
    })();
    return { source, close: () => gunzip.destroy() };
  }
  // Node has no bzip2; Debian's `bzip2` decompresses in a child process, streaming both ways.
  const child = spawn('bzip2', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 1024) stderr += c.toString('utf8');
  });
  child.stdin.on('error', () => undefined); // EPIPE once bzip2 gave up on bad input: its exit status says why
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  exited.catch(() => undefined);
  req.pipe(child.stdin);
  const source = (async function* () {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    let code: number | null;
    try {
      code = await exited;
    } catch (err) {
      throw new DecompressError(`bzip2 is not available (${(err as Error).message})`);
    }
    if (code !== 0) throw new DecompressError(stderr.trim().split('\n').pop() || `bzip2 exited with ${code}`);
  })();
  return {
    source,
    close: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

export function bulkUpload(): Middleware {
  let run: ((req: StorageRequest) => Promise<void>) | undefined;
  return {
    name: 'bulk-upload',
    // Before auth: the archive's request itself is not what needs permission, each object in it is.
    after: ['constraints'],
    info: { bulk_upload: BULK_UPLOAD_INFO },
    init(pipeline) {
      run = chain(pipeline, async () => {
        throw new CairnError('storage.method_not_allowed');
      });
    },
    async handle(req, next) {
      const { ctx, target } = req;
      if (!target || ctx.method !== 'PUT' || !ctx.query.has('extract-archive')) return next();
      const kind = ARCHIVE_KINDS[(ctx.query.get('extract-archive') ?? '').toLowerCase().replace(/^\.+|\.+$/g, '')];
      if (!kind) throw new CairnError('storage.bulk_bad_archive_format');
      if (!run) throw new Error('bulk-upload used outside a built pipeline');
      const format = reportFormat(ctx.req.headers.accept);
      const out = new BulkResponse(ctx.res, format);
      out.start(KEEPALIVE_MS);
      let report: ExtractReport;
      try {
        report = await extract(req, run, kind, format !== undefined);
      } finally {
        out.stop();
      }
      out.finish(
        renderBulkReport(
          format,
          [
            ['Number Files Created', report.created],
            ['Response Body', report.body],
            ['Response Status', report.status],
          ],
          report.errors,
          'extract',
        ),
      );
    },
  };
}

interface ExtractReport {
  created: number;
  status: string;
  body: string;
  errors: ReportErrors;
}

async function extract(req: StorageRequest, run: (req: StorageRequest) => Promise<void>, kind: 'tar' | 'gz' | 'bz2', acceptable: boolean): Promise<ExtractReport> {
  const { ctx } = req;
  const target = req.target!;
  const report: ExtractReport = { created: 0, status: '201 Created', body: '', errors: [] };
  const headers = ctx.req.headers;
  const auth: IncomingHttpHeaders = {};
  for (const h of ['x-auth-token', 'x-storage-token'] as const) if (headers[h] !== undefined) auth[h] = headers[h];
  const inherited: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (INHERITED.has(k) || (k.startsWith('x-object-meta-') && k.length > 14)) inherited[k] = v;
  const accountPath = `/v1/${encodeURIComponent(target.account)}`;
  const base = target.kind === 'account' ? '' : target.kind === 'container' ? target.container : `${target.container}/${target.object}`.replace(/\/+$/, '');
  const baseBytes = Buffer.from(base, 'utf8');

  let archive: ReturnType<typeof archiveSource> | undefined;
  try {
    if (!acceptable) throw new StopExtraction('406 Not Acceptable', 'The server cannot respond in any of the formats the request accepts.');
    if (headers['content-length'] === undefined && !/chunked/i.test(String(headers['transfer-encoding'] ?? ''))) throw new StopExtraction('411 Length Required', 'Length Required');
    archive = archiveSource(ctx.req, kind);
    let failedStatus = '400 Bad Request';
    let containersCreated = 0;
    const accessed = new Set<string>();
    for await (const entry of readTarStream(archive.source)) {
      if (report.errors.length >= BULK_UPLOAD_INFO.max_failed_extractions || ctx.res.destroyed) break;
      if (entry.type !== 'file') continue;
      let name = entry.name;
      if (name.subarray(0, 2).toString('latin1') === './') name = name.subarray(2);
      let skip = 0;
      while (skip < name.length && name[skip] === 0x2f) skip++;
      name = name.subarray(skip);
      const objPath = baseBytes.length ? Buffer.concat([baseBytes, Buffer.from('/'), name]) : name;
      const label = quotePath(objPath.subarray(0, MAX_PATH_LENGTH));
      if (!objPath.includes(0x2f)) continue; // a top-level file with no container to go to
      const text = decodeName(objPath);
      if (text === undefined || decodeName(Buffer.from(target.account, 'utf8')) === undefined) {
        report.errors.push([label, statusText(412)]);
        continue;
      }
      if (entry.size > SWIFT_CONSTRAINTS.max_file_size) {
        report.errors.push([label, statusText(413)]);
        continue;
      }
      const container = text.slice(0, text.indexOf('/'));
      let containerFailure: [string, string] | undefined;
      if (!accessed.has(container)) {
        const containerPath = `${accountPath}/${encodeURIComponent(container)}`;
        const containerLabel = quotePath(Buffer.from(`/v1/${target.account}/${container}`, 'utf8').subarray(0, MAX_PATH_LENGTH));
        let status = (await subrequest(run, ctx, 'HEAD', containerPath, { ...auth })).status;
        if (status === 404) {
          status = (await subrequest(run, ctx, 'PUT', containerPath, { ...auth, 'content-length': '0' })).status;
          if (status >= 200 && status < 300) {
            containersCreated += 1;
            if (containersCreated > BULK_UPLOAD_INFO.max_containers_per_extraction) {
              throw new StopExtraction('400 Bad Request', `More than ${BULK_UPLOAD_INFO.max_containers_per_extraction} containers to create from tar.`);
            }
          }
        }
        if (status < 200 || status >= 300) {
          // The object PUT may still succeed (a write ACL without read); reported if it does not.
          if (status === 401) throw new StopExtraction('401 Unauthorized', UNAUTHORIZED_BODY);
          containerFailure = [containerLabel, statusText(status)];
        }
      }
      const putHeaders: IncomingHttpHeaders = { ...auth, ...inherited, 'content-length': String(entry.size) };
      for (const [key, value] of Object.entries(entry.pax)) {
        const header = paxHeader(key);
        // Node hands header values over as latin1 chars of their bytes; the metadata parser expects that.
        if (header) putHeaders[header] = Buffer.from(value, 'utf8').toString('latin1');
      }
      const body = Readable.from(entry.body, { objectMode: false });
      const put = await subrequest(run, ctx, 'PUT', `${accountPath}/${encodeSegments(text)}`, putHeaders, body);
      accessed.add(container);
      if (put.status >= 200 && put.status < 300) {
        report.created += 1;
        continue;
      }
      if (containerFailure) report.errors.push(containerFailure);
      if (put.status === 401) {
        report.errors.push([label, statusText(401)]);
        throw new StopExtraction('401 Unauthorized', UNAUTHORIZED_BODY);
      }
      if (put.status >= 500) failedStatus = '502 Bad Gateway';
      report.errors.push([label, statusText(put.status)]);
    }
    if (report.errors.length) report.status = failedStatus;
    else if (!report.created) {
      report.status = '400 Bad Request';
      report.body = 'Invalid Tar File: No Valid Files';
    }
  } catch (err) {
    if (err instanceof StopExtraction) {
      report.status = err.status;
      report.body = err.body;
    } else if (err instanceof TarError || err instanceof DecompressError) {
      report.status = '400 Bad Request';
      report.body = `Invalid Tar File: ${err.message}`;
    } else {
      // A client that hung up mid-archive is no server failure worth a stack trace.
      if (!ctx.res.destroyed && !ctx.req.destroyed) console.error(`[storage] ${ctx.requestId} extract archive failed:`, err);
      report.status = '500 Internal Error';
    }
  } finally {
    archive?.close();
  }
  return report;
}

/** Swift's mapping of GNU (`SCHILY`) and BSD (`LIBARCHIVE`) tar xattrs to object headers. */
function paxHeader(key: string): string | undefined {
  for (const prefix of ['SCHILY.xattr.user.', 'LIBARCHIVE.xattr.user.']) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    if (rest === 'mime_type') return 'content-type';
    if (rest.startsWith('meta.') && rest.length > 5) return `x-object-meta-${Buffer.from(rest.slice(5), 'utf8').toString('latin1').toLowerCase()}`;
  }
  return undefined;
}
