// How storlet and ZeroCloud runs get an object's bytes as a file in their job directory. Where
// the backend keeps the opened version as a local file (fs), that file is hard-linked into the
// job directory, and the sandbox binds the link read-only (or gets it as fd 0): no byte passes
// through this process. Backend file names are unique per version, so the link can only name the
// version that was opened (checked against the open descriptor), and it keeps that version's data
// alive even if a PUT or DELETE replaces it while the run reads. Other backends, and data
// directories split across filesystems, take the streaming path: the bytes are copied once.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { ByteRange, ObjectReader } from '../../core/objectstore/backend';

let handOffFiles = true;

/** Turns the file hand-off off and on; the bench uses it to measure the streaming path on fs. */
export function useFileHandOff(enabled: boolean): void {
  handOffFiles = enabled;
}

/** `linked`: `dest` is the object's own data file; `copied`: its bytes were streamed into `dest`. */
export type StagedHow = 'linked' | 'copied';

/** Hard-links the opened version at `dest` when the backend allows; undefined when it does not. */
async function linkVersion(reader: ObjectReader, dest: string): Promise<'linked' | undefined> {
  const file = handOffFiles ? reader.file?.() : undefined;
  if (!file) return undefined;
  // Synchronous on purpose: three metadata calls of a few microseconds each, where a trip through
  // the thread pool costs far more on a busy host (this is on every warm storlet call's path).
  try {
    fs.linkSync(file.path, dest);
  } catch {
    // ENOENT: replaced since it was opened; EXDEV: runs and objects on different filesystems;
    // EPERM/EMLINK: the filesystem refuses. The open descriptor still reads the right version.
    return undefined;
  }
  const linked = fs.statSync(dest);
  const opened = fs.fstatSync(file.fd);
  if (linked.ino === opened.ino && linked.dev === opened.dev) return 'linked';
  await fsp.rm(dest, { force: true });
  return undefined;
}

/** The whole object at `dest`: linked when possible, else streamed. */
export async function stageObject(reader: ObjectReader, dest: string): Promise<StagedHow> {
  if (await linkVersion(reader, dest)) return 'linked';
  await pipeline(reader.stream(), fs.createWriteStream(dest));
  return 'copied';
}

/**
 * Byte ranges of the object, fed one after the other. Linked: `dest` holds the whole object and
 * the returned ranges are left for the reader in the sandbox to apply; copied: `dest` holds only
 * the ranges' bytes and nothing is left to apply.
 */
export async function stageRanges(reader: ObjectReader, ranges: ByteRange[], dest: string): Promise<{ how: StagedHow; apply?: ByteRange[] }> {
  if (await linkVersion(reader, dest)) return { how: 'linked', apply: ranges };
  const out = fs.createWriteStream(dest);
  for (const r of ranges) await pipeline(reader.stream(r), out, { end: false });
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { how: 'copied' };
}
