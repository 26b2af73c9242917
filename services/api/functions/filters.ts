// List filters as python-qinlingclient sends them: `?key=value` with an optional operator
// prefix (`gt:2020-01-01`, `in:a,b`, `has:sub`). Each collection declares which keys it
// filters on and the SQL column each maps to; anything else is a 400, as in Qinling.
import { CairnError } from '../../core/errors';

const OPERATORS = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

export interface FilterColumn {
  column: string;
  type: 'text' | 'int' | 'bool' | 'time';
}

export interface Filters {
  /** SQL conditions joined with AND, using $n placeholders starting after `offset`. */
  where: string[];
  params: unknown[];
  allProjects: boolean;
  /** An explicit project_id filter (admins only; a member's is replaced by their own). */
  projectId?: string;
}

/**
 * Parses the query into SQL conditions. `all_projects` and `project_id` are returned apart so
 * the caller applies tenancy (a member never sees another project, whatever they ask).
 */
export function parseFilters(query: URLSearchParams, columns: Record<string, FilterColumn>, paramOffset: number): Filters {
  const out: Filters = { where: [], params: [], allProjects: false };
  for (const [key, rawValue] of query) {
    if (key === 'all_projects') {
      out.allProjects = /^(true|1|yes)$/i.test(rawValue);
      continue;
    }
    if (key === 'project_id') {
      out.projectId = rawValue.replace(/^eq:/, '');
      continue;
    }
    const col = columns[key];
    if (!col) throw new CairnError('request.unknown_argument', { name: key });
    const m = /^(eq|neq|gt|gte|lt|lte|in|nin|has):(.*)$/s.exec(rawValue);
    const op = m ? m[1] : 'eq';
    const value = m ? m[2] : rawValue;
    const next = (v: unknown): string => {
      out.params.push(v);
      return `$${paramOffset + out.params.length}`;
    };
    if (op === 'in' || op === 'nin') {
      const items = value.split(',').map((v) => convert(key, v, col));
      out.where.push(`${op === 'nin' ? 'NOT ' : ''}(${col.column} = ANY(${next(items)}))`);
    } else if (op === 'has') {
      out.where.push(`strpos(${col.column}::text, ${next(value)}) > 0`);
    } else {
      out.where.push(`${col.column} ${OPERATORS[op as keyof typeof OPERATORS]} ${next(convert(key, value, col))}`);
    }
  }
  return out;
}

function convert(key: string, value: string, col: FilterColumn): unknown {
  switch (col.type) {
    case 'int': {
      if (!/^-?\d+$/.test(value)) throw new CairnError('execution.bad_filter', { name: key, value, reason: 'an integer is required' });
      return Number(value);
    }
    case 'bool':
      if (!/^(true|false|1|0)$/i.test(value)) throw new CairnError('execution.bad_filter', { name: key, value, reason: 'true or false' });
      return /^(true|1)$/i.test(value);
    case 'time': {
      const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
      if (Number.isNaN(d.getTime())) throw new CairnError('execution.bad_filter', { name: key, value, reason: 'a date such as 2020-01-01T00:00:00' });
      return d.toISOString();
    }
    default:
      return value;
  }
}
