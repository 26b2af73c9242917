// MD5 on worker threads: the same digest as the api thread's, for concurrent uploads, with the
// bytes waiting for the worker bounded, and a failure surfacing instead of a wrong ETag.
import { createHash, randomBytes } from 'node:crypto';
import { OffThreadMd5, stopMd5Workers } from '../../../../services/core/objectstore/md5-worker';

afterAll(async () => {
  await stopMd5Workers();
});

const md5 = (chunks: Buffer[]): string => {
  const h = createHash('md5');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

test('digests of several concurrent uploads, batches of odd sizes, equal the plain MD5', async () => {
  const uploads = Array.from({ length: 5 }, (_, u) => Array.from({ length: 20 }, (_, i) => randomBytes(1 + ((u * 7919 + i * 104729) % 300_000))));
  const digests = await Promise.all(
    uploads.map(async (chunks) => {
      const h = new OffThreadMd5();
      for (let i = 0; i < chunks.length; i += 3) await h.update(chunks.slice(i, i + 3));
      return h.digest();
    }),
  );
  expect(digests).toEqual(uploads.map(md5));
});

test('an empty upload and empty batches', async () => {
  const h = new OffThreadMd5();
  await h.update([]);
  await h.update([Buffer.alloc(0)]);
  expect(await h.digest()).toBe(md5([]));
});

test('the caller can reuse its buffers once update returns: the worker hashed a copy', async () => {
  const buf = Buffer.alloc(1024 * 1024, 'a');
  const h = new OffThreadMd5();
  await h.update([buf]);
  buf.fill('b');
  await h.update([buf]);
  expect(await h.digest()).toBe(md5([Buffer.alloc(1024 * 1024, 'a'), Buffer.alloc(1024 * 1024, 'b')]));
});

test('an abandoned upload leaves the worker serving others', async () => {
  const gone = new OffThreadMd5();
  await gone.update([randomBytes(1000)]);
  gone.abandon();
  const h = new OffThreadMd5();
  const data = randomBytes(5000);
  await h.update([data]);
  expect(await h.digest()).toBe(md5([data]));
});

test('a stopped worker fails the upload instead of giving a digest', async () => {
  const h = new OffThreadMd5();
  await h.update([randomBytes(1000)]);
  await stopMd5Workers();
  await expect(h.digest()).rejects.toThrow(/MD5 worker stopped/);
  // A new upload gets a new worker.
  const next = new OffThreadMd5();
  const data = randomBytes(100);
  await next.update([data]);
  expect(await next.digest()).toBe(md5([data]));
});
