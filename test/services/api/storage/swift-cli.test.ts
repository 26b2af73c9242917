// Drives the real `swift` CLI (python-swiftclient 4.1.0, /usr/bin/swift) against the storage
// surface, skipping auth with --os-storage-url/--os-auth-token as the spec describes.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_A, runSwift, startStorage, TOKEN_A, type StorageHarness } from './harness';

let h: StorageHarness;
let work: string;

beforeAll(async () => {
  h = await startStorage();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-swift-cli-'));
});
afterAll(async () => {
  await h.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function swift(args: string[], opts: { stdin?: Buffer; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runSwift(args, { storageUrl: h.accountUrl, token: TOKEN_A, cwd: opts.cwd ?? work, home: work, stdin: opts.stdin });
  return { ...r, stdout: r.stdout.toString('utf8') };
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

test('stat, upload (file, directory, stdin), list (--prefix, -d), download byte-identical, post, delete', async () => {
  // stat on a fresh account
  let r = await swift(['stat']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`Account: AUTH_${PROJECT_A}`);
  expect(r.stdout).toMatch(/Containers: 0/);

  // upload a file (checksum verified by the CLI against our ETag)
  const data = randomBytes(3 * 1024 * 1024 + 17);
  fs.writeFileSync(path.join(work, 'blob.bin'), data);
  r = await swift(['upload', 'photos', 'blob.bin']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe('blob.bin');

  // upload a directory tree, with an empty subdirectory
  fs.mkdirSync(path.join(work, 'tree/a/b'), { recursive: true });
  fs.mkdirSync(path.join(work, 'tree/empty'), { recursive: true });
  fs.writeFileSync(path.join(work, 'tree/a/one.txt'), 'one\n');
  fs.writeFileSync(path.join(work, 'tree/a/b/two.txt'), 'two\n');
  fs.writeFileSync(path.join(work, 'tree/three.html'), '<p>3</p>\n');
  r = await swift(['upload', 'photos', 'tree']);
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['tree/a/b/two.txt', 'tree/a/one.txt', 'tree/empty', 'tree/three.html']);

  // upload from stdin
  const piped = Buffer.from('from stdin\n'.repeat(1000));
  r = await swift(['upload', 'photos', '-', '--object-name', 'piped.txt'], { stdin: piped });
  expect(r.code).toBe(0);

  // list, with --prefix and -d
  // swiftclient creates <container>_segments for a stdin upload even when it fits in one plain PUT
  r = await swift(['list']);
  expect(r.stdout).toBe('photos\nphotos_segments\n');
  expect((await h.req('GET', 'photos_segments')).status).toBe(204);
  r = await swift(['list', 'photos']);
  expect(r.stdout).toBe(['blob.bin', 'piped.txt', 'tree/a/b/two.txt', 'tree/a/one.txt', 'tree/empty', 'tree/three.html'].join('\n') + '\n');
  r = await swift(['list', 'photos', '--prefix', 'tree/']);
  expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(4);
  r = await swift(['list', 'photos', '-d', '/']);
  expect(r.stdout).toBe('blob.bin\npiped.txt\ntree/\n');
  r = await swift(['list', 'photos', '--prefix', 'tree/', '-d', '/']);
  expect(r.stdout).toBe('tree/a/\ntree/empty\ntree/three.html\n');

  // stat a container and an object
  r = await swift(['stat', 'photos']);
  expect(r.stdout).toMatch(/Objects: 6/);
  r = await swift(['stat', 'photos', 'tree/three.html']);
  expect(r.stdout).toMatch(/Content Type: text\/html/);
  expect(r.stdout).toMatch(/ETag: [0-9a-f]{32}/);
  const emptyDir = await h.req('HEAD', 'photos/tree/empty');
  expect(emptyDir.headers.get('content-type')).toBe('application/directory');
  expect(emptyDir.headers.get('x-object-meta-mtime')).toMatch(/^\d+(\.\d+)?$/);

  // download byte-identical (the CLI checks MD5 and length itself too)
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  r = await swift(['download', 'photos', 'blob.bin', '-o', path.join(out, 'blob.bin')]);
  expect(r.code).toBe(0);
  expect(md5(fs.readFileSync(path.join(out, 'blob.bin')))).toBe(md5(data));
  r = await swift(['download', 'photos', 'piped.txt', '-o', '-']);
  expect(Buffer.from(r.stdout).equals(piped)).toBe(true);
  r = await swift(['download', 'photos', '--prefix', 'tree/', '-D', path.join(out, 'all')]);
  expect(r.code).toBe(0);
  expect(fs.readFileSync(path.join(out, 'all/tree/a/b/two.txt'), 'utf8')).toBe('two\n');

  // post metadata on account, container, object
  expect((await swift(['post', '-m', 'Owner:alice'])).code).toBe(0);
  expect((await swift(['post', 'photos', '-m', 'Theme:sea'])).code).toBe(0);
  expect((await swift(['post', 'photos', 'blob.bin', '-m', 'Color:blue'])).code).toBe(0);
  expect((await swift(['stat'])).stdout).toMatch(/Meta Owner: alice/);
  expect((await swift(['stat', 'photos'])).stdout).toMatch(/Meta Theme: sea/);
  expect((await swift(['stat', 'photos', 'blob.bin'])).stdout).toMatch(/Meta Color: blue/);
  // `post` on a missing container falls back to PUT
  expect((await swift(['post', 'created-by-post'])).code).toBe(0);
  expect((await h.req('HEAD', 'created-by-post')).status).toBe(204);

  // delete one object, then a container with everything in it
  r = await swift(['delete', 'photos', 'blob.bin']);
  expect(r.code).toBe(0);
  expect((await h.req('HEAD', 'photos/blob.bin')).status).toBe(404);
  r = await swift(['delete', 'photos']);
  expect(r.code).toBe(0);
  expect((await h.req('HEAD', 'photos')).status).toBe(404);
  r = await swift(['list']);
  expect(r.stdout).toBe('created-by-post\nphotos_segments\n');

  // errors come back as errors
  r = await swift(['stat', 'nope']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/not found/i);
});
