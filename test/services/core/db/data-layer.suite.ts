// The data-layer behaviour both engines must share (PGlite in data-layer.test.ts, PostgreSQL in
// data-layer.pg.test.ts): migrations, transactions, and the execution queue's claim/recovery SQL.
import type { Database } from '../../../../services/core/db/database';
import { migrate } from '../../../../services/core/db/migrate';
import { MIGRATIONS } from '../../../../services/core/db/migrations';
import { ExecutionService } from '../../../../services/executor/service';

export function dataLayerSuite(open: () => Promise<Database>): void {
  let db: Database;

  beforeAll(async () => {
    db = await open();
    await migrate(db);
  });

  afterAll(async () => {
    await db?.close();
  });

  test('migrations are applied once, in order', async () => {
    expect(await migrate(db)).toEqual([]);
    const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  test('a failing transaction leaves nothing behind', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO settings (key, value) VALUES ('tx-test', 'x')");
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await db.query("SELECT * FROM settings WHERE key = 'tx-test'")).toEqual([]);
  });

  test('constraint violations are refused, not half-written', async () => {
    await db.query("INSERT INTO projects (id, name) VALUES ('p-dl-1', 'dl-project')");
    await expect(db.query("INSERT INTO projects (id, name) VALUES ('p-dl-2', 'dl-project')")).rejects.toThrow();
    expect(await db.query("SELECT id FROM projects WHERE name = 'dl-project'")).toEqual([{ id: 'p-dl-1' }]);
  });

  test("recovery settles a stopped executor's executions and keeps unclaimed queued ones", async () => {
    const insert = (id: string, sync: boolean, claimedBy: string | null) =>
      db.query(
        `INSERT INTO executions (id, project_id, function_id, status, sync, claimed_by) VALUES ($1, 'p', 'f', 'running', $2, $3)`,
        [id, sync, claimedBy],
      );
    await insert('e-sync-crashed', true, 'exec-dead');
    await insert('e-async-crashed', false, 'exec-dead');
    await insert('e-async-queued', false, null);
    await db.query("INSERT INTO executors (id, heartbeat_at) VALUES ('exec-dead', now() - interval '1 hour')");
    const service = new ExecutionService({
      db,
      executor: { run: () => Promise.reject(new Error('not used')) },
      blobs: { put: async () => undefined, get: async () => undefined, delete: async () => undefined },
      region: 'RegionOne',
      exclusive: false,
      resolveFunction: () => Promise.reject(new Error('not used')),
      issueToken: async () => 'unused',
    });
    expect(await service.recover()).toBe(2);
    const rows = await db.query<{ id: string; status: string; log: string | null }>(
      "SELECT id, status, log FROM executions WHERE id LIKE 'e-%' ORDER BY id",
    );
    expect(rows).toEqual([
      { id: 'e-async-crashed', status: 'error', log: expect.stringContaining('interrupted') },
      { id: 'e-async-queued', status: 'running', log: null },
      { id: 'e-sync-crashed', status: 'error', log: expect.stringContaining('interrupted') },
    ]);
    expect(await db.query("SELECT id FROM executors WHERE id = 'exec-dead'")).toEqual([]);
  });

  test('two claimers never take the same queued execution (FOR UPDATE SKIP LOCKED)', async () => {
    for (let i = 0; i < 6; i++) {
      await db.query(`INSERT INTO executions (id, project_id, function_id, status, sync) VALUES ($1, 'p', 'f', 'running', false)`, [`q-${i}`]);
    }
    const claim = (who: string) =>
      db.query<{ id: string }>(
        `UPDATE executions SET claimed_by = $1 WHERE id IN (SELECT id FROM executions WHERE status = 'running' AND NOT sync
           AND claimed_by IS NULL AND id LIKE 'q-%' ORDER BY created_at LIMIT 3 FOR UPDATE SKIP LOCKED) RETURNING id`,
        [who],
      );
    const [a, b] = await Promise.all([claim('A'), claim('B')]);
    const ids = [...a, ...b].map((r) => r.id).sort();
    expect(ids).toEqual(['q-0', 'q-1', 'q-2', 'q-3', 'q-4', 'q-5']);
  });

  test('executions are recorded and finished in group commits: counts and rows stay exact', async () => {
    await db.query(`INSERT INTO functions (id, project_id, code, cpu, memory_size, timeout) VALUES ('f-batch', 'p', '{"source": "image", "image": "x"}', 100, 33554432, 5)`);
    const service = new ExecutionService({
      db,
      // The sandbox is not what this suite is about: a run that fails lets the service record an `error`.
      executor: { run: () => Promise.reject(new Error('no sandbox in the data-layer suite')) },
      blobs: { put: async () => undefined, get: async () => undefined, delete: async () => undefined },
      region: 'RegionOne',
      exclusive: false,
      resolveFunction: () => Promise.reject(new Error('not used')),
      issueToken: async () => 'unused',
    });
    const submit = (sync: boolean, i: number) =>
      service.submit({ projectId: 'p', userId: 'u', functionId: 'f-batch', functionVersion: 0, functionAlias: null, description: `d${i}`, inputText: `in${i}`, input: { kind: 'raw', value: `in${i}` }, sync }, {
        functionId: 'f-batch', version: 0, projectId: 'p', kind: 'image', image: 'x', codeKey: 'image:x', timeoutSeconds: 5, cpuMillis: 100, memoryBytes: 33554432,
      });
    const rows = await Promise.all(Array.from({ length: 12 }, (_, i) => submit(i % 2 === 0, i)));
    expect(new Set(rows.map((r) => r.id)).size).toBe(12);
    rows.forEach((r, i) => expect(r).toMatchObject({ description: `d${i}`, input: `in${i}`, sync: i % 2 === 0 }));
    rows.filter((r) => r.sync).forEach((r) => expect(r).toMatchObject({ status: 'error', result: expect.stringContaining('Function execution failed.') }));
    for (let i = 0; i < 100; i++) {
      const left = await db.query("SELECT 1 FROM executions WHERE function_id = 'f-batch' AND status = 'running'");
      if (!left.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await service.stop();
    const states = await db.query<{ status: string }>("SELECT DISTINCT status FROM executions WHERE function_id = 'f-batch'");
    expect(states).toEqual([{ status: 'error' }]);
    const [{ count }] = await db.query<{ count: string | number }>('SELECT count FROM functions WHERE id = $1', ['f-batch']);
    expect(Number(count)).toBe(12);
  });
}
