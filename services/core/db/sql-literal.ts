// SQL literals for the arguments of `EXECUTE <statement>(…)` on PGlite, whose query API has no
// named prepared statements. Each value becomes the literal PostgreSQL would have received as a
// text-format parameter: an untyped string constant, which the prepared statement's parameter type
// then parses, exactly as a bound parameter is parsed. Correct only with
// standard_conforming_strings on (backslashes are then ordinary characters), which the caller checks.

export class SqlLiteralError extends TypeError {}

export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new SqlLiteralError(`not a finite number: ${value}`);
    return quote(String(value));
  }
  if (typeof value === 'bigint') return quote(value.toString());
  if (typeof value === 'boolean') return value ? "'t'" : "'f'";
  if (Array.isArray(value)) return quote(arrayText(value));
  throw new SqlLiteralError(`no SQL literal for a ${typeof value} parameter`);
}

function quote(text: string): string {
  // NUL cannot be part of a PostgreSQL text value; refuse it rather than let the server cut the text.
  if (text.includes('\0')) throw new SqlLiteralError('a text parameter contains NUL');
  return `'${text.replace(/'/g, "''")}'`;
}

/** A one-dimensional array in PostgreSQL's array input syntax (every element quoted). */
function arrayText(items: unknown[]): string {
  const parts = items.map((item) => {
    if (item === null || item === undefined) return 'NULL';
    if (typeof item === 'boolean') return item ? 't' : 'f';
    if (typeof item === 'number' && !Number.isFinite(item)) throw new SqlLiteralError(`not a finite number: ${item}`);
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'bigint') throw new SqlLiteralError(`no array element literal for a ${typeof item}`);
    return `"${String(item).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  });
  return `{${parts.join(',')}}`;
}
