import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yazl from 'yazl';
import { extractPackage, validatePackage } from '../../../services/core/packages';

const limits = { unpackedMaxBytes: 1024 * 1024, packageMaxEntries: 10 };

type Entry = { name: string; body?: Buffer; dir?: boolean; mode?: number };

function zip(entries: Entry[]): Promise<Buffer> {
  return new Promise((resolve) => {
    const z = new yazl.ZipFile();
    for (const e of entries) {
      if (e.dir) z.addEmptyDirectory(e.name);
      else z.addBuffer(e.body ?? Buffer.from('x'), e.name, e.mode !== undefined ? { mode: e.mode } : {});
    }
    z.end();
    const chunks: Buffer[] = [];
    z.outputStream.on('data', (d: Buffer) => chunks.push(d)).on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** yazl refuses unsafe names, as it should; an attacker's zip has them anyway. */
function renameEntry(buf: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('same length only');
  const out = Buffer.from(buf);
  let at = 0;
  while ((at = out.indexOf(from, at)) >= 0) {
    out.write(to, at);
    at += to.length;
  }
  return out;
}

/** Rewrites every uncompressed-size field so headers claim 1 byte (a lying zip bomb). */
function lieAboutSizes(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < out.length - 4; i++) {
    const sig = out.readUInt32LE(i);
    if (sig === 0x04034b50) out.writeUInt32LE(1, i + 22); // local header
    if (sig === 0x02014b50) out.writeUInt32LE(1, i + 24); // central directory
  }
  return out;
}

describe('function packages', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-pkg-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('accepts and extracts a normal package, keeping executable bits', async () => {
    const z = await zip([{ name: 'main.py', body: Buffer.from('def main(**kw): pass\n') }, { name: 'lib/', dir: true }, { name: 'lib/run.sh', mode: 0o100755 }]);
    expect(await validatePackage(z, limits)).toEqual({ files: 2, unpackedBytes: 22 });
    await extractPackage(z, dir, limits);
    expect(fs.readFileSync(path.join(dir, 'main.py'), 'utf8')).toContain('def main');
    expect(fs.statSync(path.join(dir, 'lib/run.sh')).mode & 0o111).toBeTruthy();
  });

  it('rejects what is not a zip', async () => {
    await expect(validatePackage(Buffer.from('plain text, not a zip'), limits)).rejects.toMatchObject({ code: 'function.package_invalid', status: 400 });
  });

  it('rejects ../ paths without writing outside the directory', async () => {
    const z = renameEntry(await zip([{ name: 'aa/evil.py' }]), 'aa/evil.py', '../evil.py');
    await expect(validatePackage(z, limits)).rejects.toMatchObject({ code: 'function.package_unsafe' });
    await expect(extractPackage(z, dir, limits)).rejects.toMatchObject({ code: 'function.package_unsafe' });
    expect(fs.existsSync(path.join(dir, '..', 'evil.py'))).toBe(false);
  });

  it('rejects absolute paths', async () => {
    const z = renameEntry(await zip([{ name: 'xetc/passwd' }]), 'xetc/passwd', '/etc/passwd');
    await expect(validatePackage(z, limits)).rejects.toMatchObject({ code: 'function.package_unsafe', message: expect.stringContaining('/etc/passwd') });
  });

  it('rejects symbolic links', async () => {
    const z = await zip([{ name: 'link', body: Buffer.from('/etc/shadow'), mode: 0o120777 }]);
    await expect(extractPackage(z, dir, limits)).rejects.toMatchObject({ code: 'function.package_unsafe', message: expect.stringContaining('symbolic') });
  });

  it('stops a zip bomb by the bytes it really inflates to, not its headers', async () => {
    const honest = await zip([{ name: 'zeros', body: Buffer.alloc(3 * 1024 * 1024) }]);
    expect(honest.length).toBeLessThan(20 * 1024);
    await expect(validatePackage(honest, limits)).rejects.toMatchObject({ code: 'function.package_unpacked_too_large', status: 413 });
    const lying = lieAboutSizes(honest);
    await expect(validatePackage(lying, limits)).rejects.toMatchObject({ code: 'function.package_unpacked_too_large' });
    await expect(extractPackage(lying, dir, limits)).rejects.toMatchObject({ code: 'function.package_unpacked_too_large' });
    expect(fs.statSync(path.join(dir, 'zeros')).size).toBeLessThanOrEqual(limits.unpackedMaxBytes);
  });

  it('rejects too many entries', async () => {
    const z = await zip(Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.py` })));
    await expect(validatePackage(z, limits)).rejects.toMatchObject({ code: 'function.package_too_many_entries', status: 413 });
  });
});
