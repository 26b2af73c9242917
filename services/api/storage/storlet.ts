// Storlets (spec/storlets.md §2): `X-Run-Storlet: <name>` on an object GET, PUT or copy (COPY, or
// PUT with X-Copy-From) runs the Python (or Node.js) storlet deployed as `storlet/<name>` over the
// object's, the upload's or the copy source's bytes; the reply or the stored object is its output. Copies with a
// storlet are handled here, before the copy middleware, because the bytes stored are not the source's. Each call runs in a warm
// worker for this storlet version (services/executor/runs/storlet-workers.ts) or, when none can be
// had, as one cold Run (both in storlet-run.ts), in a sandbox without network: the data and the storlet's code are files
// (the object's own file where the backend has one, run-input.ts); the shim in functions-runtime/storlets/ gives the code
// openstack/storlets' (in_files, out_files, params) interface (shim.py), or its Node.js
// counterpart (shim.js). The output is complete before anything is answered or stored, so a storlet that
// fails gets a clear status instead of a truncated 200. Deployments into the storlet and
// dependency containers are validated here too (storlet-deploy.ts).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CairnError, isCairnError } from '../../core/errors';
import type { ByteRange, Metadata, ObjectInfo } from '../../core/objectstore/backend';
import type { RunExecutor, StorletWorkerLease } from '../../core/runs';
import { resolveRange } from './conditional';
import { SWIFT_CONSTRAINTS } from './constraints';
import { objectLimit } from './container-quotas';
import { headerText, headerValue, metadataResponseHeaders, metadataText } from './metadata';
import { objectHeaders, openForRead } from './object';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { STORLET_CONTAINERS, validateDependency, validateStorlet } from './storlet-deploy';
import { MAX_INPUT_BYTES, outcome, runCold, workerSpec, type Ended, type StagedInput } from './storlet-run';
import { isSysName } from './sysmeta';
import { requireOwner } from './run-auth';
import { stageObject, stageRanges } from './run-input';
import { httpDate, xTimestamp } from './timestamps';

/** Outputs up to this size held in memory are answered in one write. */
const SMALL_OUTPUT_BYTES = 1024 * 1024;
export interface StorletDeps extends StorageDeps {
  runs?: RunExecutor;
}

function header(req: StorageRequest, name: string): string | undefined {
  const v = req.ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Query pairs and `X-Storlet-Parameter-<n>: key:value` headers; `storlet_` keys are the engine's. */
export function storletParams(req: StorageRequest): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [k, v] of req.ctx.query) if (!k.startsWith('storlet_')) params[k] = v;
  for (const [name, raw] of Object.entries(req.ctx.req.headers)) {
    if (!/^x-storlet-parameter-\d+$/.test(name) || raw === undefined) continue;
    const value = Array.isArray(raw) ? raw[0] : raw;
    const colon = value.indexOf(':');
    if (colon <= 0) throw new CairnError('storlet.bad_request', { reason: `${name} must be <key>:<value>` });
    const key = value.slice(0, colon).trim();
    let v = value.slice(colon + 1);
    try {
      v = decodeURIComponent(v);
    } catch {
      /* not %-encoded: taken as sent */
    }
    if (!key.startsWith('storlet_')) params[key] = headerText(v) ?? v;
  }
  return params;
}

/** User metadata as the storlet sees it: no system entries, no `storlet-*` keys. */
function visibleMetadata(meta: Metadata): Metadata {
  const out: Metadata = {};
  for (const [k, v] of Object.entries(meta)) if (!isSysName(k) && !k.startsWith('storlet-')) out[k] = v;
  return out;
}

/** The metadata a storlet reads: user metadata, as text. */
function storletInputMetadata(meta: Metadata): Metadata {
  return Object.fromEntries(Object.entries(visibleMetadata(meta)).map(([k, v]) => [k, metadataText(v)]));
}

