// ZeroCloud's job controller (spec/storlets.md §1): `X-Zerovm-Execute: 1.0` POSTs to the storage
// URL carry a script (`#!file://<image>:<exe>`), a tar image with `boot/system.map`, or a JSON job;
// `X-Zerovm-Source` reads any of them from an object instead. The job is compiled into Runs
// (zerocloud-plan.ts), executed in sandboxes without network, and folded into ZeroCloud's reply:
// the pathless stdout/stderr of every node in node order, one `X-Nexe-*` entry per node. Outputs
// with swift:// paths are stored only when every node succeeded; a failed job answers with its
// cause and stderr, never an empty body.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CairnError } from '../../core/errors';
import type { RunExecutor, RunResult } from '../../core/runs';
import { readTar, TarError } from '../../core/tar';
import { headerValue } from './metadata';
import { requireOwner } from './run-auth';
import type { Middleware, StorageDeps, StorageRequest } from './pipeline';
import { parseJob, SYSTEM_IMAGES, type JobNode } from './zerocloud-job';
import { compileJob, parseSwiftUrl, unpackImage, ZEROCLOUD_LIMITS, type CompileContext, type CompiledNode } from './zerocloud-plan';

const TAR_TYPES = new Set(['application/x-tar', 'application/x-gtar', 'application/x-ustar', 'application/x-gzip']);
const BOOT_MAPS = ['boot/system.map', 'boot/cluster.map'];
/** Largest posted script (scripts are source text; images have their own cap). */
const MAX_SCRIPT_BYTES = 1024 * 1024;
/** Most reply bytes kept per node's stderr in an error body. */
const STDERR_IN_ERROR = 16 * 1024;

export interface ZerocloudDeps extends StorageDeps {
  /** Unset: the deployment runs no tenant code next to the data (503). */
  runs?: RunExecutor;
}

/** The program a job posts, before compilation. */
interface JobSource {
  nodes: JobNode[];
  /** Directory unpacked from a posted tar or holding a posted script. */
  imageDir?: string;
  /** Posted scripts reply as text/plain, like ZeroCloud's built-in script job. */
  script: boolean;
}

function mediaType(raw: string | undefined): string {
  return (raw ?? '').split(';')[0].trim().toLowerCase();
}

/** Reads a request body up to `limit` bytes; larger bodies are refused with `tooLarge`. */
async function readBody(req: StorageRequest, limit: number, tooLarge: () => CairnError): Promise<Buffer> {
  const declared = req.ctx.req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseJsonJob(body: Buffer): JobNode[] {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new CairnError('zerocloud.unparseable', { what: 'the job description', reason: (err as Error).message });
  }
  return parseJob(raw);
}

