// The ZeroCloud job compiler: validated job nodes → a plan of Runs (services/core/runs.ts).
// Wildcards become one node per matching object (`*` carried into output paths), `swift://~/…`
// resolves to the caller's account, readable objects and images are staged as files in the job's
// directory, writable channels become files committed after the job succeeds, and `connect`
// becomes one named pipe per (sender, receiver) pair: `/dev/out/<receiver>` and `/dev/in/<sender>`.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Config } from '../../core/config';
import { CairnError } from '../../core/errors';
import type { ObjectBackend } from '../../core/objectstore/backend';
import type { DeviceBinding, Run, RunLimits } from '../../core/runs';
import { readTar, TarError, type TarEntry } from '../../core/tar';
import { stageObject } from './run-input';
import { SYSTEM_IMAGES, isReadable, type JobDevice, type JobNode } from './zerocloud-job';

/** ZeroCloud's own defaults where it had them (spec §1.12), smaller where a 2-core host needs it. */
export const ZEROCLOUD_LIMITS = {
  /** `zerovm_maxconfig`: largest job description. */
  maxJobBytes: 64 * 1024,
  /** Largest posted script or image, and largest staged image object. */
  maxImageBytes: 256 * 1024 * 1024,
  /** Bytes one channel may read (an input object) or write (an output). @default 1 GiB, as ZeroVM */
  maxChannelBytes: 1024 * 1024 * 1024,
  processes: 64,
  /** Most nodes one job may expand to. */
  maxNodes: 200,
} as const;

/** A writable channel with a swift:// path, stored when the job succeeds. */
export interface PendingOutput {
  hostPath: string;
  container: string;
  object: string;
  contentType: string;
  meta: Record<string, string>;
  minSize: number;
}

export interface CompiledNode {
  name: string;
  run: Run;
  /** Pathless stdout/stderr, in declaration order: they make up the reply body. */
  immediate: { device: 'stdout' | 'stderr'; hostPath: string; contentType: string }[];
  outputs: PendingOutput[];
}

export interface CompileContext {
  config: Config;
  backend: ObjectBackend;
  /** The caller's account; the only one jobs may touch. */
  account: string;
  /** The job's scratch directory (removed by the caller). */
  workDir: string;
  /** Image from the request itself (tar form, or the directory holding a posted script). */
  requestImageDir?: string;
  /** Host file of the request body for the pathless readable device (X-Zerovm-Source, script on an object). */
  requestDataPath?: string;
  /** CGI-style variables every node sees. */
  env: Record<string, string>;
}

interface ObjectPath {
  container: string;
  object: string;
}

/** `swift://<acct>/<cont>/<obj>` with `~`/`.` for the caller's account; other accounts are refused. */
export function parseSwiftUrl(url: string, account: string): ObjectPath & { raw: string } {
  const m = /^swift:\/\/([^/]+)\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new CairnError('zerocloud.invalid_job', { reason: `"${url}" is not a swift://<account>/<container>/<object> URL` });
  const [, acct, container, object] = m;
  if (acct !== '~' && acct !== '.' && acct !== account) throw new CairnError('zerocloud.forbidden', { path: url });
  // Output paths become object names: Swift's limits apply as on any PUT.
  if (Buffer.byteLength(container) > 256 || Buffer.byteLength(object) > 1024 || url.includes('\0')) {
    throw new CairnError('zerocloud.invalid_job', { reason: `${url.slice(0, 64)}… names a container or object longer than Swift allows` });
  }
  if (acct.includes('*') || container.includes('*')) {
    throw new CairnError('zerocloud.invalid_job', { reason: `wildcards are allowed only in the object part of ${url}` });
  }
  return { container, object, raw: url };
}

