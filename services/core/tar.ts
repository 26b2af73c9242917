// Minimal tar readers (ustar, GNU long names, pax `path`). readTar: the in-memory images ZeroCloud
// jobs carry; only regular files and directories are returned, links and devices are refused, so
// unpacking an image can never write outside its directory or reach a host file through a symlink.
// readTarStream: archives streamed in (bulk upload), member by member, names left as sent.

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

/** One member of a streamed archive (readTarStream). */
export interface TarStreamEntry {
  /** The member's name as its bytes (GNU long name or pax `path` applied), not normalised. */
  name: Buffer;
  /** Links, devices, FIFOs … are `other`: readers skip them. */
  type: 'file' | 'dir' | 'other';
  size: number;
  /** The member's pax extended header records (xattrs, …); empty without one. */
  pax: Record<string, string>;
  /**
   * The member's bytes, read from the source as they are consumed. Read it to the end or not at
   * all before asking for the next entry (the rest is skipped then).
   */
  body: AsyncIterable<Buffer>;
}

/** Pulls exact byte counts out of a chunked source, holding at most one source chunk. */
class ByteSource {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private readonly it: AsyncIterator<Buffer>;
  /** Bytes handed out so far (the offset in the archive). */
  offset = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** True when at least `n` bytes are buffered, false when the source ended first. */
  async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    }
    return this.buf.length >= n;
  }

  async take(n: number): Promise<Buffer> {
    if (!(await this.fill(n))) throw new TarError('unexpected end of data');
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Yields the next `n` bytes chunk by chunk, as they arrive. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!this.buf.length && !(await this.fill(1))) throw new TarError('unexpected end of data');
      const piece = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(piece.length);
      this.offset += piece.length;
      left -= piece.length;
      yield piece;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) void _;
  }
}

/**
 * Reads an archive as it arrives (ustar, GNU long names, pax headers), never holding more than a
 * header and one source chunk: a bulk upload may be far larger than memory. Throws TarError for
 * an empty or malformed archive and for one that ends mid-member.
 */
export async function* readTarStream(source: AsyncIterable<Buffer>): AsyncGenerator<TarStreamEntry> {
  const src = new ByteSource(source);
  let longName: Buffer | undefined;
  let pax: Record<string, string> = {};
  let first = true;
  for (;;) {
    if (!(await src.fill(1))) {
      if (first) throw new TarError('empty file');
      return; // no end-of-archive blocks: tolerated, as GNU tar and Python's tarfile do
    }
    const at = src.offset;
    const header = await src.take(BLOCK);
    if (header.every((b) => b === 0)) return;
    if (!checksumOk(header)) throw new TarError(first ? 'invalid header' : `bad header checksum at offset ${at}`);
    first = false;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    const padding = Math.ceil(size / BLOCK) * BLOCK - size;
    if (type === 'L' || type === 'x') {
      if (size > 1024 * 1024) throw new TarError('extended header too large');
      const data = await src.take(size);
      await src.take(padding);
      if (type === 'L') longName = data.subarray(0, data.indexOf(0) === -1 ? data.length : data.indexOf(0));
      else pax = parsePax(data);
      continue;
    }
    if (type === 'g' || type === 'K') {
      await src.skip(size + padding);
      continue;
    }
    const rawField = (start: number, length: number): Buffer => {
      const raw = header.subarray(start, start + length);
      const nul = raw.indexOf(0);
      return raw.subarray(0, nul === -1 ? raw.length : nul);
    };
    const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? rawField(345, 155) : Buffer.alloc(0);
    const name =
      pax.path !== undefined
        ? Buffer.from(pax.path, 'utf8')
        : (longName ?? (prefix.length ? Buffer.concat([prefix, Buffer.from('/'), rawField(0, 100)]) : rawField(0, 100)));
    const entryPax = pax;
    longName = undefined;
    pax = {};
    const kind = type === '0' || type === '7' ? 'file' : type === '5' ? 'dir' : 'other';
    // Links carry no data whatever their size field says; everything else is followed by `size` bytes.
    const dataSize = type === '1' || type === '2' ? 0 : size;
    let started = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => {
        started = true;
        return src.stream(dataSize)[Symbol.asyncIterator]();
      },
    };
    const before = src.offset;
    yield { name, type: kind, size: dataSize, pax: entryPax, body };
    // Whatever the consumer left unread (all of it, or the tail of an abandoned read) is skipped.
    const consumed = started ? src.offset - before : 0;
    await src.skip(dataSize - consumed + Math.ceil(dataSize / BLOCK) * BLOCK - dataSize);
  }
}