export function zerocloud(deps: ZerocloudDeps): Middleware {
  return {
    name: 'zerocloud',
    after: ['auth'],
    info: deps.runs
      ? {
          zerocloud: {
            execute_versions: ['1.0', 'open/1.0'],
            system_images: [...SYSTEM_IMAGES],
            max_config: ZEROCLOUD_LIMITS.maxJobBytes,
            timeout: deps.config.runs.zerocloudTimeoutSeconds,
          },
        }
      : undefined,
    async handle(req, next) {
      const header = req.ctx.req.headers['x-zerovm-execute'];
      if (header === undefined || !req.target) return next();
      const version = String(header).trim();
      requireOwner(req);
      if (version === 'open/1.0') {
        if (req.ctx.method !== 'GET') throw new CairnError('zerocloud.method_not_allowed', { method: req.ctx.method });
        return openObject(req, deps);
      }
      if (version === 'api/1.0') throw new CairnError('storage.not_implemented', { feature: 'ZeroCloud REST endpoints (api/1.0)' });
      if (req.ctx.method !== 'POST') throw new CairnError('zerocloud.method_not_allowed', { method: req.ctx.method });
      if (!deps.runs) throw new CairnError('zerocloud.unavailable');
      const runs = deps.runs;
      const target = req.target;
      if (target.kind === 'container') throw new CairnError('zerocloud.bad_target', { reason: 'Jobs are posted to the account URL (or, for scripts, to an object URL)' });

      const workDir = await runs.workDir('zvm');
      try {
        const headers = req.ctx.req.headers;
        const sourceHeader = headers['x-zerovm-source'];
        let form: { type: string; body: Buffer };
        let requestDataPath: string | undefined;
        if (sourceHeader !== undefined) {
          const source = String(sourceHeader).trim();
          if (!source.startsWith('swift://')) throw new CairnError('zerocloud.bad_source', { value: source });
          const p = parseSwiftUrl(source, target.account);
          const reader = await deps.backend.openObject(target.account, p.container, p.object);
          if (!reader) throw new CairnError('zerocloud.object_not_found', { path: source });
          try {
            if (reader.info.bytes > ZEROCLOUD_LIMITS.maxImageBytes) throw new CairnError('zerocloud.data_too_large', { path: source, limit: ZEROCLOUD_LIMITS.maxImageBytes });
            const chunks: Buffer[] = [];
            for await (const c of reader.stream() as AsyncIterable<Buffer>) chunks.push(c);
            form = { type: mediaType(reader.info.contentType), body: Buffer.concat(chunks) };
          } finally {
            await reader.close();
          }
          // The request body, if any, feeds the job's one pathless readable device.
          const data = await readBody(req, ZEROCLOUD_LIMITS.maxChannelBytes, () => new CairnError('zerocloud.data_too_large', { path: 'the request body', limit: ZEROCLOUD_LIMITS.maxChannelBytes }));
          if (data.length) {
            requestDataPath = path.join(workDir, 'request-body');
            await fsp.writeFile(requestDataPath, data);
          }
        } else {
          const type = mediaType(headers['content-type']);
          if (!type) throw new CairnError('zerocloud.no_content_type');
          form = { type, body: await readPosted(req, type) };
        }
        // A client-sent Etag must be the md5 of the posted job (ZeroCloud's 422 otherwise).
        const etag = sourceHeader === undefined ? headers.etag?.trim().replace(/^"(.*)"$/, '$1').toLowerCase() : undefined;
        const job = await jobFromForm(form, workDir, target.kind === 'object' ? { container: target.container, object: target.object } : undefined, requestDataPath !== undefined, etag);
        if (target.kind === 'object' && !job.script) throw new CairnError('zerocloud.bad_target', { reason: 'Job descriptions and images are posted to the account URL' });
        const ctx: CompileContext = {
          config: deps.config,
          backend: deps.backend,
          account: target.account,
          workDir,
          requestImageDir: job.imageDir,
          requestDataPath,
          env: cgiEnv(req),
        };
        const nodes = await compileJob(job.nodes, ctx);
        const results = await runs.execute({ runs: nodes.map((n) => n.run), timeoutMs: deps.config.runs.zerocloudTimeoutSeconds * 1000 + 1000 });
        await reply(req, deps, target.account, nodes, results, job.script);
      } finally {
        await runs.release(workDir);
      }
    },
  };
}

async function readPosted(req: StorageRequest, type: string): Promise<Buffer> {
  if (type === 'application/json') {
    return readBody(req, ZEROCLOUD_LIMITS.maxJobBytes, () => new CairnError('zerocloud.job_too_large', { limit: ZEROCLOUD_LIMITS.maxJobBytes }));
  }
  if (TAR_TYPES.has(type)) {
    if (req.ctx.req.headers['content-length'] === undefined) throw new CairnError('zerocloud.length_required');
    return readBody(req, ZEROCLOUD_LIMITS.maxImageBytes, () => new CairnError('zerocloud.data_too_large', { path: 'the posted image', limit: ZEROCLOUD_LIMITS.maxImageBytes }));
  }
  return readBody(req, MAX_SCRIPT_BYTES, () => new CairnError('zerocloud.data_too_large', { path: 'the posted script', limit: MAX_SCRIPT_BYTES }));
}

