// The data layer speaks PostgreSQL SQL only. Two engines implement it: embedded PGlite (local
// mode, tests) and a real PostgreSQL server through `pg` (production, the PostgreSQL suite).
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { seedPGliteDataDir } from './pglite-template';

export interface Queryable {
  /** Runs one statement with $1… parameters and returns its rows. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
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
  return {
    kind: 'pglite',
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
