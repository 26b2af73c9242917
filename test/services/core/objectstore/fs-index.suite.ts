// Group commit of the object index (fs-index.ts): writes submitted together share one transaction
// yet end as if they had run one after another. Run on PGlite (fs.test.ts), where only conditional
// and pending commits are batched, and on PostgreSQL (fs.pg.test.ts), where every write is.
import type { Database } from '../../../../services/core/db/database';
import { migrate } from '../../../../services/core/db/migrate';
import { CairnError } from '../../../../services/core/errors';
import { ObjectIndex, type StoredObject } from '../../../../services/core/objectstore/fs-index';

const none = { set: {}, remove: [] };
const obj = (name: string, bytes: number, fileId: string): StoredObject => ({ name, bytes, etag: 'e', contentType: 'x', modifiedAt: 1, meta: {}, fileId });
const outcome = (p: Promise<unknown>): Promise<unknown> => p.then((v) => v, (e) => (e instanceof CairnError ? e.code : String(e)));

export function objectIndexSuite(openDb: () => Promise<Database>): void {
  let db: Database;
  let index: ObjectIndex;

  beforeAll(async () => {
    db = await openDb();
    await migrate(db);
    index = new ObjectIndex(db);
    for (const c of ['a', 'b']) await index.putContainer('AUTH_g', c, none);
  }, 60_000);
  afterAll(async () => db?.close());

  test('commits submitted together: each ends as if alone, in order, and the counts are exact', async () => {
    const results = await Promise.all([
      outcome(index.commitObject('AUTH_g', 'a', obj('x', 10, 'f1'), {})),
      outcome(index.commitObject('AUTH_g', 'a', obj('x', 20, 'f2'), {})), // replaces f1 in the same batch
      outcome(index.commitObject('AUTH_g', 'a', obj('x', 30, 'f3'), { ifNoneMatchAny: true })), // x exists by now
      outcome(index.commitObject('AUTH_g', 'b', obj('y', 5, 'f4'), { ifNoneMatchAny: true })),
      outcome(index.commitObject('AUTH_g', 'missing', obj('z', 1, 'f5'), {})),
      outcome(index.commitObject('AUTH_g', 'b', obj('y2', 7, 'f6'), {})),
    ]);
    expect(results).toEqual([{ replacedFileId: undefined }, { replacedFileId: 'f1' }, 'storage.precondition_failed', { replacedFileId: undefined }, 'storage.container_not_found', { replacedFileId: undefined }]);
    expect(await index.getObject('AUTH_g', 'a', 'x')).toMatchObject({ bytes: 20, fileId: 'f2' });
    expect(await index.headContainer('AUTH_g', 'a')).toMatchObject({ objectCount: 1, bytesUsed: 20 });
    expect(await index.headContainer('AUTH_g', 'b')).toMatchObject({ objectCount: 2, bytesUsed: 12 });
    expect(await index.orphans(['f1', 'f2', 'f3', 'f4', 'f5', 'f6'])).toEqual(['f1', 'f3', 'f5']);
  });

  test('deletes submitted together: a name deleted twice is found once; counts follow', async () => {
    const results = await Promise.all([
      outcome(index.deleteObject('AUTH_g', 'b', 'y')),
      outcome(index.deleteObject('AUTH_g', 'b', 'y')),
      outcome(index.deleteObject('AUTH_g', 'a', 'x')),
      outcome(index.deleteObject('AUTH_g', 'missing', 'x')),
      outcome(index.deleteObject('AUTH_g', 'b', 'nothing')),
    ]);
    expect(results.filter((r) => r === 'f4')).toHaveLength(1);
    expect(results.filter((r) => r === 'storage.object_not_found')).toHaveLength(3);
    expect(results).toContain('f2');
    expect(await index.headContainer('AUTH_g', 'a')).toMatchObject({ objectCount: 0, bytesUsed: 0 });
    expect(await index.headContainer('AUTH_g', 'b')).toMatchObject({ objectCount: 1, bytesUsed: 7 });
  });

  test('a pending commit whose pending row is gone is refused alone; the rest of its batch commits', async () => {
    await index.addPending('p1');
    const results = await Promise.all([
      outcome(index.commitObject('AUTH_g', 'a', obj('p', 3, 'p1'), { pending: true })),
      outcome(index.commitObject('AUTH_g', 'a', obj('q', 4, 'p2'), { pending: true })), // never recorded
      outcome(index.commitObject('AUTH_g', 'a', obj('r', 5, 'p3'), {})),
    ]);
    expect(results).toEqual([{ replacedFileId: undefined }, 'storage.upstream_unavailable', { replacedFileId: undefined }]);
    expect(await index.headContainer('AUTH_g', 'a')).toMatchObject({ objectCount: 2, bytesUsed: 8 });
    expect(await index.claimDeadPending(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });
}