/** Turns one of the three forms into job nodes (and the image they run in). */
async function jobFromForm(
  form: { type: string; body: Buffer },
  workDir: string,
  object: { container: string; object: string } | undefined,
  requestData = false,
  etag?: string,
): Promise<JobSource> {
  if (form.type === 'application/json') {
    if (form.body.length > ZEROCLOUD_LIMITS.maxJobBytes) throw new CairnError('zerocloud.job_too_large', { limit: ZEROCLOUD_LIMITS.maxJobBytes });
    if (etag !== undefined && etag !== createHash('md5').update(form.body).digest('hex')) throw new CairnError('storage.etag_mismatch');
    return { nodes: parseJsonJob(form.body), script: false };
  }
  if (TAR_TYPES.has(form.type)) {
    let tar = form.body;
    if (form.type === 'application/x-gzip' || (tar[0] === 0x1f && tar[1] === 0x8b)) {
      try {
        tar = gunzipSync(tar, { maxOutputLength: ZEROCLOUD_LIMITS.maxImageBytes });
      } catch (err) {
        throw new CairnError('zerocloud.unparseable', { what: 'the gzip stream', reason: (err as Error).message });
      }
    }
    let entries;
    try {
      entries = readTar(tar);
    } catch (err) {
      if (err instanceof TarError) throw new CairnError('zerocloud.unparseable', { what: 'the posted image', reason: err.message });
      throw err;
    }
    const map = BOOT_MAPS.map((name) => entries.find((e) => e.type === 'file' && e.path === name)).find(Boolean);
    if (!map) throw new CairnError('zerocloud.no_system_map');
    const nodes = parseJsonJob(map.data);
    const imageDir = await unpackImage(tar, path.join(workDir, 'image'), 'the posted image');
    return { nodes, imageDir, script: false };
  }
  return scriptJob(form.body, workDir, object, requestData);
}

/**
 * A posted script: `#!<interpreter-url> [args]` on the first line, run as `<interpreter> [args]
 * script` from `/` with the script as the only file of the image, stdout in the reply as text.
 */
