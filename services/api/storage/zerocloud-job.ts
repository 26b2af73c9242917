// ZeroCloud's job description ("servlet config", the JSON of `boot/system.map`), validated at the
// edge into typed nodes: field names as ZeroCloud has them, including the old `file_list` and
// `device` aliases. Every problem is a 400 naming the node and field; nothing runs before this passes.
import { CairnError } from '../../core/errors';

/** System images a job may name as devices; each maps to the platform's Python 3. */
export const SYSTEM_IMAGES: ReadonlySet<string> = new Set(['python2.7', 'python3', 'python']);

/** Device names ZeroCloud knows, and what each may do. */
const READABLE = new Set(['stdin', 'input', 'script', 'image']);
const WRITABLE = new Set(['stdout', 'stderr', 'output']);
/** Only these may be pathless writable devices (streamed into the reply). */
const IMMEDIATE = new Set(['stdout', 'stderr']);

export interface JobDevice {
  name: string;
  path?: string;
  contentType?: string;
  meta: Record<string, string>;
  minSize: number;
}

export interface JobNode {
  name: string;
  exec: { path: string; args: string[]; env: Record<string, string>; name?: string };
  devices: JobDevice[];
  count: number;
  connect: string[];
}

const invalid = (reason: string): CairnError => new CairnError('zerocloud.invalid_job', { reason });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') throw invalid(`${where} must be a string`);
  return v;
}

/** Splits `exec.args` as a shell would for plain words and quotes (no expansions). */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|((?:[^\s"'\\]|\\.)+))/gy;
  let current: string | undefined;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) {
    // Inside double quotes a backslash escapes only \ " $ and `, as in sh; elsewhere any character.
    const word = m[1] !== undefined ? m[1].replace(/\\([\\"$`])/g, '$1') : m[2] !== undefined ? m[2] : m[3].replace(/\\(.)/g, '$1');
    const glued = current !== undefined && !/^\s/.test(line.slice(last, re.lastIndex));
    if (glued) current += word;
    else {
      if (current !== undefined) out.push(current);
      current = word;
    }
    last = re.lastIndex;
  }
  if (line.slice(last).trim()) throw invalid(`exec.args has an unterminated quote: ${line}`);
  if (current !== undefined) out.push(current);
  return out;
}

function parseDevice(raw: unknown, node: string): JobDevice {
  if (!isObject(raw)) throw invalid(`node "${node}": each device must be an object`);
  const name = str(raw.name ?? raw.device, `node "${node}" device name`);
  if (!READABLE.has(name) && !WRITABLE.has(name) && !SYSTEM_IMAGES.has(name)) {
    if (name === 'debug') throw invalid(`node "${node}": the debug device (network) is not available; sandboxes have no network`);
    throw invalid(`node "${node}": unknown device "${name}"`);
  }
  const path = raw.path === undefined || raw.path === null ? undefined : str(raw.path, `node "${node}" device "${name}" path`);
  if (path !== undefined && SYSTEM_IMAGES.has(name)) throw invalid(`node "${node}": system image "${name}" takes no path`);
  if (path === undefined && WRITABLE.has(name) && !IMMEDIATE.has(name)) throw new CairnError('zerocloud.invalid_job', { reason: `Immediate response is not available for device ${name}` });
  const meta: Record<string, string> = {};
  if (raw.meta !== undefined) {
    if (!isObject(raw.meta)) throw invalid(`node "${node}" device "${name}": meta must be an object`);
    for (const [k, v] of Object.entries(raw.meta)) meta[k.toLowerCase()] = String(v);
  }
  const minSize = raw.min_size === undefined ? 0 : Number(raw.min_size);
  if (!Number.isInteger(minSize) || minSize < 0) throw invalid(`node "${node}" device "${name}": min_size must be a non-negative integer`);
  const contentType = raw.content_type === undefined ? undefined : str(raw.content_type, `node "${node}" device "${name}" content_type`);
  return { name, path, contentType, meta, minSize };
}

/** Validates a parsed job description; throws 400 naming the first problem. */
export function parseJob(raw: unknown): JobNode[] {
  // A single node object is accepted as a one-element job, as ZeroCloud's parser does.
  const list = Array.isArray(raw) ? raw : isObject(raw) ? [raw] : undefined;
  if (!list || list.length === 0) throw invalid('the job must be a non-empty JSON array of nodes');
  const nodes: JobNode[] = [];
  const names = new Set<string>();
  for (const [i, n] of list.entries()) {
    if (!isObject(n)) throw invalid(`node #${i + 1} must be an object`);
    if (n.name === undefined) throw invalid(`node #${i + 1} has no "name"`);
    const name = str(n.name, `node #${i + 1} name`);
    if (!/^[A-Za-z0-9_.]+$/.test(name)) throw invalid(`node name "${name}" must be alphanumeric`);
    if (names.has(name)) throw invalid(`node name "${name}" is used twice`);
    names.add(name);
    if (!isObject(n.exec)) throw invalid(`node "${name}" has no "exec"`);
    if (n.exec.path === undefined) throw invalid(`node "${name}" has no "exec.path"`);
    const execPath = str(n.exec.path, `node "${name}" exec.path`);
    if (execPath.startsWith('zvm://')) throw invalid(`node "${name}": exec.path may not be a zvm:// URL`);
    const args = n.exec.args === undefined ? [] : splitArgs(str(n.exec.args, `node "${name}" exec.args`));
    const env: Record<string, string> = {};
    if (n.exec.env !== undefined) {
      if (!isObject(n.exec.env)) throw invalid(`node "${name}": exec.env must be an object`);
      for (const [k, v] of Object.entries(n.exec.env)) {
        if (!/^[A-Za-z0-9_]+$/.test(k)) throw invalid(`node "${name}": exec.env name "${k}" must be alphanumeric`);
        env[k] = String(v);
      }
    }
    const execName = n.exec.name === undefined ? undefined : str(n.exec.name, `node "${name}" exec.name`);
    const rawDevices = n.devices ?? n.file_list ?? [];
    if (!Array.isArray(rawDevices)) throw invalid(`node "${name}": devices must be a list`);
    const devices = rawDevices.map((d) => parseDevice(d, name));
    const seen = new Set<string>();
    for (const d of devices) {
      if (seen.has(d.name)) throw invalid(`node "${name}": device "${d.name}" is declared twice`);
      seen.add(d.name);
    }
    const count = n.count === undefined ? 1 : Number(n.count);
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw invalid(`node "${name}": count must be an integer from 1 to 1000`);
    const connect = n.connect === undefined ? [] : n.connect;
    if (!Array.isArray(connect) || connect.some((c) => typeof c !== 'string')) throw invalid(`node "${name}": connect must be a list of node names`);
    nodes.push({ name, exec: { path: execPath, args, env, name: execName }, devices, count, connect: connect as string[] });
  }
  for (const n of nodes) {
    for (const c of n.connect) if (!names.has(c)) throw invalid(`node "${n.name}" connects to unknown node "${c}"`);
  }
  return nodes;
}

export function isReadable(device: string): boolean {
  return READABLE.has(device);
}

export function isWritable(device: string): boolean {
  return WRITABLE.has(device);
}
