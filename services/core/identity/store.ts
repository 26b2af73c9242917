// Projects, users and role assignments in the database. One domain exists, Keystone's `default`:
// the schema carries domain_id so more can come later without a migration.
import type { Queryable } from '../db/database';
import { CairnError } from '../errors';
import { newHexId } from '../ids';

export const DEFAULT_DOMAIN = { id: 'default', name: 'Default' } as const;

export const ROLES = ['admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

export interface Project {
  id: string;
  name: string;
  domainId: string;
  description: string;
  enabled: boolean;
}

export interface User {
  id: string;
  name: string;
  domainId: string;
  defaultProjectId: string | undefined;
  enabled: boolean;
}

/** A user row with its password hash; never leaves core/identity. */
export interface UserRecord extends User {
  passwordHash: string;
}

interface ProjectRow {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  enabled: boolean;
}

interface UserRow {
  id: string;
  name: string;
  domain_id: string;
  password_hash: string;
  default_project_id: string | null;
  enabled: boolean;
}

const PROJECT_COLUMNS = 'id, name, domain_id, description, enabled';
const USER_COLUMNS = 'id, name, domain_id, password_hash, default_project_id, enabled';

function toProject(r: ProjectRow): Project {
  return { id: r.id, name: r.name, domainId: r.domain_id, description: r.description, enabled: r.enabled };
}

function toUser(r: UserRow): UserRecord {
  return {
    id: r.id,
    name: r.name,
    domainId: r.domain_id,
    defaultProjectId: r.default_project_id ?? undefined,
    enabled: r.enabled,
    passwordHash: r.password_hash,
  };
}

/** One role of one user on one project, with the names a listing shows. */
export interface RoleAssignment {
  userId: string;
  userName: string;
  projectId: string;
  projectName: string;
  role: Role;
}

export interface ListFilter {
  name?: string;
  domainId?: string;
}

/** AND-ed filter clauses; `params` may already hold earlier parameters, numbering continues after them. */
function where(filter: ListFilter, params: string[] = [], clauses: string[] = []): { sql: string; params: string[] } {
  if (filter.name !== undefined) clauses.push(`name = $${params.push(filter.name)}`);
  if (filter.domainId !== undefined) clauses.push(`domain_id = $${params.push(filter.domainId)}`);
  return { sql: clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '', params };
}

export class IdentityStore {
  constructor(private readonly db: Queryable) {}

  async projectById(id: string): Promise<Project | undefined> {
    const rows = await this.db.query<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = $1`, [id]);
    return rows[0] && toProject(rows[0]);
  }

  async projectByName(domainId: string, name: string): Promise<Project | undefined> {
    const rows = await this.db.query<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE domain_id = $1 AND name = $2`, [domainId, name]);
    return rows[0] && toProject(rows[0]);
  }

  async listProjects(filter: ListFilter = {}): Promise<Project[]> {
    const w = where(filter);
    const rows = await this.db.query<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects${w.sql} ORDER BY name, id`, w.params);
    return rows.map(toProject);
  }

  /** Projects on which the user holds any role. */
  async projectsOfUser(userId: string, filter: ListFilter = {}): Promise<Project[]> {
    const w = where(filter, [userId], ['id IN (SELECT project_id FROM role_assignments WHERE user_id = $1)']);
    const rows = await this.db.query<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects${w.sql} ORDER BY name, id`, w.params);
    return rows.map(toProject);
  }

  async userById(id: string): Promise<UserRecord | undefined> {
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] && toUser(rows[0]);
  }

  async userByName(domainId: string, name: string): Promise<UserRecord | undefined> {
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE domain_id = $1 AND name = $2`, [domainId, name]);
    return rows[0] && toUser(rows[0]);
  }

  async listUsers(filter: ListFilter = {}): Promise<UserRecord[]> {
    const w = where(filter);
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users${w.sql} ORDER BY name, id`, w.params);
    return rows.map(toUser);
  }

  async rolesOn(userId: string, projectId: string): Promise<Role[]> {
    const rows = await this.db.query<{ role: Role }>('SELECT role FROM role_assignments WHERE user_id = $1 AND project_id = $2 ORDER BY role', [userId, projectId]);
    return rows.map((r) => r.role);
  }

  async listAssignments(filter: { userId?: string; projectId?: string; role?: Role } = {}): Promise<RoleAssignment[]> {
    const clauses: string[] = [];
    const params: string[] = [];
    if (filter.userId !== undefined) clauses.push(`a.user_id = $${params.push(filter.userId)}`);
    if (filter.projectId !== undefined) clauses.push(`a.project_id = $${params.push(filter.projectId)}`);
    if (filter.role !== undefined) clauses.push(`a.role = $${params.push(filter.role)}`);
    const rows = await this.db.query<{ user_id: string; user_name: string; project_id: string; project_name: string; role: Role }>(
      `SELECT a.user_id, u.name AS user_name, a.project_id, p.name AS project_name, a.role
       FROM role_assignments a JOIN users u ON u.id = a.user_id JOIN projects p ON p.id = a.project_id
       ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY p.name, u.name, a.role`,
      params,
    );
    return rows.map((r) => ({ userId: r.user_id, userName: r.user_name, projectId: r.project_id, projectName: r.project_name, role: r.role }));
  }

  /** Throws identity.conflict when the name is taken in the domain. */
  async insertProject(p: { name: string; domainId?: string; description?: string }): Promise<Project> {
    const rows = await this.db.query<ProjectRow>(
      `INSERT INTO projects (id, name, domain_id, description) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING ${PROJECT_COLUMNS}`,
      [newHexId(), p.name, p.domainId ?? DEFAULT_DOMAIN.id, p.description ?? ''],
    );
    if (!rows[0]) throw new CairnError('identity.conflict', { kind: 'project', name: p.name });
    return toProject(rows[0]);
  }

  /** Throws identity.conflict when the name is taken in the domain. */
  async insertUser(u: { name: string; passwordHash: string; domainId?: string; defaultProjectId?: string }): Promise<UserRecord> {
    const rows = await this.db.query<UserRow>(
      `INSERT INTO users (id, name, domain_id, password_hash, default_project_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING RETURNING ${USER_COLUMNS}`,
      [newHexId(), u.name, u.domainId ?? DEFAULT_DOMAIN.id, u.passwordHash, u.defaultProjectId ?? null],
    );
    if (!rows[0]) throw new CairnError('identity.conflict', { kind: 'user', name: u.name });
    return toUser(rows[0]);
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [userId, passwordHash]);
  }

  /** Idempotent. */
  async addRole(userId: string, projectId: string, role: Role): Promise<void> {
    await this.db.query('INSERT INTO role_assignments (user_id, project_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [userId, projectId, role]);
  }

  /** True when an assignment was removed. */
  async removeRole(userId: string, projectId: string, role: Role): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM role_assignments WHERE user_id = $1 AND project_id = $2 AND role = $3 RETURNING role', [userId, projectId, role]);
    return rows.length > 0;
  }

  async getSetting(key: string): Promise<string | undefined> {
    const rows = await this.db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return rows[0]?.value;
  }

  async putSetting(key: string, value: string): Promise<void> {
    await this.db.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, value]);
  }
}
