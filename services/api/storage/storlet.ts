// Storlets (spec/storlets.md §2): `X-Run-Storlet: <name>` on an object GET, PUT or copy (COPY, or
// PUT with X-Copy-From) runs the Python storlet deployed as `storlet/<name>` over the object's, the
// upload's or the copy source's bytes; the reply or the stored object is its output. Copies with a
// storlet are handled here, before the copy middleware, because the bytes stored are not the source's. One Run per call, in a sandbox without network: the data, its
// metadata, the parameters and the storlet's code are files; the shim in
// functions-runtime/storlets/ gives the code openstack/storlets' (in_files, out_files, params)
// interface. The output is complete before anything is answered or stored, so a storlet that
// fails gets a clear status instead of a truncated 200. Deployments into the storlet and
// dependency containers are validated here too (storlet-deploy.ts).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CairnError, isCairnError } from '../../core/errors';
import type { Metadata, ObjectInfo } from '../../core/objectstore/backend';
import type { DeviceBinding, RunExecutor, RunResult } from '../../core/runs';
import { resolveRange } from './conditional';
import { SWIFT_CONSTRAINTS } from './constraints';
import { headerText, headerValue, metadataResponseHeaders } from './metadata';
import { objectHeaders, openForRead } from './object';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { dependencyList, dependencyMode, STORLET_CONTAINERS, validateDependency, validateStorlet } from './storlet-deploy';
import { isSysName } from './sysmeta';
import { requireOwner } from './run-auth';
import { httpDate, xTimestamp } from './timestamps';

/** Storlets' cap on the output metadata, serialized. */
const MAX_OUTPUT_METADATA_BYTES = 4096;
/** Largest input a storlet reads (an object or an upload). */
const MAX_INPUT_BYTES = SWIFT_CONSTRAINTS.max_file_size;
/** Shim exit code for "never called set_metadata" (functions-runtime/storlets/shim.py). */
const EXIT_NO_METADATA = 3;
/** Where the shim's directory appears inside the sandbox. */
const SHIM_DIR = '/cairn-storlets';

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
            storlet_languages: ['Python'],
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
  const acct = await backend.headAccount(account);
  if ((acct.meta['storlet-enabled'] ?? '').toLowerCase() !== 'true') throw new CairnError('storlet.account_disabled');
  if (header(req, 'range') !== undefined) throw new CairnError('storlet.bad_request', { reason: 'Range is not allowed with X-Run-Storlet; use X-Storlet-Range' });
  const onProxy = header(req, 'x-storlet-run-on-proxy');
  if (onProxy !== undefined && onProxy.trim() !== '') throw new CairnError('storlet.bad_request', { reason: 'X-Storlet-Run-On-Proxy must be empty' });
  // Storlets reserves such referers for its storlet-only read grants; they are never taken from clients.
  if ((header(req, 'referer') ?? '').includes('storlets')) throw new CairnError('storage.account_forbidden');
  const extras = extraResources(req);
  // The caller must be able to read the storlet: same account, so it exists or not.
  const code = await backend.headObject(account, STORLET_CONTAINERS.storlet, name);
  if (!code) throw new CairnError('storlet.no_access', { name });
  const params = storletParams(req);
  const wantLog = (header(req, 'x-storlet-generate-log') ?? '').toLowerCase() === 'true';

  const workDir = await runs.workDir('storlet');
  try {
    const inputPath = path.join(workDir, 'input');
    let source: ObjectInfo | undefined;
    let inputRange: string | undefined;
    let inputMeta: Metadata;
    if (shape.kind !== 'put') {
      const reader = await openForRead(req, backend, account, shape.source.container, shape.source.object);
      try {
        source = reader.info;
        const storletRange = header(req, 'x-storlet-range');
        const decision = storletRange ? resolveRange(storletRange, reader.info.bytes) : ({ kind: 'full' } as const);
        if (decision.kind === 'unsatisfiable') throw new CairnError('storage.range_not_satisfiable');
        const out = fs.createWriteStream(inputPath);
        if (decision.kind === 'full') await pipeline(reader.stream(), out);
        else {
          // Several ranges are fed one after the other, as Storlets does on the proxy.
          for (const r of decision.ranges) await pipeline(reader.stream(r), out, { end: false });
          await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
          inputRange = `bytes ${decision.ranges.map((r) => `${r.start}-${r.end}`).join(',')}/${reader.info.bytes}`;
        }
      } finally {
        await reader.close();
      }
      inputMeta = visibleMetadata(source.meta);
    } else {
      await stageUpload(req, inputPath);
      inputMeta = visibleMetadata(req.meta?.set ?? {});
    }

    const codeRoot = path.join(workDir, 'root');
    await stageCode(deps, account, name, code.meta, path.join(codeRoot, 'storlet'));
    const dev = path.join(workDir, 'dev');
    await fsp.mkdir(dev);
    await fsp.writeFile(path.join(dev, 'params'), JSON.stringify(params));
    await fsp.writeFile(path.join(dev, 'meta-in'), JSON.stringify(inputMeta));
    const extraDevices = await stageExtras(req, deps, account, extras, dev);
    const [result] = await runs.execute({
      timeoutMs: deps.config.runs.storletTimeoutSeconds * 1000 + 1000,
      runs: [
        {
          name,
          program: '/usr/bin/python3',
          args: ['-B', '-s', '-E', `${SHIM_DIR}/shim.py`, code.meta['storlet-main']],
          env: {},
          cwd: '/tmp',
          imageDir: codeRoot,
          stdinPath: inputPath,
          stdoutPath: path.join(workDir, 'stdout'),
          stderrPath: path.join(workDir, 'stderr'),
          devices: [
            { kind: 'read', hostPath: path.join(deps.config.executor.runtimeDir, 'storlets'), sandboxPath: SHIM_DIR },
            { kind: 'read', hostPath: path.join(dev, 'params'), sandboxPath: '/dev/storlet/params' },
            { kind: 'read', hostPath: path.join(dev, 'meta-in'), sandboxPath: '/dev/storlet/meta-in' },
            { kind: 'write', hostPath: path.join(dev, 'out'), sandboxPath: '/dev/storlet/out' },
            { kind: 'write', hostPath: path.join(dev, 'meta-out'), sandboxPath: '/dev/storlet/meta-out' },
            { kind: 'write', hostPath: path.join(dev, 'log'), sandboxPath: '/dev/storlet/log' },
            ...extraDevices,
          ],
          limits: { timeoutMs: deps.config.runs.storletTimeoutSeconds * 1000, memoryBytes: deps.config.runs.memoryBytes, processes: 64, maxWriteBytes: MAX_INPUT_BYTES },
        },
      ],
    });
    // The log is kept whatever happened: a failing storlet is when it matters most.
    if (wantLog) await storeLog(deps, account, name, path.join(dev, 'log'), path.join(workDir, 'stderr'));
    const outMeta = await outcome(result, name, path.join(dev, 'meta-out'), path.join(workDir, 'stderr'));
    const outPath = path.join(dev, 'out');
    const { size } = await fsp.stat(outPath);
    if (shape.kind === 'get') return sendOutput(req, source!, outMeta, outPath, size, inputRange);
    await storeOutput(req, deps, account, shape, source, name, outMeta, outPath, size);
  } finally {
    await runs.release(workDir);
  }
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

