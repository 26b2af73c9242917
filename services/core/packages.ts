// Function packages are zips uploaded by tenants: the api validates them on upload and the
// executor extracts them into its code cache. Both walk the archive through the same guards so a
// package the api accepted is one the executor can unpack, and neither trusts the zip's headers
// for sizes (a zip bomb lies in them) or names (`..`, absolute paths and symlinks would escape
// the package directory).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as yauzl from 'yauzl';
import { CairnError } from './errors';

/** The part of Config['limits'] that bounds a package. */
export interface PackageLimits {
  unpackedMaxBytes: number;
  packageMaxEntries: number;
}

/** What a valid package holds. */
export interface PackageSummary {
  files: number;
  /** Actual inflated bytes of all files. */
  unpackedBytes: number;
}

/** Checks a zip without writing anything; throws CairnError with a `function.package_*` code. */
export async function validatePackage(zip: Buffer, limits: PackageLimits): Promise<PackageSummary> {
  return walkPackage(zip, limits, async (_name, _isDir, _mode, stream) => {
    if (stream) await drain(stream);
  });
}

/**
 * Unpacks a zip into `dir` (created if missing) under the same guards as validatePackage. On a
 * failure the directory may hold part of the package: callers extract into a scratch directory.
 */
export async function extractPackage(zip: Buffer, dir: string, limits: PackageLimits): Promise<PackageSummary> {
  await fs.promises.mkdir(dir, { recursive: true });
  const root = path.resolve(dir);
  return walkPackage(zip, limits, async (name, isDir, mode, stream) => {
    const target = path.join(root, name);
    // Names are already checked; this is the belt to those braces.
    if (target !== root && !target.startsWith(root + path.sep)) throw new CairnError('function.package_unsafe', { entry: name, reason: 'path escapes the package' });
    if (isDir) {
      await fs.promises.mkdir(target, { recursive: true, mode: 0o755 });
      return;
    }
    await fs.promises.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    // `wx`: a package naming the same file twice must not let the second entry follow anything.
    await pipeline(stream as Readable, fs.createWriteStream(target, { flags: 'wx', mode }));
  });
}

type EntryHandler = (name: string, isDir: boolean, mode: number, stream: Readable | undefined) => Promise<void>;

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

async function walkPackage(zip: Buffer, limits: PackageLimits, onEntry: EntryHandler): Promise<PackageSummary> {
  let zipfile: yauzl.ZipFile;
  try {
    // decodeStrings off: yauzl would reject unsafe names with a generic error; we name the
    // entry and the reason. validateEntrySizes off: we count inflated bytes ourselves and stop
    // at the limit instead of trusting the header.
    zipfile = await yauzl.fromBufferPromise(zip, { lazyEntries: true, decodeStrings: false, validateEntrySizes: false });
  } catch (err) {
    throw new CairnError('function.package_invalid', {}, { cause: err });
  }
  if (zipfile.entryCount > limits.packageMaxEntries) {
    zipfile.close();
    throw new CairnError('function.package_too_many_entries', { limit: limits.packageMaxEntries });
  }
  const summary: PackageSummary = { files: 0, unpackedBytes: 0 };
  try {
    for (;;) {
      const entry = await nextEntry(zipfile);
      if (!entry) break;
      const name = entryName(entry);
      const isDir = name.endsWith('/');
      const mode = (entry.externalFileAttributes >>> 16) & 0o777;
      if ((((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK)) {
        throw new CairnError('function.package_unsafe', { entry: name, reason: 'symbolic links are not allowed' });
      }
      if (isDir) {
        await onEntry(name, true, 0o755, undefined);
        continue;
      }
      summary.files += 1;
      const stream = await openEntry(zipfile, entry);
      const counted = stream.pipe(byteCounter(summary, limits.unpackedMaxBytes));
      stream.on('error', (err) => counted.destroy(err));
      // Executable bits survive (a package may ship a helper binary); nothing else does.
      await onEntry(name, false, mode & 0o111 ? 0o755 : 0o644, counted);
    }
  } catch (err) {
    zipfile.close();
    if (err instanceof CairnError) throw err;
    throw new CairnError('function.package_invalid', {}, { cause: err });
  }
  return summary;
}

/** The entry's path, rejected when it could land outside the package directory. */
function entryName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  // Bit 11: UTF-8 names; otherwise CP437, whose ASCII range (all that the checks look at) agrees.
  const name = (entry.generalPurposeBitFlag & 0x800 ? raw.toString('utf8') : raw.toString('latin1')).replace(/\\/g, '/');
  if (name === '' || name.includes('\0')) throw new CairnError('function.package_unsafe', { entry: JSON.stringify(name), reason: 'empty or NUL in name' });
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new CairnError('function.package_unsafe', { entry: name, reason: 'absolute paths are not allowed' });
  if (name.split('/').some((part) => part === '..')) throw new CairnError('function.package_unsafe', { entry: name, reason: '".." is not allowed in paths' });
  return name;
}

function byteCounter(summary: PackageSummary, limit: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      summary.unpackedBytes += chunk.length;
      if (summary.unpackedBytes > limit) done(new CairnError('function.package_unpacked_too_large', { limit }));
      else done(null, chunk);
    },
  });
}

function nextEntry(zipfile: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      zipfile.removeListener('entry', onEntry);
      zipfile.removeListener('end', onEnd);
      zipfile.removeListener('error', onError);
    };
    const onEntry = (e: yauzl.Entry): void => { cleanup(); resolve(e); };
    const onEnd = (): void => { cleanup(); resolve(undefined); };
    const onError = (err: Error): void => { cleanup(); reject(err); };
    zipfile.on('entry', onEntry);
    zipfile.on('end', onEnd);
    zipfile.on('error', onError);
    zipfile.readEntry();
  });
}

function openEntry(zipfile: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zipfile.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

function drain(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('data', () => undefined);
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}
