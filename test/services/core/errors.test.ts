// The error catalog is the contract clients code against: every code is unique, has a sane
// status and a message, and is documented in docs/errors.md with the same status.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CairnError, ERROR_CATALOG } from '../../../services/core/errors';

const doc = fs.readFileSync(path.join(__dirname, '../../../docs/errors.md'), 'utf8');
const rows = new Map<string, number>();
for (const m of doc.matchAll(/^\| `?([a-z0-9_.]+)`? \| (\d{3}) \|/gm)) rows.set(m[1], Number(m[2]));

test.each(Object.entries(ERROR_CATALOG))('%s is documented with its status', (code, spec) => {
  expect(spec.status).toBeGreaterThanOrEqual(400);
  expect(spec.status).toBeLessThan(600);
  expect(spec.message.length).toBeGreaterThan(0);
  expect(rows.get(code)).toBe(spec.status);
});

test('docs/errors.md lists no code the catalog lacks', () => {
  expect([...rows.keys()].filter((c) => !(c in ERROR_CATALOG))).toEqual([]);
});

test('messages fill their parameters', () => {
  expect(new CairnError('function.not_found', { id: 'abc' }).message).toBe('Function not found [id=abc]');
  expect(new CairnError('function.limit_out_of_range', { name: 'timeout', min: 1, max: 300, unit: 'seconds' }).message).toBe(
    'timeout resource limitation not within the allowable range: 1 ~ 300(seconds).',
  );
});