function wildcardRegex(pattern: string): RegExp {
  const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('(.*)')}$`, 's');
}

/** Objects matching a wildcard path, with the text each `*` matched. */
async function expandWildcard(ctx: CompileContext, url: string): Promise<{ path: ObjectPath; fills: string[] }[]> {
  const p = parseSwiftUrl(url, ctx.account);
  const prefix = p.object.slice(0, p.object.indexOf('*'));
  const re = wildcardRegex(p.object);
  const out: { path: ObjectPath; fills: string[] }[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await ctx.backend.listObjects(ctx.account, p.container, { prefix, marker, limit: 10_000 }).catch((err: unknown) => {
      if (err instanceof CairnError && err.code === 'storage.container_not_found') return [];
      throw err;
    });
    for (const e of page) {
      if (e.kind !== 'item') continue;
      const m = re.exec(e.item.name);
      if (m) out.push({ path: { container: p.container, object: e.item.name }, fills: m.slice(1) });
    }
    if (page.length < 10_000) break;
    const last = page[page.length - 1];
    marker = last.kind === 'item' ? last.item.name : last.subdir;
  }
  if (out.length === 0) throw new CairnError('zerocloud.no_match', { path: url });
  if (out.length > ZEROCLOUD_LIMITS.maxNodes) throw new CairnError('zerocloud.invalid_job', { reason: `${url} matches more than ${ZEROCLOUD_LIMITS.maxNodes} objects` });
  return out;
}

/** Fills each `*` of a writable path with the matched texts (or the node name when there are none). */
function fillWildcards(url: string, fills: string[], nodeName: string): string {
  let i = 0;
  return url.replace(/\*/g, () => (fills.length ? (fills[Math.min(i++, fills.length - 1)] ?? '') : nodeName));
}

class Stager {
  private readonly staged = new Map<string, Promise<string>>();
  private seq = 0;
  constructor(private readonly ctx: CompileContext) {}

  /** Puts an object into the job directory once, however many nodes read it (run-input.ts). */
  object(p: ObjectPath, url: string, limit: number): Promise<string> {
    const key = `${p.container}/${p.object}`;
    let staged = this.staged.get(key);
    if (!staged) {
      staged = this.copy(p, url, limit);
      this.staged.set(key, staged);
    }
    return staged;
  }

  private async copy(p: ObjectPath, url: string, limit: number): Promise<string> {
    const reader = await this.ctx.backend.openObject(this.ctx.account, p.container, p.object);
    if (!reader) throw new CairnError('zerocloud.object_not_found', { path: url });
    try {
      if (reader.info.bytes > limit) throw new CairnError('zerocloud.data_too_large', { path: url, limit });
      const dest = path.join(this.ctx.workDir, `in-${++this.seq}`);
      await stageObject(reader, dest);
      return dest;
    } finally {
      await reader.close();
    }
  }

  private readonly images = new Map<string, Promise<string>>();

  /** Unpacks an image object once into a directory mounted read-only at every user's `/`. */
  image(p: ObjectPath, url: string): Promise<string> {
    const key = `${p.container}/${p.object}`;
    let dir = this.images.get(key);
    if (!dir) {
      dir = this.object(p, url, ZEROCLOUD_LIMITS.maxImageBytes).then(async (file) => unpackImage(await fsp.readFile(file), path.join(this.ctx.workDir, `image-${++this.seq}`), url));
      this.images.set(key, dir);
    }
    return dir;
  }
}

/** Writes a tar's files and directories under `dir`; links and devices were refused by the reader. */
export async function unpackImage(tar: Buffer, dir: string, what: string): Promise<string> {
  let entries;
  try {
    entries = readTar(tar);
  } catch (err) {
    if (err instanceof TarError) throw new CairnError('zerocloud.unparseable', { what, reason: err.message });
    throw err;
  }
  await fsp.mkdir(dir, { recursive: true });
  try {
    await writeEntries(entries, dir);
  } catch (err) {
    // A member under a path that an earlier member made a file (a/b after file a), and the like.
    throw new CairnError('zerocloud.unparseable', { what, reason: `members conflict: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
  }
  return dir;
}

async function writeEntries(entries: TarEntry[], dir: string): Promise<void> {
  for (const e of entries) {
    const dest = path.join(dir, e.path);
    if (e.type === 'dir') {
      await fsp.mkdir(dest, { recursive: true });
      continue;
    }
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    // The sandbox user must read every file; executables stay executable.
    await fsp.writeFile(dest, e.data, { mode: 0o644 | (e.mode & 0o111 ? 0o755 : 0) });
  }
}