export function storlet(deps: StorletDeps): Middleware {
  return {
    name: 'storlet',
    after: ['auth'],
    // Advertised only where storlets can run, with Storlets' own key and container names.
    info: deps.runs
      ? {
          storlet_handler: {
            storlet_container: STORLET_CONTAINERS.storlet,
            storlet_dependency: STORLET_CONTAINERS.dependency,
            storlet_log: STORLET_CONTAINERS.log,
            storlet_gateway_class: 'CairnBwrapGateway',
            storlet_languages: ['Python', 'nodejs'],
            storlet_timeout: deps.config.runs.storletTimeoutSeconds,
          },
        }
      : undefined,
    async handle(req, next) {
      const target = req.target;
      if (!target || target.kind !== 'object') return next();
      const storletName = header(req, 'x-run-storlet');
      const method = req.ctx.method;
      if (storletName === undefined) {
        if ((method === 'PUT' || method === 'POST') && req.meta) {
          if (target.container === STORLET_CONTAINERS.storlet) validateStorlet(target.object, req.meta.set);
          if (target.container === STORLET_CONTAINERS.dependency) validateDependency(req.meta.set);
        }
        return next();
      }
      if (method !== 'GET' && method !== 'PUT' && method !== 'COPY') return next();
      requireOwner(req);
      try {
        await invoke(req, deps, target.account, callShape(req, target.container, target.object), storletName.trim());
      } catch (err) {
        // 401 and 5xx carry Storlets' own texts, which the generic renderer would replace.
        if (isCairnError(err) && (err.status === 401 || err.status >= 500) && !req.ctx.res.headersSent) return sendError(req, err);
        throw err;
      }
    },
  };
}

/** Where the storlet reads from and what becomes of its output. */
type CallShape =
  | { kind: 'get'; source: ObjectName }
  | { kind: 'put'; dest: ObjectName }
  | { kind: 'copy'; source: ObjectName; dest: ObjectName };

interface ObjectName {
  container: string;
  object: string;
}

/** `<container>/<object>` of a copy header, in the caller's account. */
function copyRef(raw: string, headerName: string): ObjectName {
  let rel = raw.trim().replace(/^\/+/, '');
  try {
    rel = decodeURIComponent(rel);
  } catch {
    /* taken as sent */
  }
  const slash = rel.indexOf('/');
  if (slash <= 0 || slash === rel.length - 1) throw new CairnError('storlet.bad_request', { reason: `${headerName} must be <container>/<object>` });
  return { container: rel.slice(0, slash), object: rel.slice(slash + 1) };
}

function callShape(req: StorageRequest, container: string, object: string): CallShape {
  const here = { container, object };
  for (const h of ['x-copy-from-account', 'destination-account', 'x-fresh-metadata']) {
    if (header(req, h) !== undefined) throw new CairnError('storlet.bad_request', { reason: `${h} is not supported with X-Run-Storlet` });
  }
  if (req.ctx.method === 'COPY') {
    const dest = header(req, 'destination');
    if (dest === undefined) throw new CairnError('storage.precondition_failed');
    return { kind: 'copy', source: here, dest: copyRef(dest, 'Destination') };
  }
  if (req.ctx.method === 'PUT') {
    const from = header(req, 'x-copy-from');
    return from === undefined ? { kind: 'put', dest: here } : { kind: 'copy', source: copyRef(from, 'X-Copy-From'), dest: here };
  }
  return { kind: 'get', source: here };
}

