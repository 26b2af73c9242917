import type { ListEntry } from '../../../../services/core/objectstore/backend';
import { compareNames, prefixUpperBound, walkListing, type FetchRange } from '../../../../services/core/objectstore/listing';

/** An in-memory index: the walk's contract with a backend, checked without a database. */
function memory(names: string[]): { fetch: FetchRange<string>; calls: number } {
  const sorted = [...names].sort(compareNames);
  const state = {
    calls: 0,
    fetch: (async ({ lower, upper, reverse, limit }) => {
      state.calls += 1;
      const inRange = sorted.filter(
        (n) =>
          (!lower || (lower.inclusive ? compareNames(n, lower.value) >= 0 : compareNames(n, lower.value) > 0)) &&
          (!upper || (upper.inclusive ? compareNames(n, upper.value) <= 0 : compareNames(n, upper.value) < 0)),
      );
      return (reverse ? inRange.reverse() : inRange).slice(0, limit);
    }) as FetchRange<string>,
  };
  return state;
}

const show = (entries: ListEntry<string>[]): string[] => entries.map((e) => (e.kind === 'subdir' ? `sub:${e.subdir}` : e.item));

describe('prefixUpperBound', () => {
  test('is the next string after every name with the prefix', () => {
    expect(prefixUpperBound('')).toBeUndefined();
    expect(prefixUpperBound('abc')).toBe('abd');
    expect(prefixUpperBound('a/')).toBe('a0');
    expect(prefixUpperBound('\u{10FFFF}')).toBeUndefined();
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b');
    expect(prefixUpperBound('\uD7FF')).toBe('\uE000');
  });

  test('byte order puts astral characters after U+FFFF (JS < would not)', () => {
    expect(compareNames('\u{1F600}', '\uFFFF')).toBeGreaterThan(0);
    expect('\u{1F600}' < '\uFFFF').toBe(true);
  });
});

describe('walkListing', () => {
  const names = ['a', 'a/1', 'a/2', 'a/b/c', 'b', 'b/x', 'c'];
  const run = (opts: Parameters<typeof walkListing<string>>[0], ns = names) => {
    const m = memory(ns);
    return walkListing(opts, (n) => n, m.fetch).then((r) => ({ names: show(r), calls: m.calls }));
  };

  test('prefix, marker, end_marker, limit', async () => {
    expect((await run({ limit: 100, prefix: 'a/' })).names).toEqual(['a/1', 'a/2', 'a/b/c']);
    expect((await run({ limit: 100, marker: 'a/2', endMarker: 'b/x' })).names).toEqual(['a/b/c', 'b']);
    expect((await run({ limit: 2, marker: 'a' })).names).toEqual(['a/1', 'a/2']);
  });

  test('delimiter rolls up and skips the rolled-up names with one query per subdir', async () => {
    const many = ['a', ...Array.from({ length: 500 }, (_, i) => `d/${String(i).padStart(4, '0')}`), 'z'];
    const r = await run({ limit: 100, delimiter: '/' }, many);
    expect(r.names).toEqual(['a', 'sub:d/', 'z']);
    expect(r.calls).toBeLessThanOrEqual(3);
  });

  test('reverse with delimiter and markers', async () => {
    expect((await run({ limit: 100, reverse: true, delimiter: '/' })).names).toEqual(['c', 'sub:b/', 'b', 'sub:a/', 'a']);
    expect((await run({ limit: 100, reverse: true, marker: 'b', endMarker: 'a/1' })).names).toEqual(['a/b/c', 'a/2']);
  });

  test('multi-character delimiters and a marker that is a subdir', async () => {
    const ns = ['x--1', 'x--2', 'x-y', 'y'];
    expect((await run({ limit: 100, delimiter: '--' }, ns)).names).toEqual(['sub:x--', 'x-y', 'y']);
    expect((await run({ limit: 100, delimiter: '--', marker: 'x--' }, ns)).names).toEqual(['x-y', 'y']);
  });
});