/** Expands, names and wires the job's nodes, staging what they read. */
export async function compileJob(job: JobNode[], ctx: CompileContext): Promise<CompiledNode[]> {
  const stager = new Stager(ctx);
  // 1. Expand groups: a readable wildcard makes one member per object, else `count` members.
  interface Member {
    group: JobNode;
    name: string;
    fills: string[];
    /** Readable device → the object it reads (wildcards resolved). */
    reads: Map<string, ObjectPath & { raw: string }>;
  }
  const groups = new Map<string, Member[]>();
  let total = 0;
  for (const node of job) {
    const wildcard = node.devices.find((d) => d.path?.includes('*') && isReadable(d.name));
    let members: Member[];
    if (wildcard) {
      const matches = await expandWildcard(ctx, wildcard.path!);
      members = matches.map((m, i) => ({ group: node, name: matches.length === 1 ? node.name : `${node.name}-${i + 1}`, fills: m.fills, reads: new Map([[wildcard.name, { ...m.path, raw: `swift://~/${m.path.container}/${m.path.object}` }]]) }));
    } else {
      members = Array.from({ length: node.count }, (_, i) => ({ group: node, name: node.count === 1 ? node.name : `${node.name}-${i + 1}`, fills: [], reads: new Map() }));
    }
    for (const d of node.devices) {
      if (!d.path || d.path.includes('*') === false) continue;
      if (isReadable(d.name) && d !== wildcard) throw new CairnError('zerocloud.invalid_job', { reason: `node "${node.name}": only one readable device may use a wildcard` });
    }
    if (members.length > 1) {
      for (const d of node.devices) {
        if (d.path && !isReadable(d.name) && !d.path.includes('*')) {
          throw new CairnError('zerocloud.invalid_job', { reason: `node "${node.name}" has ${members.length} members but device "${d.name}" names one path; please use wildcard` });
        }
      }
    }
    total += members.length;
    if (total > ZEROCLOUD_LIMITS.maxNodes) throw new CairnError('zerocloud.invalid_job', { reason: `the job expands to more than ${ZEROCLOUD_LIMITS.maxNodes} nodes` });
    groups.set(node.name, members);
  }

  // 2. Pipes for `connect`: sender group → receiver group, one per member pair.
  const pipesOf = new Map<string, DeviceBinding[]>();
  for (const node of job) {
    for (const target of node.connect) {
      const senders = groups.get(node.name)!;
      const receivers = groups.get(target)!;
      if (target === node.name && senders.length < 2) throw new CairnError('zerocloud.invalid_job', { reason: `node "${node.name}" connects to itself but has one member` });
      for (const s of senders) {
        for (const r of receivers) {
          if (s === r) continue;
          const pipe = `${s.name}>${r.name}`;
          pipesOf.set(s.name, [...(pipesOf.get(s.name) ?? []), { kind: 'pipe', pipe, end: 'write', sandboxPath: `/dev/out/${r.name}` }]);
          pipesOf.set(r.name, [...(pipesOf.get(r.name) ?? []), { kind: 'pipe', pipe, end: 'read', sandboxPath: `/dev/in/${s.name}` }]);
        }
      }
    }
  }

  // 3. One Run per member.
  const limits: RunLimits = {
    timeoutMs: ctx.config.runs.zerocloudTimeoutSeconds * 1000,
    memoryBytes: ctx.config.runs.memoryBytes,
    processes: ZEROCLOUD_LIMITS.processes,
    maxWriteBytes: ZEROCLOUD_LIMITS.maxChannelBytes,
  };
  const compiled: CompiledNode[] = [];
  for (const node of job) {
    for (const m of groups.get(node.name)!) compiled.push(await compileMember(node, m.name, m.fills, m.reads, pipesOf.get(m.name) ?? [], ctx, stager, limits));
  }
  return compiled;
}

