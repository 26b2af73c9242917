// Swift's listing walk (prefix, delimiter, marker, end_marker, limit, reverse) over any index that
// can return names in byte order between two bounds. Backends supply `fetch`; the roll-up of names
// into `subdir` entries lives here once, so every backend lists exactly alike.
import type { ListEntry, ListOptions } from './backend';

/** One end of a name range. */
export interface Bound {
  value: string;
  inclusive: boolean;
}

/** Rows whose names lie between the bounds, in ascending (or, when `reverse`, descending) byte order. */
export type FetchRange<T> = (range: { lower?: Bound; upper?: Bound; reverse: boolean; limit: number }) => Promise<T[]>;

/** Compares names as Swift orders them: by their UTF-8 bytes (JS `<` compares UTF-16 units). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The smallest string greater than every string that starts with `prefix`, or undefined when there
 * is none (empty prefix). Incrementing the last code point keeps the bound exact in byte order, so
 * an index range scan `name >= prefix AND name < upper` touches only the matching names.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop() as string;
    let cp = (last.codePointAt(0) as number) + 1;
    if (cp === 0xd800) cp = 0xe000; // surrogates cannot appear in UTF-8 names
    if (cp <= 0x10ffff) return cps.join('') + String.fromCodePoint(cp);
  }
  return undefined;
}

function tighterLower(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
  if (!a) return b;
  if (!b) return a;
  const c = compareNames(a.value, b.value);
  if (c !== 0) return c > 0 ? a : b;
  return a.inclusive ? b : a;
}

function tighterUpper(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
  if (!a) return b;
  if (!b) return a;
  const c = compareNames(a.value, b.value);
  if (c !== 0) return c < 0 ? a : b;
  return a.inclusive ? b : a;
}

/** First page size of a delimited listing (see walkListing). */
const DELIMITED_FIRST_PAGE = 32;

/** Runs one listing: at most `opts.limit` entries, each row or rolled-up subdir once. */
export async function walkListing<T>(opts: ListOptions, nameOf: (row: T) => string, fetch: FetchRange<T>): Promise<ListEntry<T>[]> {
  const prefix = opts.prefix ?? '';
  const reverse = opts.reverse === true;
  const delimiter = opts.delimiter ? opts.delimiter : undefined;
  const prefixLower: Bound | undefined = prefix ? { value: prefix, inclusive: true } : undefined;
  const prefixUpperValue = prefixUpperBound(prefix);
  const prefixUpper: Bound | undefined = prefixUpperValue === undefined ? undefined : { value: prefixUpperValue, inclusive: false };
  const markerBound = opts.marker ? { value: opts.marker, inclusive: false } : undefined;
  const endBound = opts.endMarker ? { value: opts.endMarker, inclusive: false } : undefined;
  // With reverse, Swift swaps the roles: marker caps from above, end_marker from below.
  let lower = tighterLower(prefixLower, reverse ? endBound : markerBound);
  let upper = tighterUpper(prefixUpper, reverse ? markerBound : endBound);

  const out: ListEntry<T>[] = [];
  // With a delimiter, a page is cut short at the first name that rolls up, so reading `limit` rows
  // each time would read (and throw away) whole subtrees: start small and grow while nothing rolls up.
  let page = delimiter ? DELIMITED_FIRST_PAGE : opts.limit;
  while (out.length < opts.limit) {
    if (lower && upper && (compareNames(lower.value, upper.value) > 0 || (compareNames(lower.value, upper.value) === 0 && !(lower.inclusive && upper.inclusive)))) break;
    const want = Math.min(page, opts.limit - out.length);
    const rows = await fetch({ lower, upper, reverse, limit: want });
    let jumped = false;
    for (const row of rows) {
      const name = nameOf(row);
      if (delimiter) {
        const at = name.indexOf(delimiter, prefix.length);
        if (at >= 0) {
          const subdir = name.slice(0, at + delimiter.length);
          // A client paging with marker=<subdir> has already seen that subdir.
          if (subdir !== opts.marker) out.push({ kind: 'subdir', subdir });
          // Skip every name under the subdir with one new range instead of reading them.
          if (reverse) upper = { value: subdir, inclusive: false };
          else {
            const next = prefixUpperBound(subdir);
            if (next === undefined) return out;
            lower = { value: next, inclusive: true };
          }
          jumped = true;
          break;
        }
      }
      out.push({ kind: 'item', item: row });
      if (reverse) upper = { value: name, inclusive: false };
      else lower = { value: name, inclusive: false };
    }
    if (!jumped && rows.length < want) break;
    page = jumped ? DELIMITED_FIRST_PAGE : Math.min(page * 4, opts.limit);
  }
  return out;
}
