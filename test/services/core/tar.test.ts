// The tar reader behind ZeroCloud images: files and directories come out with safe relative
// paths; members that leave the image, links and devices are refused before anything is written.
import { execFileSync } from 'node:child_process';
import { readTar, TarError } from '../../../services/core/tar';

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
