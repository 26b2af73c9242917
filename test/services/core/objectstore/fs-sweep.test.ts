// The fs backend's crash-leftover sweep, on PGlite: leftovers are created directly in the data
// directory as a crash would leave them, then one sweep must remove exactly those older than the
// grace period and leave live objects, a live PUT and foreign files alone. Also the sweeper that
// the platform runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { loadConfig } from '../../../../services/core/config';
import { openDatabase, type Database } from '../../../../services/core/db/database';
import type { CairnError } from '../../../../services/core/errors';
import { migrate } from '../../../../services/core/db/migrate';
import { createObjectBackend, type ObjectBackend } from '../../../../services/core/objectstore';
import { startSweeper } from '../../../../services/core/objectstore/sweeper';

jest.setTimeout(60_000);

const HOUR = 60 * 60 * 1000;

function backdate(file: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(file, t, t);
}

describe('fs backend sweep', () => {
  let dataDir: string;
  let db: Database;
  let backend: ObjectBackend;
  const fileOf = (id: string): string => path.join(dataDir, 'objects', id.slice(0, 2), id.slice(2, 4), id);
  const leave = (id: string, name = id, ageMs = 2 * HOUR): string => {
    const file = path.join(path.dirname(fileOf(id)), name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'leftover');
    if (ageMs) backdate(file, ageMs);
    return file;
  };
  const fileIdOf = async (name: string): Promise<string> => (await db.query<{ file_id: string }>('SELECT file_id FROM os_objects WHERE name = $1', [name]))[0].file_id;
  const read = async (name: string): Promise<string> => {
    const reader = await backend.openObject('AUTH_t', 'c', name);
    const chunks: Buffer[] = [];
    for await (const c of reader!.stream()) chunks.push(c as Buffer);
    await reader!.close();
    return Buffer.concat(chunks).toString();
  };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sweep-'));
    db = await openDatabase({ dataDir: path.join(dataDir, 'db') });
    await migrate(db);
    backend = createObjectBackend(loadConfig({}, { CAIRN_DATA_DIR: dataDir }), db);
    await backend.putContainer('AUTH_t', 'c', { set: {}, remove: [] });
  });
  afterAll(async () => {
    await backend?.close();
    await db?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('removes old temp files and unindexed data files only; live objects and a live PUT survive', async () => {
    await backend.putObject('AUTH_t', 'c', 'old', Readable.from([Buffer.from('old but live')]), { contentType: 'x', meta: {}, maxBytes: 100 });
    await backend.putObject('AUTH_t', 'c', 'new', Readable.from([Buffer.from('new')]), { contentType: 'x', meta: {}, maxBytes: 100 });
    const liveOld = fileOf(await fileIdOf('old'));
    backdate(liveOld, 3 * HOUR);

    const orphanOld = leave('aa000000000000000000000000000001');
    const orphanNew = leave('aa000000000000000000000000000002', undefined, 0);
    const tempOld = leave('bb000000000000000000000000000003', '.bb000000000000000000000000000003.tmp');
    const tempNew = leave('bb000000000000000000000000000004', '.bb000000000000000000000000000004.tmp', 0);
    const foreign = leave('cc000000000000000000000000000005', 'notes.txt');
    // A data-file name in the wrong fan-out directory is not a file the backend wrote.
    const misplaced = path.join(dataDir, 'objects', 'aa', '00', 'cc000000000000000000000000000006');
    fs.writeFileSync(misplaced, 'x');
    backdate(misplaced, 2 * HOUR);

    // A live PUT mid-body: its temp file is being written.
    const body = new Readable({ read() {} });
    const live = backend.putObject('AUTH_t', 'c', 'live', body, { contentType: 'x', meta: {}, maxBytes: 1 << 30 });
    body.push(Buffer.alloc(1024 * 1024 + 1, 1));
    await new Promise((r) => setTimeout(r, 100));

    const report = await backend.sweep!({ graceMs: HOUR });
    expect(report.removed.sort()).toEqual(['.bb000000000000000000000000000003.tmp', 'aa000000000000000000000000000001']);
    expect(fs.existsSync(orphanOld)).toBe(false);
    expect(fs.existsSync(tempOld)).toBe(false);
    for (const kept of [orphanNew, tempNew, foreign, misplaced, liveOld]) expect(fs.existsSync(kept)).toBe(true);

    body.push(Buffer.from('end'));
    body.push(null);
    expect((await live).bytes).toBe(1024 * 1024 + 4);
    expect(await read('old')).toBe('old but live');
    expect(await read('new')).toBe('new');
    // A second sweep finds nothing more.
    expect((await backend.sweep!({ graceMs: HOUR })).removed).toEqual([]);
  });

  test('an upload stalled past the grace period loses its temp file and is refused with 503, leaving nothing', async () => {
    const temps = (): string[] => {
      const out: string[] = [];
      const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.tmp') && out.push(path.join(d, e.name));
      };
      walk(path.join(dataDir, 'objects'));
      return out;
    };
    for (const t of temps()) fs.rmSync(t); // earlier tests' leftovers
    const body = new Readable({ read() {} });
    const stalled = backend
      .putObject('AUTH_t', 'c', 'stalled', body, { contentType: 'x', meta: {}, maxBytes: 100 })
      .then(() => 'stored', (e: CairnError) => `${e.code} ${e.status}`);
    body.push(Buffer.from('ab'));
    for (let i = 0; i < 200 && temps().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const [temp] = temps();
    backdate(temp, 2 * HOUR);
    expect((await backend.sweep!({ graceMs: HOUR })).removed).toEqual([path.basename(temp)]);
    body.push(Buffer.from('cd'));
    body.push(null);
    expect(await stalled).toBe('unavailable 503');
    expect(await backend.headObject('AUTH_t', 'c', 'stalled')).toBeUndefined();
    expect(temps()).toEqual([]);
  });

  test('the platform sweeper runs a sweep at start, logs what it reclaimed, and stop() waits for it', async () => {
    const orphan = leave('dd000000000000000000000000000007');
    const lines: string[] = [];
    const sweeper = startSweeper(backend, { graceMs: HOUR, log: (l) => lines.push(l) });
    await sweeper.stop();
    expect(fs.existsSync(orphan)).toBe(false);
    expect(lines).toEqual([expect.stringMatching(/sweep \(fs\): removed 1 leftover/)]);
  });
});
