// A minimal reader for the tar images ZeroCloud jobs carry (ustar, GNU long names, pax `path`).
// Only regular files and directories are returned: links and devices are refused, so unpacking an
// image can never write outside its directory or reach a host file through a symlink.

export interface TarEntry {
  /** Normalised relative path, no leading `./` or `/`, never containing `..`. */
  path: string;
  type: 'file' | 'dir';
  /** File content (empty for directories). */
  data: Buffer;
  /** Permission bits from the header. */
  mode: number;
}

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarError';
  }
}

const BLOCK = 512;

function field(buf: Buffer, start: number, length: number): string {
  const raw = buf.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? raw.length : nul).toString('utf8');
}

function octal(buf: Buffer, start: number, length: number): number {
  // GNU base-256 for sizes past 8 GiB: high bit of the first byte set.
  if (buf[start] & 0x80) {
    let n = 0;
    for (let i = start + 1; i < start + length; i++) n = n * 256 + buf[i];
    return n;
  }
  const text = field(buf, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`bad number field "${text}"`);
  return parseInt(text, 8);
}

/** `./a//b/` → `a/b`; refuses `..`, absolute escapes and NUL. */
export function normaliseTarPath(raw: string): string {
  if (raw.includes('\0')) throw new TarError('member name contains NUL');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new TarError(`member "${raw}" leaves the image`);
  return parts.join('/');
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp === -1) break;
    const len = Number(data.subarray(i, sp).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0) throw new TarError('bad pax record');
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Whether the buffer starts like a tar archive (ustar magic or a valid v7 header checksum). */
export function looksLikeTar(buf: Buffer): boolean {
  if (buf.length < BLOCK) return false;
  if (buf.subarray(257, 262).toString('latin1') === 'ustar') return true;
  try {
    return checksumOk(buf.subarray(0, BLOCK));
  } catch {
    return false;
  }
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum === octal(header, 148, 8);
}

/** Parses a whole archive held in memory; `maxEntries` bounds the work a hostile archive can cause. */
export function readTar(buf: Buffer, maxEntries = 10_000): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  while (offset + BLOCK <= buf.length) {
    const header = buf.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) throw new TarError(`bad header checksum at offset ${offset}`);
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    const dataStart = offset + BLOCK;
    if (dataStart + size > buf.length) throw new TarError('archive is truncated');
    const data = buf.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (type === 'x') {
      pax = parsePax(data);
      continue;
    }
    if (type === 'g') continue;
    const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? field(header, 345, 155) : '';
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    pax = {};
    const path = normaliseTarPath(name);
    const mode = octal(header, 100, 8) & 0o777;
    if (type === '0' || type === '7') {
      if (!path) throw new TarError('file member without a name');
      entries.push({ path, type: 'file', data, mode });
    } else if (type === '5') {
      if (path) entries.push({ path, type: 'dir', data: Buffer.alloc(0), mode });
    } else {
      throw new TarError(`member "${name}" is a link or device; images may hold only files and directories`);
    }
    if (entries.length > maxEntries) throw new TarError(`more than ${maxEntries} members`);
  }
  return entries;
}