/** Each extra resource becomes /dev/storlet/in-<n> (data) and in-<n>.meta (its user metadata). */
async function stageExtras(req: StorageRequest, deps: StorletDeps, account: string, extras: ObjectName[], dev: string): Promise<DeviceBinding[]> {
  const devices: DeviceBinding[] = [];
  for (const [i, ref] of extras.entries()) {
    const reader = await openForRead(req, deps.backend, account, ref.container, ref.object);
    const data = path.join(dev, `in-${i + 1}`);
    try {
      await pipeline(reader.stream(), fs.createWriteStream(data));
      await fsp.writeFile(`${data}.meta`, JSON.stringify(visibleMetadata(reader.info.meta)));
    } finally {
      await reader.close();
    }
    devices.push({ kind: 'read', hostPath: data, sandboxPath: `/dev/storlet/in-${i + 1}` }, { kind: 'read', hostPath: `${data}.meta`, sandboxPath: `/dev/storlet/in-${i + 1}.meta` });
  }
  return devices;
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

/** The storlet module and its dependencies, in the directory mounted at /storlet. */
async function stageCode(deps: StorletDeps, account: string, name: string, meta: Metadata, dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const copy = async (container: string, object: string, mode: number): Promise<void> => {
    const reader = await deps.backend.openObject(account, container, object);
    if (!reader) throw new CairnError('storlet.no_access', { name: object });
    try {
      await pipeline(reader.stream(), fs.createWriteStream(path.join(dir, object), { mode }));
      await fsp.chmod(path.join(dir, object), mode);
    } finally {
      await reader.close();
    }
  };
  await copy(STORLET_CONTAINERS.storlet, name, 0o644);
  for (const d of dependencyList(meta)) {
    if (d.includes('/')) throw new CairnError('storlet.bad_request', { reason: `Dependency name ${d} may not contain /` });
    const info = await deps.backend.headObject(account, STORLET_CONTAINERS.dependency, d);
    if (!info) throw new CairnError('storlet.failed', { reason: `dependency ${d} is not in the ${STORLET_CONTAINERS.dependency} container` });
    await copy(STORLET_CONTAINERS.dependency, d, dependencyMode(info.meta));
  }
}

/** The last line of stderr: the exception's message, for the error body. */
async function lastLine(file: string): Promise<string> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 512);
}

