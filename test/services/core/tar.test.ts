// The tar reader behind ZeroCloud images: files and directories come out with safe relative
// paths; members that leave the image, links and devices are refused before anything is written.
import { execFileSync } from 'node:child_process';
import { readTar, readTarStream, TarError } from '../../../services/core/tar';

/** Builds an archive with Python's tarfile: `members` are [name, type, data-or-link-target]. */
function tar(members: [string, 'file' | 'dir' | 'symlink' | 'hardlink', string][], format = 'GNU'): Buffer {
  const script = `
import io, json, sys, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w', format=getattr(tarfile, sys.argv[2] + '_FORMAT')) as t:
    for name, kind, data in json.loads(sys.argv[1]):
        info = tarfile.TarInfo(name)
        if kind == 'file':
            info.size = len(data.encode()); info.mode = 0o755 if name.endswith('.sh') else 0o644
            t.addfile(info, io.BytesIO(data.encode()))
        else:
            info.type = {'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE}[kind]
            info.linkname = data
            t.addfile(info)
sys.stdout.buffer.write(buf.getvalue())
`;
  return execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify(members), format]);
}

test('files and directories, with long names (GNU and pax) and normalised paths', () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.txt`;
  for (const format of ['GNU', 'PAX', 'USTAR']) {
    const members: [string, 'file' | 'dir', string][] = [['./boot', 'dir', ''], ['./boot/system.map', 'file', '[]'], ['run.sh', 'file', 'echo']];
    if (format !== 'USTAR') members.push([long, 'file', 'x']);
    const entries = readTar(tar(members, format));
    expect(entries.map((e) => [e.path, e.type, e.data.toString()])).toEqual(members.map(([n, t, d]) => [n.replace(/^\.\//, ''), t, t === 'dir' ? '' : d]));
    expect(entries.find((e) => e.path === 'run.sh')!.mode & 0o111).toBeTruthy();
  }
});

test.each([
  ['a parent-directory escape', [['../evil', 'file', 'x']]],
  ['a nested escape', [['a/../../evil', 'file', 'x']]],
  ['a symlink', [['link', 'symlink', '/etc']]],
  ['a hard link', [['link', 'hardlink', 'etc/passwd']]],
] as const)('%s is refused', (_label, members) => {
  expect(() => readTar(tar(members as unknown as [string, 'file' | 'dir' | 'symlink' | 'hardlink', string][]))).toThrow(TarError);
});

test('a truncated or corrupt archive is refused', () => {
  const good = tar([['a.txt', 'file', 'hello world']]);
  expect(() => readTar(good.subarray(0, 520))).toThrow('truncated');
  const bad = Buffer.from(good);
  bad[0] ^= 0xff;
  expect(() => readTar(bad)).toThrow('checksum');
});

describe('readTarStream', () => {
  /** The archive fed in `size`-byte chunks, as a slow upload would arrive. */
  async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
    for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
  }

  async function collect(buf: Buffer, size: number, readBodies = true): Promise<[string, string, string][]> {
    const out: [string, string, string][] = [];
    for await (const e of readTarStream(chunks(buf, size))) {
      let data = '';
      if (readBodies) for await (const c of e.body) data += c.toString('utf8');
      out.push([e.name.toString('utf8'), e.type, data]);
    }
    return out;
  }

  test('members come out in order with raw names, whatever the chunking; unread bodies are skipped', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.txt`;
    for (const format of ['GNU', 'PAX']) {
      const archive = tar([['./dir', 'dir', ''], ['./dir/a', 'file', 'alpha'.repeat(300)], [long, 'file', 'x'], ['ln', 'symlink', 'dir/a'], ['b', 'file', 'beta']], format);
      const expected = [['./dir/', 'dir', ''], ['./dir/a', 'file', 'alpha'.repeat(300)], [long, 'file', 'x'], ['ln', 'other', ''], ['b', 'file', 'beta']];
      for (const size of [1, 7, 512, 100_000]) expect(await collect(archive, size)).toEqual(expected);
      expect((await collect(archive, 13, false)).map(([n]) => n)).toEqual(expected.map(([n]) => n));
    }
  });

  test('empty, garbage and truncated archives are TarErrors', async () => {
    await expect(collect(Buffer.alloc(0), 10)).rejects.toThrow(new TarError('empty file'));
    await expect(collect(Buffer.alloc(1024, 1), 100)).rejects.toThrow(TarError);
    const archive = tar([['a', 'file', 'x'.repeat(3000)]]);
    await expect(collect(archive.subarray(0, 2000), 300)).rejects.toThrow(new TarError('unexpected end of data'));
  });
});
