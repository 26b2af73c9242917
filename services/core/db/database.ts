// The data layer speaks PostgreSQL SQL only. Two engines implement it: embedded PGlite (local
// mode, tests) and a real PostgreSQL server through `pg` (production, the PostgreSQL suite).
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { seedPGliteDataDir } from './pglite-template';
import { sqlLiteral } from './sql-literal';

export interface Queryable {
  /** Runs one statement with $1… parameters and returns its rows. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * A hot statement that is parsed and planned once per connection and then reused. Only for short
 * statements whose best plan does not depend on their parameters (lookups and writes by key):
 * PostgreSQL may settle on one generic plan for them.
 */
export interface Statement {
  readonly name: string;
  readonly sql: string;
}

export function statement(name: string, sql: string): Statement {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad statement name: ${name}`);
  return { name, sql };
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs a prepared statement (outside any transaction) and returns its rows. */
  execute<R = Record<string, unknown>>(st: Statement, params: unknown[]): Promise<R[]>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Opens PostgreSQL when a `postgres://` URL is given, else PGlite in `dataDir` (created if missing). */
export async function openDatabase(opts: { url?: string; dataDir?: string }): Promise<Database> {
  if (opts.url) return openPostgres(opts.url);
  if (!opts.dataDir) throw new Error('openDatabase needs a postgres:// url or a data directory');
  return openPGlite(opts.dataDir);
}

async function openPGlite(dataDir: string): Promise<Database> {
  await seedPGliteDataDir(dataDir);
  return pgliteDatabase(await PGlite.create(dataDir));
}

/** The Database interface over an open PGlite instance. */
export function pgliteDatabase(db: PGlite): Database {
  // PGlite's query API binds parameters to an unnamed statement, planned again on every call (for
  // the object store's upsert that is most of its cost); a statement kept with PREPARE is planned
  // once and run with EXECUTE and literal arguments (sql-literal.ts). The first call prepares and
  // executes in one round trip, so calls keep their order in PGlite's queue.
  const prepared = new Set<string>();
  return {
    kind: 'pglite',
    async execute<R>(st: Statement, params: unknown[]) {
      // Sent as a simple query (one protocol message): cheaper than the extended protocol's
      // parse, bind and describe of the EXECUTE statement itself.
      const run = `EXECUTE ${st.name}${params.length ? `(${params.map(sqlLiteral).join(', ')})` : ''}`;
      const first = !prepared.has(st.name);
      prepared.add(st.name);
      try {
        const results = await db.exec(first ? `SET standard_conforming_strings = on; PREPARE ${st.name} AS ${st.sql}; ${run}` : run);
        return results[results.length - 1].rows as R[];
      } catch (err) {
        if (first) prepared.delete(st.name);
        throw err;
      }
    },
    async query<R>(sql: string, params?: unknown[]) {
      return (await db.query<R>(sql, params as unknown[])).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      return db.transaction((tx) =>
        fn({
          query: async <R>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params as unknown[])).rows,
          exec: async (sql: string) => void (await tx.exec(sql)),
        }),
      );
    },
    close: () => db.close(),
  };
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new Pool({ connectionString: url, max: 10 });
  // Fail at start-up, with the URL's host in the message, rather than on the first request.
  const client = await pool.connect().catch((err: Error) => {
    throw new Error(`Cannot connect to PostgreSQL at ${new URL(url).host}: ${err.message}`);
  });
  client.release();
  return {
    kind: 'postgres',
    async query<R>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params)).rows as R[];
    },
    async execute<R>(st: Statement, params: unknown[]) {
      // pg prepares a named query once on each pooled connection.
      return (await pool.query({ name: st.name, text: st.sql, values: params })).rows as R[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const result = await fn({
          query: async <R>(sql: string, params?: unknown[]) => (await c.query(sql, params)).rows as R[],
          exec: async (sql: string) => void (await c.query(sql)),
        });
        await c.query('COMMIT');
        return result;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },
    close: () => pool.end(),
  };
}
