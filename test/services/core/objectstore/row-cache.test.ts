// The PGlite object-row cache: a hit never outlives a write of its row, and a read that raced a
// write never stores the row it read. Checked on the real ObjectIndex over a real PGlite.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Database, openDatabase } from '../../../../services/core/db/database';
import { migrate } from '../../../../services/core/db/migrate';
import { ObjectIndex, type StoredObject } from '../../../../services/core/objectstore/fs-index';
import { RowCache } from '../../../../services/core/objectstore/row-cache';

let db: Database;
let dir: string;
let index: ObjectIndex;
const none = { set: {}, remove: [] };
const obj = (name: string, bytes: number, fileId: string, meta: Record<string, string> = {}): StoredObject => ({
  name,
  bytes,
  etag: 'e',
  contentType: 'text/plain',
  modifiedAt: Date.now() * 1000,
  meta,
  fileId,
});

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-row-cache-'));
  db = await openDatabase({ dataDir: dir });
  await migrate(db);
  index = new ObjectIndex(db);
  await index.putContainer('AUTH_r', 'c', none);
}, 60_000);
afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('reads after each kind of write see that write, through every ObjectIndex on the database', async () => {
  const other = new ObjectIndex(db);
  await index.commitObject('AUTH_r', 'c', obj('a', 1, 'f1'), {});
  expect(await index.getObject('AUTH_r', 'c', 'a')).toMatchObject({ fileId: 'f1' });
  expect(await index.getObject('AUTH_r', 'c', 'a')).toMatchObject({ fileId: 'f1' }); // a hit
  await other.commitObject('AUTH_r', 'c', obj('a', 2, 'f2'), {});
  expect(await index.getObject('AUTH_r', 'c', 'a')).toMatchObject({ fileId: 'f2', bytes: 2 });
  await other.updateObject('AUTH_r', 'c', 'a', { meta: { color: 'red' } });
  expect((await index.getObject('AUTH_r', 'c', 'a'))?.meta).toEqual({ color: 'red' });
  await other.commitObject('AUTH_r', 'c', obj('a', 3, 'f3'), { ifNoneMatchAny: false, pending: true }).catch(() => undefined);
  await other.deleteObject('AUTH_r', 'c', 'a').catch(() => undefined);
  expect(await index.getObject('AUTH_r', 'c', 'a')).toBeUndefined();
});

test('a caller changing what it got does not change what the next caller gets', async () => {
  await index.commitObject('AUTH_r', 'c', obj('m', 1, 'fm', { k: 'v' }), {});
  const first = (await index.getObject('AUTH_r', 'c', 'm'))!;
  first.meta.k = 'changed';
  first.bytes = 99;
  const second = (await index.getObject('AUTH_r', 'c', 'm'))!;
  expect(second.meta).toEqual({ k: 'v' });
  expect(second.bytes).toBe(1);
});

test('a read keeps its row only if no write of that row was submitted after it', () => {
  const cache = new RowCache();
  const row = obj('x', 1, 'old');
  // Read submitted, then a write of the row submitted: the read's row may be older. Not kept.
  const read = cache.reading();
  cache.touch('k');
  cache.keep('k', row, read, 'read');
  expect(cache.get('k')).toBeUndefined();
  // A write of another row does not matter.
  const read2 = cache.reading();
  cache.touch('other');
  cache.keep('k', row, read2, 'read');
  expect(cache.get('k')).toEqual(row);
  // A write submitted later makes an earlier write's row stale: only the last one is kept.
  const first = cache.touch('k');
  const second = cache.touch('k');
  cache.keep('k', obj('x', 2, 'second'), second, 'write');
  cache.keep('k', obj('x', 1, 'first'), first, 'write');
  expect(cache.get('k')).toMatchObject({ fileId: 'second' });
});

test('keys whose last write was forgotten (too many keys) are never kept from an older read', () => {
  const cache = new RowCache();
  const read = cache.reading();
  for (let i = 0; i < 20_001; i++) cache.touch(`k${i}`);
  // k0's touch was dropped from memory, yet the read before it must still not be kept.
  cache.keep('k0', obj('k0', 1, 'old'), read, 'read');
  expect(cache.get('k0')).toBeUndefined();
  const later = cache.reading();
  cache.keep('k0', obj('k0', 1, 'new'), later, 'read');
  expect(cache.get('k0')).toMatchObject({ fileId: 'new' });
});

test('concurrent overwrites and reads: once the writes settle, reads give the last row', async () => {
  const writes: Promise<unknown>[] = [];
  const reads: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) {
    writes.push(index.commitObject('AUTH_r', 'c', obj('race', i, `r${i}`), {}));
    reads.push(index.getObject('AUTH_r', 'c', 'race'));
  }
  await Promise.all([...writes, ...reads]);
  expect(await index.getObject('AUTH_r', 'c', 'race')).toMatchObject({ fileId: 'r29' });
  expect(await index.getObject('AUTH_r', 'c', 'race')).toMatchObject({ fileId: 'r29' });
});

test('mixed writes, deletes and reads of one row in random order always end with the database row', async () => {
  for (let round = 0; round < 20; round++) {
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      const pick = (round * 7 + i * 5) % 4;
      if (pick === 0) ops.push(index.deleteObject('AUTH_r', 'c', 'mix').catch(() => undefined));
      else if (pick === 1) ops.push(index.updateObject('AUTH_r', 'c', 'mix', { meta: { n: String(i) } }).catch(() => undefined));
      else if (pick === 2) ops.push(index.commitObject('AUTH_r', 'c', obj('mix', i, `m${round}-${i}`), {}));
      else ops.push(index.getObject('AUTH_r', 'c', 'mix'));
    }
    await Promise.all(ops);
    const [truth] = await db.query<{ file_id: string; meta: Record<string, string> }>(
      "SELECT o.file_id, o.meta FROM os_objects o JOIN os_containers c ON c.id = o.container_id WHERE c.account = 'AUTH_r' AND c.name = 'c' AND o.name = 'mix'",
    );
    const cached = await index.getObject('AUTH_r', 'c', 'mix');
    expect(cached ? { file_id: cached.fileId, meta: cached.meta } : undefined).toEqual(truth);
  }
});