async function scriptJob(body: Buffer, workDir: string, object: { container: string; object: string } | undefined, requestData: boolean): Promise<JobSource> {
  const text = body.toString('utf8');
  if (!text.startsWith('#!')) throw new CairnError('zerocloud.no_shebang');
  const firstLine = text.slice(2, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n')).trim();
  const [url, ...interpArgs] = firstLine.split(/\s+/);
  const m = /^file:\/\/([^:/]+):(.+)$/.exec(url ?? '');
  if (!m || !SYSTEM_IMAGES.has(m[1])) throw new CairnError('zerocloud.no_shebang');
  const imageDir = path.join(workDir, 'script-image');
  await fsp.mkdir(imageDir);
  await fsp.writeFile(path.join(imageDir, 'script'), body, { mode: 0o644 });
  const devices: unknown[] = [{ name: m[1] }, { name: 'stdout', content_type: 'text/plain' }];
  if (object) devices.push({ name: 'stdin', path: `swift://~/${object.container}/${object.object}` });
  // Under X-Zerovm-Source the request body is the script's stdin.
  else if (requestData) devices.push({ name: 'stdin' });
  const nodes = parseJob([{ name: 'script', exec: { path: url, args: [...interpArgs, 'script'].map(quote).join(' ') }, devices }]);
  return { nodes, imageDir, script: true };
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The CGI variables ZeroCloud gives every node (a subset: no host names or ports leak in). */
function cgiEnv(req: StorageRequest): Record<string, string> {
  return {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'zerocloud',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_METHOD: req.ctx.method,
    PATH_INFO: req.ctx.path,
    QUERY_STRING: req.ctx.rawQuery,
    REQUEST_URI: req.ctx.rawQuery ? `${req.ctx.path}?${req.ctx.rawQuery}` : req.ctx.path,
  };
}

function failed(r: RunResult): boolean {
  return r.status !== 'ok' || r.exitCode !== 0;
}

async function tail(file: string, max: number): Promise<string> {
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - max);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return (start > 0 ? '[…]\n' : '') + buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/** Folds the node results into ZeroCloud's reply; commits outputs only when every node succeeded. */
async function reply(req: StorageRequest, deps: ZerocloudDeps, account: string, nodes: CompiledNode[], results: RunResult[], script: boolean): Promise<void> {
  const { res } = req.ctx;
  const totalSecs = Math.max(0, ...results.map((r) => r.wallMs)) / 1000;
  const headers: Record<string, string> = {
    'X-Nexe-System': nodes.map((n) => n.name).join(','),
    'X-Nexe-Status': results.map((r) => (r.status === 'ok' ? 'ok.' : headerValue(r.detail ?? r.status).replace(/,/g, ';'))).join(','),
    'X-Nexe-Retcode': results.map((r) => String(r.exitCode ?? -1)).join(','),
    // No NaCl validator: every program is confined by the sandbox instead (2 = validation skipped).
    'X-Nexe-Validation': results.map(() => '2').join(','),
    'X-Nexe-Etag': results.map(() => 'disabled').join(','),
    'X-Nexe-Cdr-Line': [totalSecs.toFixed(3), ...results.map((r) => `${(r.wallMs / 1000).toFixed(3)}, 0 0 0 0 0 0 0 0 0 0`)].join(', '),
    'X-Nexe-Policy': results.map(() => 'Policy-0').join(','),
    'X-Nexe-Colocated': results.map(() => '0').join(','),
    // ZeroCloud's reply Etag is the md5 of the current time: replies are never cached.
    Etag: createHash('md5').update(`${Date.now()}${randomBytes(4).toString('hex')}`).digest('hex'),
  };
  const broken = results.filter((r) => r.status !== 'ok');
  const nonzero = results.filter((r) => r.status === 'ok' && r.exitCode !== 0);
  if (broken.length || nonzero.length) {
    headers['X-Nexe-Error'] = [...broken.map((r) => `${r.name}: ${r.detail ?? r.status}`), ...nonzero.map((r) => `${r.name}: ${r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`}`)].join('; ');
  }
  if (broken.length) {
    // The sandbox failed (timeout, memory, output cap): nothing is stored, the body says why.
    return sendText(res, 500, headers, await errorBody(nodes, results, 'The job failed'));
  }
  if (!nonzero.length) {
    for (const n of nodes) {
      for (const out of n.outputs) {
        const { size } = await fsp.stat(out.hostPath);
        if (size < out.minSize) continue;
        await deps.backend.putObject(account, out.container, out.object, fs.createReadStream(out.hostPath), {
          contentType: out.contentType,
          meta: out.meta,
          contentLength: size,
          maxBytes: ZEROCLOUD_LIMITS.maxChannelBytes,
        });
      }
    }
  }
  const parts: Buffer[] = [];
  let contentType: string | undefined;
  for (const n of nodes) {
    for (const im of n.immediate) {
      contentType ??= im.contentType;
      parts.push(await fsp.readFile(im.hostPath));
    }
  }
  const body = Buffer.concat(parts);
  if (nonzero.length && body.length === 0) {
    // ZeroCloud answered a crashed program with an empty body (zerocloud #106); say what happened.
    return sendText(res, 200, headers, await errorBody(nodes, results, 'The job ran but a program failed; no outputs were stored'));
  }
  const type = contentType ?? (script ? 'text/plain' : 'text/html');
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': body.length, 'X-Zerovm-Device': 'stdout' });
  res.end(body);
}

async function errorBody(nodes: CompiledNode[], results: RunResult[], title: string): Promise<string> {
  const lines = [`${title}.`];
  for (const [i, r] of results.entries()) {
    if (!failed(r)) continue;
    const why = r.status !== 'ok' ? (r.detail ?? r.status) : r.signal ? `killed by ${r.signal}` : `exited with code ${r.exitCode}`;
    lines.push(`node ${r.name}: ${why}`);
    const err = await tail(nodes[i].run.stderrPath, STDERR_IN_ERROR);
    if (err) lines.push(`--- stderr of ${r.name} ---`, err.replace(/\n$/, ''));
  }
  return `${lines.join('\n')}\n`;
}

function sendText(res: StorageRequest['ctx']['res'], status: number, headers: Record<string, string>, text: string): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': body.length });
  res.end(body);
}

/**
 * `X-Zerovm-Execute: open/1.0` GET on an object: a tar with `boot/system.map` runs as is; any
 * other object runs the job template stored at `.zvm/<content-type>/config` in the caller's
 * account, with `{.object_path}` and `{.name=default}` filled from the object and the query.
 */
async function openObject(req: StorageRequest, deps: ZerocloudDeps): Promise<void> {
  const target = req.target!;
  if (target.kind !== 'object') throw new CairnError('storage.precondition_failed');
  if (!deps.runs) throw new CairnError('zerocloud.unavailable');
  const runs = deps.runs;
  const info = await deps.backend.headObject(target.account, target.container, target.object);
  if (!info) throw new CairnError('storage.object_not_found');
  const workDir = await runs.workDir('zvm-open');
  try {
    const objectUrl = `swift://${target.account}/${target.container}/${target.object}`;
    let nodes: JobNode[];
    let imageDir: string | undefined;
    const type = mediaType(info.contentType);
    if (TAR_TYPES.has(type)) {
      const reader = await deps.backend.openObject(target.account, target.container, target.object);
      if (!reader) throw new CairnError('storage.object_not_found');
      const chunks: Buffer[] = [];
      try {
        if (reader.info.bytes > ZEROCLOUD_LIMITS.maxImageBytes) throw new CairnError('zerocloud.data_too_large', { path: objectUrl, limit: ZEROCLOUD_LIMITS.maxImageBytes });
        for await (const c of reader.stream() as AsyncIterable<Buffer>) chunks.push(c);
      } finally {
        await reader.close();
      }
      const job = await jobFromForm({ type, body: Buffer.concat(chunks) }, workDir, undefined);
      nodes = job.nodes;
      imageDir = job.imageDir;
    } else {
      const templateName = `${type}/config`;
      const reader = await deps.backend.openObject(target.account, '.zvm', templateName);
      if (!reader) throw new CairnError('zerocloud.no_template', { type });
      const chunks: Buffer[] = [];
      try {
        if (reader.info.bytes > ZEROCLOUD_LIMITS.maxJobBytes) throw new CairnError('zerocloud.job_too_large', { limit: ZEROCLOUD_LIMITS.maxJobBytes });
        for await (const c of reader.stream() as AsyncIterable<Buffer>) chunks.push(c);
      } finally {
        await reader.close();
      }
      const query = req.ctx.query;
      // Placeholders are replaced inside JSON strings, so values are JSON-escaped.
      const esc = (v: string): string => JSON.stringify(v).slice(1, -1);
      const text = Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\{\.object_path\}/g, esc(objectUrl))
        .replace(/\{\.([A-Za-z0-9_]+)(?:=([^}]*))?\}/g, (_all, name: string, def: string | undefined) => esc(query.get(name) ?? def ?? ''));
      nodes = parseJsonJob(Buffer.from(text));
    }
    const compiled = await compileJob(nodes, { config: deps.config, backend: deps.backend, account: target.account, workDir, requestImageDir: imageDir, env: cgiEnv(req) });
    const results = await runs.execute({ runs: compiled.map((n) => n.run), timeoutMs: deps.config.runs.zerocloudTimeoutSeconds * 1000 + 1000 });
    await reply(req, deps, target.account, compiled, results, false);
  } finally {
    await runs.release(workDir);
  }
}