function sendError(req: StorageRequest, err: CairnError): void {
  const body = Buffer.from(`${err.message}\n`, 'utf8');
  req.ctx.res.writeHead(err.status, { 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': body.length });
  req.ctx.res.end(body);
}

async function invoke(req: StorageRequest, deps: StorletDeps, account: string, shape: CallShape, name: string): Promise<void> {
  const { backend } = deps;
  if (!deps.runs) throw new CairnError('zerocloud.unavailable');
  const runs = deps.runs;
  // Both look-ups start at once (the storlet's is awaited after the account's checks, in Storlets' order).
  const codeLookup = backend.headObject(account, STORLET_CONTAINERS.storlet, name);
  codeLookup.catch(() => undefined);
  const acctMeta = backend.accountMeta ? await backend.accountMeta(account) : (await backend.headAccount(account)).meta;
  if ((acctMeta['storlet-enabled'] ?? '').toLowerCase() !== 'true') throw new CairnError('storlet.account_disabled');
  if (header(req, 'range') !== undefined) throw new CairnError('storlet.bad_request', { reason: 'Range is not allowed with X-Run-Storlet; use X-Storlet-Range' });
  const onProxy = header(req, 'x-storlet-run-on-proxy');
  if (onProxy !== undefined && onProxy.trim() !== '') throw new CairnError('storlet.bad_request', { reason: 'X-Storlet-Run-On-Proxy must be empty' });
  // Storlets reserves such referers for its storlet-only read grants; they are never taken from clients.
  if ((header(req, 'referer') ?? '').includes('storlets')) throw new CairnError('storage.account_forbidden');
  const extras = extraResources(req);
  // The caller must be able to read the storlet: same account, so it exists or not.
  const code = await codeLookup;
  if (!code) throw new CairnError('storlet.no_access', { name });
  const params = storletParams(req);
  const wantLog = (header(req, 'x-storlet-generate-log') ?? '').toLowerCase() === 'true';

  // A warm worker for this storlet version when one is free or can be started; else a cold Run
  // in its own directory.
  let lease: StorletWorkerLease | undefined;
  let workDir: string | undefined;
  let outPath: string;
  try {
    // An upload is received before a worker is taken, so a slow client never holds one.
    if (shape.kind === 'put') {
      workDir = await runs.workDir('storlet');
      await stageUpload(req, path.join(workDir, 'input'));
    }
    lease = runs.storletWorker ? await runs.storletWorker(await workerSpec(deps, account, name, code)) : undefined;
    if (lease) outPath = lease.spillPath;
    else {
      workDir ??= await runs.workDir('storlet');
      outPath = path.join(workDir, 'out');
    }
    // Inputs go where the sandbox sees them: the worker's inbox, or the cold run's directory.
    const stageDir = lease ? lease.inbox : workDir!;
    const inputPath = path.join(stageDir, 'input');
    let source: ObjectInfo | undefined;
    let inputRange: string | undefined;
    let inputMeta: Metadata;
    // Ranges the shim applies itself, when the input is the whole object's own file (run-input.ts).
    let shimRanges: ByteRange[] | undefined;
    if (shape.kind !== 'put') {
      const reader = await openForRead(req, backend, account, shape.source.container, shape.source.object);
      try {
        source = reader.info;
        const storletRange = header(req, 'x-storlet-range');
        const decision = storletRange ? resolveRange(storletRange, reader.info.bytes) : ({ kind: 'full' } as const);
        if (decision.kind === 'unsatisfiable') throw new CairnError('storage.range_not_satisfiable');
        if (decision.kind === 'full') await stageObject(reader, inputPath);
        else {
          // Several ranges are fed one after the other, as Storlets does on the proxy.
          shimRanges = (await stageRanges(reader, decision.ranges, inputPath)).apply;
          inputRange = `bytes ${decision.ranges.map((r) => `${r.start}-${r.end}`).join(',')}/${reader.info.bytes}`;
        }
      } finally {
        await reader.close();
      }
      inputMeta = storletInputMetadata(source.meta);
    } else {
      // Both directories are under the data directory's runs/: a link, a copy only if they are split.
      if (lease) await fsp.link(path.join(workDir!, 'input'), inputPath).catch(() => fsp.copyFile(path.join(workDir!, 'input'), inputPath));
      inputMeta = visibleMetadata(req.meta?.set ?? {});
    }

    const extraInputs = await stageExtras(req, deps, account, extras, stageDir);
    let ended: Ended;
    // Where the output is: in memory (a warm call's small output) or in the call's file.
    let body: OutputBody | undefined;
    if (lease) {
      const inbox = lease.sandboxInbox;
      const r = await lease.call(
        {
          input: `${inbox}/input`,
          ranges: shimRanges?.map((x) => [x.start, x.end]),
          meta: inputMeta,
          params,
          extras: extraInputs.map((e) => ({ path: `${inbox}/${e.file}`, meta: e.meta })),
        },
        { timeoutMs: deps.config.runs.storletTimeoutSeconds * 1000, maxOutputBytes: MAX_INPUT_BYTES },
      );
      // The output is on the host now: the worker (inbox cleared) serves the next call meanwhile.
      await lease.release();
      ended = { status: r.status, code: r.code, detail: r.detail, metadata: r.metadata ?? Buffer.alloc(0), log: r.log, stderr: r.stderr };
      if (r.output) body = { size: r.outputBytes, chunks: r.output, stream: () => Readable.from(r.output!, { objectMode: false }) };
    } else {
      ended = await runCold(deps, runs, workDir!, name, code.meta, params, inputMeta, inputPath, shimRanges, extraInputs, account, outPath);
    }
    // The log is kept whatever happened: a failing storlet is when it matters most.
    if (wantLog) await storeLog(deps, account, name, ended.log, ended.stderr);
    const outMeta = outcome(ended, name);
    body ??= { size: (await fsp.stat(outPath).catch(() => ({ size: 0 }))).size, stream: () => fs.createReadStream(outPath) };
    if (shape.kind === 'get') return await sendOutput(req, source!, outMeta, body, inputRange);
    await storeOutput(req, deps, account, shape, source, outMeta, body);
  } finally {
    await lease?.release();
    if (lease) await fsp.rm(lease.spillPath, { force: true });
    if (workDir) await runs.release(workDir);
  }
}

/** A storlet's output data, wherever it is held. */
interface OutputBody {
  size: number;
  /** The bytes themselves, when they are in memory. */
  chunks?: Buffer[];
  stream(): Readable;
}

/** Storlets' `max_extra_resources`: more is 400. */
const MAX_EXTRA_RESOURCES = 10;

/** `X-Storlet-Extra-Resources: cont/obj, cont2/obj2`: more inputs, from the same account. */
function extraResources(req: StorageRequest): ObjectName[] {
  const raw = header(req, 'x-storlet-extra-resources');
  if (raw === undefined) return [];
  const list = raw.split(',').map((r) => r.trim()).filter(Boolean);
  if (list.length === 0) throw new CairnError('storlet.bad_request', { reason: 'X-Storlet-Extra-Resources is empty' });
  if (list.length > MAX_EXTRA_RESOURCES) throw new CairnError('storlet.bad_request', { reason: `X-Storlet-Extra-Resources names more than ${MAX_EXTRA_RESOURCES} objects` });
  return list.map((r) => copyRef(r, 'X-Storlet-Extra-Resources'));
}

/** Each extra resource becomes file `in-<n>` of `dir` (the shim shows it as in_files[n]), with its user metadata. */
async function stageExtras(req: StorageRequest, deps: StorletDeps, account: string, extras: ObjectName[], dir: string): Promise<StagedInput[]> {
  const staged: StagedInput[] = [];
  for (const [i, ref] of extras.entries()) {
    const reader = await openForRead(req, deps.backend, account, ref.container, ref.object);
    const file = `in-${i + 1}`;
    try {
      await stageObject(reader, path.join(dir, file));
      staged.push({ file, meta: storletInputMetadata(reader.info.meta) });
    } finally {
      await reader.close();
    }
  }
  return staged;
}

async function stageUpload(req: StorageRequest, dest: string): Promise<void> {
  const declared = header(req, 'content-length');
  if (declared !== undefined && Number(declared) > MAX_INPUT_BYTES) throw new CairnError('storage.too_large');
  let size = 0;
  const body = req.ctx.req;
  const counter = async function* (src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of src) {
      size += chunk.length;
      if (size > MAX_INPUT_BYTES) throw new CairnError('storage.too_large');
      yield chunk;
    }
  };
  await pipeline(body, counter, fs.createWriteStream(dest));
}

/** Splits a storlet's metadata: a `Content-Type` key sets the type, the rest is user metadata. */
function splitMeta(meta: Metadata): { contentType?: string; user: Metadata } {
  const { ['content-type']: contentType, ...user } = meta;
  return { contentType, user };
}

async function sendOutput(req: StorageRequest, source: ObjectInfo, outMeta: Metadata, body: OutputBody, inputRange: string | undefined): Promise<void> {
  const size = body.size;
  const { contentType, user } = splitMeta(outMeta);
  const headers: Record<string, string | number> = { ...objectHeaders(source), ...metadataResponseHeaders(user, 'object') };
  // The stored object's length, ETag and ranges describe other bytes than the storlet's output.
  delete headers.ETag;
  delete headers['Accept-Ranges'];
  if (contentType) headers['Content-Type'] = headerValue(contentType);
  if (inputRange) headers['Storlet-Input-Range'] = inputRange;
  headers['Content-Length'] = size;
  req.ctx.res.writeHead(200, headers);
  if (size === 0) return void req.ctx.res.end();
  // A small output in memory is one write, without a stream between it and the socket.
  if (body.chunks && size <= SMALL_OUTPUT_BYTES) return void req.ctx.res.end(body.chunks.length === 1 ? body.chunks[0] : Buffer.concat(body.chunks));
  try {
    await pipeline(body.stream(), req.ctx.res);
  } catch (err) {
    // A client that went away mid-body is not a failure of the storlet or of the server.
    if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' || req.ctx.res.destroyed) return;
    throw err;
  }
}

async function storeOutput(
  req: StorageRequest,
  deps: StorletDeps,
  account: string,
  shape: Exclude<CallShape, { kind: 'get' }>,
  source: ObjectInfo | undefined,
  outMeta: Metadata,
  output: OutputBody,
): Promise<void> {
  const { contentType, user } = splitMeta(outMeta);
  const sent = header(req, 'content-type');
  // A copy keeps the source's user metadata, as Swift's copy does; the request's and the storlet's win.
  const kept = source ? visibleMetadata(source.meta) : {};
  const info = await deps.backend.putObject(account, shape.dest.container, shape.dest.object, output.stream(), {
    contentType: contentType ?? (sent ? (headerText(sent) ?? sent) : (source?.contentType ?? 'application/octet-stream')),
    meta: { ...kept, ...(req.meta?.set ?? {}), ...user },
    contentLength: output.size,
    maxBytes: await objectLimit(req, { account, container: shape.dest.container }),
  });
  const body = Buffer.alloc(0);
  req.ctx.res.writeHead(201, {
    ETag: info.etag,
    'Last-Modified': httpDate(info.modifiedAt),
    'X-Timestamp': xTimestamp(info.modifiedAt),
    'Content-Type': 'text/html; charset=UTF-8',
    'Content-Length': body.length,
    ...(shape.kind === 'copy' && source
      ? {
          'X-Storlet-Generated-From': headerValue(`${shape.source.container}/${shape.source.object}`),
          'X-Storlet-Generated-From-Account': headerValue(account),
          'X-Storlet-Generated-From-Last-Modified': httpDate(source.modifiedAt),
        }
      : {}),
  });
  req.ctx.res.end();
}

/** `storletlog/<name up to the first '-'>.log`, overwritten: this call's log lines, then its stderr. */
async function storeLog(deps: StorletDeps, account: string, name: string, log: Buffer, stderr: Buffer): Promise<void> {
  const dash = name.indexOf('-');
  const logName = `${dash > 0 ? name.slice(0, dash) : name}.log`;
  const data = stderr.length ? Buffer.concat([log, Buffer.from('--- stderr ---\n'), stderr]) : log;
  await deps.backend.putContainer(account, STORLET_CONTAINERS.log, { set: {}, remove: [] });
  await deps.backend.putObject(account, STORLET_CONTAINERS.log, logName, Readable.from([data]), {
    contentType: 'text/plain',
    meta: {},
    contentLength: data.length,
    maxBytes: SWIFT_CONSTRAINTS.max_file_size,
  });
}