/** Fails the call unless the storlet ended well and set valid metadata; returns that metadata. */
async function outcome(result: RunResult, name: string, metaOut: string, stderr: string): Promise<Metadata> {
  if (result.status === 'timeout') throw new CairnError('storlet.timed_out');
  if (result.status !== 'ok') throw new CairnError('storlet.failed', { reason: result.detail ?? result.status });
  if (result.exitCode === EXIT_NO_METADATA) throw new CairnError('storlet.no_metadata', { name });
  if (result.exitCode !== 0) throw new CairnError('storlet.failed', { reason: (await lastLine(stderr)) || `exit code ${result.exitCode ?? result.signal}` });
  // The file is written inside the sandbox, so it is checked like any other input.
  const raw = await fsp.readFile(metaOut);
  if (raw.length === 0) throw new CairnError('storlet.no_metadata', { name });
  if (raw.length > MAX_OUTPUT_METADATA_BYTES) throw new CairnError('storlet.failed', { reason: `output metadata is larger than ${MAX_OUTPUT_METADATA_BYTES} bytes` });
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new CairnError('storlet.failed', { reason: 'output metadata is not JSON' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CairnError('storlet.failed', { reason: 'output metadata is not an object' });
  const meta: Metadata = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9_-]+$/.test(k)) throw new CairnError('storlet.failed', { reason: `output metadata entry ${k} is not a header-safe string` });
    meta[k.toLowerCase()] = v;
  }
  return meta;
}

/** Splits a storlet's metadata: a `Content-Type` key sets the type, the rest is user metadata. */
function splitMeta(meta: Metadata): { contentType?: string; user: Metadata } {
  const { ['content-type']: contentType, ...user } = meta;
  return { contentType, user };
}

async function sendOutput(req: StorageRequest, source: ObjectInfo, outMeta: Metadata, outPath: string, size: number, inputRange: string | undefined): Promise<void> {
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
  try {
    await pipeline(fs.createReadStream(outPath), req.ctx.res);
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
  name: string,
  outMeta: Metadata,
  outPath: string,
  size: number,
): Promise<void> {
  const { contentType, user } = splitMeta(outMeta);
  const sent = header(req, 'content-type');
  // A copy keeps the source's user metadata, as Swift's copy does; the request's and the storlet's win.
  const kept = source ? visibleMetadata(source.meta) : {};
  const info = await deps.backend.putObject(account, shape.dest.container, shape.dest.object, fs.createReadStream(outPath), {
    contentType: contentType ?? (sent ? (headerText(sent) ?? sent) : (source?.contentType ?? 'application/octet-stream')),
    meta: { ...kept, ...(req.meta?.set ?? {}), ...user },
    contentLength: size,
    maxBytes: SWIFT_CONSTRAINTS.max_file_size,
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
async function storeLog(deps: StorletDeps, account: string, name: string, logPath: string, stderrPath: string): Promise<void> {
  const dash = name.indexOf('-');
  const logName = `${dash > 0 ? name.slice(0, dash) : name}.log`;
  const log = await fsp.readFile(logPath).catch(() => Buffer.alloc(0));
  const stderr = await fsp.readFile(stderrPath).catch(() => Buffer.alloc(0));
  const data = stderr.length ? Buffer.concat([log, Buffer.from('--- stderr ---\n'), stderr]) : log;
  await deps.backend.putContainer(account, STORLET_CONTAINERS.log, { set: {}, remove: [] });
  await deps.backend.putObject(account, STORLET_CONTAINERS.log, logName, Readable.from([data]), {
    contentType: 'text/plain',
    meta: {},
    contentLength: data.length,
    maxBytes: SWIFT_CONSTRAINTS.max_file_size,
  });
}
