// The real `swift` CLI (python-swiftclient 4.1.0) against the features beyond plain objects:
// segmented uploads (DLO with --segment-size, SLO with --use-slo, stdin over 10 MiB), copy, and
// `swift delete` of a container big enough to take the bulk-delete path.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSwift, startStorage, TOKEN_A, type StorageHarness } from './harness';

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

/** Request lines the CLI sent, seen by a logging proxy in front of the server. */
const seenRequests: string[] = [];
let proxy: http.Server;
let proxyUrl: string;

beforeAll(async () => {
  const target = new URL(h.base);
  proxy = http.createServer((req, res) => {
    seenRequests.push(`${req.method} ${req.url}`);
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode as number, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${new URL(h.accountUrl).pathname}`;
});
afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
});

async function swift(args: string[], opts: { stdin?: Buffer; viaProxy?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runSwift(args, { storageUrl: opts.viaProxy ? proxyUrl : h.accountUrl, token: TOKEN_A, cwd: work, home: work, stdin: opts.stdin });
  return { ...r, stdout: r.stdout.toString('latin1') };
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

test('upload --segment-size (DLO) and --use-slo (SLO); download byte-identical; delete removes the segments', async () => {
  const data = randomBytes(350_000);
  fs.writeFileSync(path.join(work, 'big.bin'), data);
  let r = await swift(['upload', 'lo', 'big.bin', '--segment-size', '100000']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect((await h.req('HEAD', 'lo/big.bin')).headers.get('x-object-manifest')).toMatch(/^lo_segments\/big\.bin\//);
  r = await swift(['download', 'lo', 'big.bin', '-o', path.join(work, 'dlo.out')]);
  expect(r.code).toBe(0);
  expect(md5(fs.readFileSync(path.join(work, 'dlo.out')))).toBe(md5(data));

  r = await swift(['upload', 'lo', 'big.bin', '--object-name', 'slo.bin', '--segment-size', '100000', '--use-slo']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect((await h.req('HEAD', 'lo/slo.bin')).headers.get('x-static-large-object')).toBe('True');
  r = await swift(['download', 'lo', 'slo.bin', '-o', path.join(work, 'slo.out')]);
  expect(r.code).toBe(0);
  expect(md5(fs.readFileSync(path.join(work, 'slo.out')))).toBe(md5(data));
  expect((await h.req('HEAD', 'lo/slo.bin')).headers.get('content-length')).toBe('350000');

  // Re-uploading over an SLO: the CLI reads the old manifest (?multipart-manifest=get) and removes
  // the old segments itself.
  const data2 = randomBytes(250_000);
  fs.writeFileSync(path.join(work, 'big.bin'), data2);
  r = await swift(['upload', 'lo', 'big.bin', '--object-name', 'slo.bin', '--segment-size', '100000', '--use-slo']);
  expect(r.code).toBe(0);
  expect((await h.req('GET', 'lo_segments?prefix=slo.bin/')).text.split('\n').filter(Boolean)).toHaveLength(3);
  r = await swift(['download', 'lo', 'slo.bin', '-o', path.join(work, 'slo2.out')]);
  expect(md5(fs.readFileSync(path.join(work, 'slo2.out')))).toBe(md5(data2));

  // Deleting a manifest deletes its segments too (DLO: listed by the CLI; SLO: ?multipart-manifest=delete).
  expect((await swift(['delete', 'lo', 'big.bin'])).code).toBe(0);
  expect((await swift(['delete', 'lo', 'slo.bin'])).code).toBe(0);
  expect((await h.req('GET', 'lo_segments')).status).toBe(204);
});

test('stdin over 10 MiB goes up as SLO segments and comes back byte-identical', async () => {
  const data = randomBytes(10 * 1024 * 1024 + 4321);
  let r = await swift(['upload', 'pipe', '-', '--object-name', 'stream.bin'], { stdin: data });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect((await h.req('HEAD', 'pipe/stream.bin')).headers.get('x-static-large-object')).toBe('True');
  r = await swift(['download', 'pipe', 'stream.bin', '-o', path.join(work, 'stream.out')]);
  expect(r.code).toBe(0);
  expect(md5(fs.readFileSync(path.join(work, 'stream.out')))).toBe(md5(data));
});

test('copy (to another container, with -M fresh metadata) and delete of 25+ objects through bulk delete', async () => {
  fs.mkdirSync(path.join(work, 'many'));
  for (let i = 0; i < 26; i++) fs.writeFileSync(path.join(work, 'many', `f${i}.txt`), `file ${i}\n`);
  let r = await swift(['upload', 'bulk', 'many', '-m', 'Owner:me']);
  expect(r.code).toBe(0);
  r = await swift(['copy', 'bulk', 'many/f1.txt', '-d', '/copies/f1.txt']);
  expect(r.code).toBe(0);
  expect((await h.req('GET', 'copies/f1.txt')).text).toBe('file 1\n');
  r = await swift(['copy', 'bulk', 'many/f2.txt', '-d', '/copies/f2.txt', '-M', '-m', 'Fresh:yes']);
  expect(r.code).toBe(0);
  const fresh = await h.req('HEAD', 'copies/f2.txt');
  expect(fresh.headers.get('x-object-meta-fresh')).toBe('yes');
  expect(fresh.headers.get('x-object-meta-mtime')).toBeNull();

  r = await swift(['delete', 'bulk'], { viaProxy: true });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(27); // 26 objects and the container
  expect((await h.req('HEAD', 'bulk')).status).toBe(404);
  // The CLI read /info, found bulk_delete and used it instead of one DELETE per object.
  expect(seenRequests).toContain('GET /info');
  expect(seenRequests.filter((l) => l.startsWith('POST ') && l.endsWith('?bulk-delete')).length).toBeGreaterThanOrEqual(1);
  expect(seenRequests.filter((l) => l.startsWith('DELETE ') && l.includes('/bulk/'))).toEqual([]);
});

function curl(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/curl', ['-s', ...args], (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }));
  });
}

test('post -r ".r:*,.rlistings" opens a container to anonymous curl; tempurl output works with curl', async () => {
  await h.req('PUT', 'pub');
  await h.req('PUT', 'pub/pub.txt', { body: 'public words\n' });
  const url = `${h.accountUrl}/pub/pub.txt`;
  expect((await curl(['-o', '/dev/null', '-w', '%{http_code}', url])).stdout).toBe('401');
  let r = await swift(['post', 'pub', '-r', '.r:*,.rlistings']);
  expect(r.code).toBe(0);
  expect((await h.req('HEAD', 'pub')).headers.get('x-container-read')).toBe('.r:*,.rlistings');
  expect((await curl([url])).stdout).toBe('public words\n');
  expect((await curl([`${h.accountUrl}/pub`])).stdout).toBe('pub.txt\n');

  // tempurl: key as account metadata, URL signed locally by the CLI (sha256 by default)
  expect((await swift(['post', '-m', 'Temp-URL-Key:clikey'])).code).toBe(0);
  await h.req('PUT', 'priv');
  await h.req('PUT', 'priv/priv.txt', { body: 'private words\n' });
  const objPath = `${new URL(h.accountUrl).pathname}/priv/priv.txt`;
  r = await swift(['tempurl', 'GET', '60', objPath, 'clikey']);
  expect(r.code).toBe(0);
  const signed = r.stdout.trim();
  expect(signed).toMatch(/temp_url_sig=[0-9a-f]{64}&temp_url_expires=\d+$/);
  expect((await curl([`${h.base}${signed}`])).stdout).toBe('private words\n');
  r = await swift(['tempurl', 'GET', '60', objPath, 'wrongkey']);
  expect((await curl(['-o', '/dev/null', '-w', '%{http_code}', `${h.base}${r.stdout.trim()}`])).stdout).toBe('401');
});
