// End to end: the whole platform started with CAIRN_OBJECT_STORE=s3 against s3rver (an
// S3-compatible server in-process on loopback), driven through the Swift API over HTTP.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startTestPlatform, type TestPlatform } from '../../../helpers/platform';
import { EMULATOR_BUCKET, startS3Emulator, type S3Emulator } from '../../../helpers/s3-emulator';
import { S3_PART_SIZE } from '../../../../services/core/objectstore/s3';

jest.setTimeout(120_000);

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');
/** A blob a crashed PUT left two hours ago (no row, no pending row). */
const CRASH_LEFTOVER = 'objects/0000000000000000000000000000dead';

describe('Swift API on the s3 backend (S3 emulator)', () => {
  let emulator: S3Emulator | undefined;
  let t: TestPlatform;
  let token: string;
  let account: string;

  beforeAll(async () => {
    emulator = await startS3Emulator();
    await emulator.client.send(new PutObjectCommand({ Bucket: EMULATOR_BUCKET, Key: CRASH_LEFTOVER, Body: 'torn' }));
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(emulator.objectFile(CRASH_LEFTOVER), twoHoursAgo, twoHoursAgo);
    t = await startTestPlatform(emulator.env);
    token = await t.login('demo');
    account = `/v1/AUTH_${t.platform.credentials.demo.projectId}`;
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.stop();
  });

  test('PUT, GET, range GET, listings, DELETE over HTTP; bytes live in the bucket (S3 emulator)', async () => {
    expect(t.platform.backend.kind).toBe('s3');
    // The platform swept crash leftovers when it started (in the background).
    for (let i = 0; i < 100 && (await emulator!.keys()).includes(CRASH_LEFTOVER); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await emulator!.keys()).toEqual([]);
    expect((await t.request('PUT', `${account}/photos`, { token })).status).toBe(201);
    for (const name of ['a/1.txt', 'a/2.txt', 'b.txt']) {
      const res = await t.request('PUT', `${account}/photos/${name}`, { token, body: `content of ${name}`, headers: { 'Content-Type': 'text/plain', 'X-Object-Meta-Color': 'red' } });
      expect(res.status).toBe(201);
      expect(res.headers.get('etag')).toBe(md5(`content of ${name}`));
    }
    // A body over the part size goes up in parts; the client still sees one object and one ETag.
    const big = Buffer.alloc(S3_PART_SIZE + 4096, 'z');
    const bigPut = await t.request('PUT', `${account}/photos/big.bin`, { token, body: big });
    expect(bigPut.status).toBe(201);
    expect(bigPut.headers.get('etag')).toBe(md5(big));
    expect(await emulator!.keys()).toHaveLength(4);

    const get = await t.request('GET', `${account}/photos/a/1.txt`, { token });
    expect(get.status).toBe(200);
    expect(get.text).toBe('content of a/1.txt');
    expect(get.headers.get('x-object-meta-color')).toBe('red');
    const range = await t.request('GET', `${account}/photos/b.txt`, { token, headers: { Range: 'bytes=11-13' } });
    expect(range.status).toBe(206);
    expect(range.text).toBe('b.t');
    const tail = await t.request('GET', `${account}/photos/big.bin`, { token, headers: { Range: `bytes=${S3_PART_SIZE - 2}-${S3_PART_SIZE + 1}` } });
    expect(tail.status).toBe(206);
    expect(tail.text).toBe('zzzz');

    const listing = await t.request('GET', `${account}/photos?format=json&delimiter=/`, { token });
    expect(listing.json().map((e: { name?: string; subdir?: string }) => e.name ?? e.subdir)).toEqual(['a/', 'b.txt', 'big.bin']);
    const reversed = await t.request('GET', `${account}/photos?prefix=a/&reverse=true`, { token });
    expect(reversed.text.trim().split('\n')).toEqual(['a/2.txt', 'a/1.txt']);
    const head = await t.request('HEAD', `${account}/photos`, { token });
    expect(head.headers.get('x-container-object-count')).toBe('4');

    for (const name of ['a/1.txt', 'a/2.txt', 'b.txt', 'big.bin']) expect((await t.request('DELETE', `${account}/photos/${name}`, { token })).status).toBe(204);
    expect((await t.request('GET', `${account}/photos/b.txt`, { token })).status).toBe(404);
    expect(await emulator!.keys()).toEqual([]);
    expect((await t.request('DELETE', `${account}/photos`, { token })).status).toBe(204);
  });

  test('the S3 endpoint going away: object PUT and GET answer 503, listings and HEAD keep working (S3 emulator)', async () => {
    expect((await t.request('PUT', `${account}/later`, { token })).status).toBe(201);
    expect((await t.request('PUT', `${account}/later/x`, { token, body: 'x' })).status).toBe(201);
    await emulator!.stop();
    emulator = undefined;
    const put = await t.request('PUT', `${account}/later/y`, { token, body: 'y' });
    expect(put.status).toBe(503);
    // Listings come from the index and keep working; the bytes do not.
    expect((await t.request('GET', `${account}/later`, { token })).text.trim()).toBe('x');
    // A GET waits for its first bytes before the status line: the upstream's failure is a 503.
    const get = await t.request('GET', `${account}/later/x`, { token });
    expect(get.status).toBe(503);
    expect(get.text).toMatch(/^<html><h1>Service Unavailable<\/h1>/);
    // HEAD is answered from the index.
    expect((await t.request('HEAD', `${account}/later/x`, { token })).status).toBe(200);
  });
});
