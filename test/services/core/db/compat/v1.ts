// Schema 1 (initial): identity, runtimes, functions, executors and the execution queue, as the
// identity store, the function API and the executor service of that release issue them.
import type { Queryable } from '../../../../../services/core/db/database';
import { expectSame, type CompatWorkload } from './workload';

export async function identityAndFunctions(db: Queryable, tag: string): Promise<void> {
  const project = `p-${tag}`;
  const user = `u-${tag}`;
  await db.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [`token-key-${tag}`, 'k']);
  await db.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [`token-key-${tag}`, 'k2']);
  expectSame('settings', await db.query('SELECT value FROM settings WHERE key = $1', [`token-key-${tag}`]), [{ value: 'k2' }]);

  await db.query(`INSERT INTO projects (id, name, domain_id, description) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id, name, domain_id, description, enabled`, [project, `proj-${tag}`, 'default', '']);
  await db.query(`INSERT INTO users (id, name, domain_id, password_hash, default_project_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id, name, domain_id, password_hash, default_project_id, enabled`, [user, `user-${tag}`, 'default', 'hash', project]);
  await db.query('INSERT INTO role_assignments (user_id, project_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [user, project, 'member']);
  expectSame(
    'roles',
    await db.query('SELECT r.role FROM role_assignments r JOIN projects p ON p.id = r.project_id WHERE r.user_id = $1 AND p.enabled', [user]),
    [{ role: 'member' }],
  );

  const runtime = `rt-${tag}`;
  await db.query(`INSERT INTO runtimes (id, name, image, description, is_public, trusted, status, project_id) VALUES ($1, $2, $3, $4, $5, $6, 'available', $7) RETURNING *`, [runtime, 'python3', 'python3', null, true, true, project]);
  await db.query('UPDATE runtimes SET description = $2, updated_at = now() WHERE id = $1', [runtime, 'updated']);

  const fn = `fn-${tag}`;
  await db.query(
    `INSERT INTO functions (id, project_id, name, description, runtime_id, code, entry, cpu, memory_size, timeout, package_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [fn, project, 'hello', null, runtime, JSON.stringify({ source: 'package', md5sum: 'x' }), 'main.main', 100, 33554432, 5, `packages/${fn}`],
  );
  expectSame(
    'function',
    await db.query('SELECT name, entry, cpu, count, latest_version, code FROM functions WHERE id = $1 AND project_id = $2', [fn, project]),
    [{ name: 'hello', entry: 'main.main', cpu: 100, count: '0', latest_version: 0, code: { source: 'package', md5sum: 'x' } }],
  );

  // The executor: registers, enqueues an execution, claims it, finishes it, heartbeats.
  const executor = `ex-${tag}`;
  await db.query('INSERT INTO executors (id) VALUES ($1)', [executor]);
  await db.query('UPDATE executors SET heartbeat_at = now() WHERE id = $1', [executor]);
  const execution = `exe-${tag}`;
  await db.query(
    `INSERT INTO executions (id, project_id, user_id, function_id, function_version, function_alias, description, input, status, sync, claimed_by, claimed_at)
     VALUES ($1, $2, $3, $4, 0, NULL, NULL, $5, 'running', true, $6, now())`,
    [execution, project, user, fn, '{"a":1}', executor],
  );
  await db.query('UPDATE functions SET count = count + 1 WHERE id = $1', [fn]);
  await db.query(`UPDATE executions SET status = $2, result = $3, log = $4, claimed_by = NULL, updated_at = now() WHERE id = $1`, [execution, 'success', '{"output":1}', 'log']);
  expectSame(
    'execution',
    await db.query(`SELECT id, status, result, log, log_key, sync FROM executions WHERE project_id = $1 AND function_id = $2 ORDER BY created_at`, [project, fn]),
    [{ id: execution, status: 'success', result: '{"output":1}', log: 'log', log_key: null, sync: true }],
  );
  expectSame('running', await db.query(`SELECT id FROM executions WHERE status = 'running' AND claimed_by = $1`, [executor]), []);
}

export const v1: CompatWorkload = { schemaVersion: 1, run: identityAndFunctions };