async function compileMember(
  node: JobNode,
  name: string,
  fills: string[],
  reads: Map<string, ObjectPath & { raw: string }>,
  pipes: DeviceBinding[],
  ctx: CompileContext,
  stager: Stager,
  limits: RunLimits,
): Promise<CompiledNode> {
  const dir = path.join(ctx.workDir, `node-${name}`);
  await fsp.mkdir(dir);
  const devices: DeviceBinding[] = [...pipes];
  const immediate: CompiledNode['immediate'] = [];
  const outputs: PendingOutput[] = [];
  let imageDir = ctx.requestImageDir;
  let stdinPath: string | undefined;
  const stdoutPath = path.join(dir, 'stdout');
  const stderrPath = path.join(dir, 'stderr');
  let requestDataUsed = false;

  for (const d of node.devices) {
    // System images need no binding: their interpreter is the sandbox's own /usr/bin/python3.
    if (SYSTEM_IMAGES.has(d.name)) continue;
    if (isReadable(d.name)) {
      let file: string;
      if (d.path === undefined) {
        // A pathless readable device is fed by the request body (X-Zerovm-Source), once.
        if (!ctx.requestDataPath || requestDataUsed) {
          if (d.name === 'image' && ctx.requestImageDir) continue;
          throw new CairnError('zerocloud.invalid_job', { reason: `node "${node.name}": device "${d.name}" needs a path` });
        }
        requestDataUsed = true;
        file = ctx.requestDataPath;
      } else {
        const target = reads.get(d.name) ?? parseSwiftUrl(d.path, ctx.account);
        if (d.name === 'image') {
          imageDir = await stager.image(target, target.raw);
          continue;
        }
        file = await stager.object(target, target.raw, ZEROCLOUD_LIMITS.maxChannelBytes);
      }
      if (d.name === 'stdin') stdinPath = file;
      else devices.push({ kind: 'read', hostPath: file, sandboxPath: `/dev/${d.name}` });
      continue;
    }
    // Writable: stdout/stderr are always captured; `output` is a bound file.
    const hostPath = d.name === 'stdout' ? stdoutPath : d.name === 'stderr' ? stderrPath : path.join(dir, d.name);
    if (d.name === 'output') devices.push({ kind: 'write', hostPath, sandboxPath: '/dev/output' });
    if (d.path === undefined) {
      immediate.push({ device: d.name as 'stdout' | 'stderr', hostPath, contentType: d.contentType ?? 'text/html' });
    } else {
      const target = parseSwiftUrl(fillWildcards(d.path, fills, name), ctx.account);
      outputs.push({ hostPath, container: target.container, object: target.object, contentType: d.contentType ?? 'application/octet-stream', meta: d.meta, minSize: d.minSize });
    }
  }

  const { program, args } = resolveExec(node, imageDir);
  return {
    name,
    immediate,
    outputs,
    run: {
      name,
      program,
      args,
      env: { ...ctx.env, ...node.exec.env },
      cwd: '/',
      imageDir,
      stdinPath,
      stdoutPath,
      stderrPath,
      devices,
      limits,
    },
  };
}

/** `file://<system image>:<path>` runs the platform's Python 3; other paths run a program from the image. */
function resolveExec(node: JobNode, imageDir: string | undefined): { program: string; args: string[] } {
  const p = node.exec.path;
  const file = /^file:\/\/([^:/]+):(.+)$/.exec(p);
  if (file && file[1] !== 'image') {
    if (!SYSTEM_IMAGES.has(file[1])) throw new CairnError('zerocloud.invalid_job', { reason: `node "${node.name}": unknown system image "${file[1]}" in exec.path` });
    // -B: images are read-only, no .pyc writes; the program is the system image's Python 3.
    return { program: PYTHON_IN_SANDBOX, args: ['-B', ...node.exec.args] };
  }
  if (p.startsWith('swift://')) throw new CairnError('zerocloud.invalid_job', { reason: `node "${node.name}": exec.path from swift:// is not supported; put the program in the image` });
  const rel = file ? file[2] : p.replace(/^file:\/\//, '');
  if (!imageDir) throw new CairnError('zerocloud.invalid_job', { reason: `node "${node.name}": exec.path ${p} needs an image device` });
  const inImage = path.posix.normalize(`/${rel}`);
  if (!fs.existsSync(path.join(imageDir, inImage))) throw new CairnError('zerocloud.invalid_job', { reason: `node "${node.name}": ${rel} is not in the image` });
  return { program: inImage, args: node.exec.args };
}

/** The system images' interpreter inside every sandbox (Debian's, under the read-only /usr). */
export const PYTHON_IN_SANDBOX = '/usr/bin/python3';
