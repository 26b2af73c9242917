// The literals EXECUTE gets on PGlite: each must reach the statement as exactly the value a bound
// parameter would carry, checked by a round trip through a real PGlite.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Database, openDatabase, statement } from '../../../../services/core/db/database';
import { SqlLiteralError, sqlLiteral } from '../../../../services/core/db/sql-literal';

let db: Database;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sql-literal-'));
  db = await openDatabase({ dataDir: dir });
}, 60_000);
afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const ECHO = statement('test_echo', 'SELECT $1::text AS t, $2::bigint AS n, $3::jsonb AS j, $4::text[] AS a, $5::boolean AS b');
const ARRAYS = statement('test_arrays', 'SELECT $1::bool[] AS b, $2::int[] AS i');

test('tricky text, numbers, JSON, arrays and booleans come back unchanged', async () => {
  const texts = ["it's", "'; DROP TABLE x; --", 'back\\slash \\\' mixed', '$1 $$ dollar', 'ünï\u2603 \u{1F600}', '\u0001bytes:AAE=', '', ' spaced '];
  for (const t of texts) {
    const meta = { [t]: t, n: [1, 'two'] };
    const arr = [t, 'a,b', 'q"uote', 'b\\s', null];
    const [row] = await db.execute<{ t: string; n: number; j: unknown; a: (string | null)[]; b: boolean }>(ECHO, [t, 9007199254740991, JSON.stringify(meta), arr, false]);
    expect(row).toEqual({ t, n: 9007199254740991, j: meta, a: arr, b: false });
  }
});

test('boolean and number arrays, NULL elements included', async () => {
  const [row] = await db.execute<{ b: (boolean | null)[]; i: (number | null)[] }>(ARRAYS, [[true, false, null], [1, -2, null]]);
  expect(row).toEqual({ b: [true, false, null], i: [1, -2, null] });
  expect(() => sqlLiteral([Number.NaN])).toThrow(SqlLiteralError);
});

test('NULL, and the same answers as a plain parameterized query', async () => {
  const params = [null, null, null, null, null];
  const [viaExecute] = await db.execute(ECHO, params);
  const [viaQuery] = await db.query(ECHO.sql, params);
  expect(viaExecute).toEqual(viaQuery);
  expect(viaExecute).toEqual({ t: null, n: null, j: null, a: null, b: null });
});

test('values with no faithful literal are refused, not sent', () => {
  expect(() => sqlLiteral(Number.NaN)).toThrow(SqlLiteralError);
  expect(() => sqlLiteral(Infinity)).toThrow(SqlLiteralError);
  expect(() => sqlLiteral('nul\0byte')).toThrow(SqlLiteralError);
  expect(() => sqlLiteral({ a: 1 })).toThrow(SqlLiteralError);
  expect(() => sqlLiteral([{ a: 1 }])).toThrow(SqlLiteralError);
});

test('a statement is prepared once even when its first calls race', async () => {
  const st = statement('test_race', 'SELECT $1::int + 1 AS v');
  const rows = await Promise.all(Array.from({ length: 5 }, (_, i) => db.execute<{ v: number }>(st, [i])));
  expect(rows.map((r) => r[0].v)).toEqual([1, 2, 3, 4, 5]);
});

test('statement names are identifiers', () => {
  expect(() => statement('bad name; DROP', 'SELECT 1')).toThrow();
});
