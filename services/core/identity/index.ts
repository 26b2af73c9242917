// Built-in identity: projects, users, roles, tokens and the service catalog. The api's Keystone and
// tempauth surfaces and the `cairn` command drive it; the auth middleware uses it as TokenValidator.
import { createHmac, randomBytes } from 'node:crypto';
import type { Config } from '../config';
import type { Database } from '../db/database';
import { CairnError } from '../errors';
import { bootstrap, type BootstrapResult } from './bootstrap';
import { buildCatalog, type CatalogService } from './catalog';
import { decoyHash, hashPassword, verifyPassword } from './passwords';
import { RevocationList } from './revocations';
import { DEFAULT_DOMAIN, IdentityStore, ROLES, type ListFilter, type Project, type Role, type RoleAssignment, type User, type UserRecord } from './store';
import { loadTokenKey, newAuditId, TokenCodec, type TokenInfo } from './tokens';
import type { AuthContext, TokenValidator } from './types';

export type { BootstrapResult, Credentials } from './bootstrap';
export type { CatalogEndpoint, CatalogService } from './catalog';
export { DEFAULT_DOMAIN, ROLES } from './store';
export type { ListFilter, Project, Role, RoleAssignment, User } from './store';
export type { TokenInfo } from './tokens';

/** A domain named by id or by name (only Keystone's `default` / `Default` exists). */
export interface DomainRef {
  id?: string;
  name?: string;
}

/** A user by id, or by name within a domain (the default domain when none is given). */
export interface UserRef {
  id?: string;
  name?: string;
  domain?: DomainRef;
}

/** A project by id, or by name within a domain (the default domain when none is given). */
export interface ProjectRef {
  id?: string;
  name?: string;
  domain?: DomainRef;
}

export interface IssueTokenRequest {
  userId: string;
  /** Omitted: an unscoped token (Keystone's, good for listing one's projects and rescoping). */
  projectId?: string;
  /** How the caller authenticated. @default ['password'] */
  methods?: string[];
  /** @default now */
  issuedAt?: Date;
  /** At most the configured token lifetime after issuedAt. @default issuedAt + identity.tokenTtlSeconds */
  expiresAt?: Date;
  /** Audit chain of the token this one was obtained from (token-method rescoping). */
  auditChainId?: string;
}

export interface IssuedToken {
  token: string;
  info: TokenInfo;
}

export interface Identity extends TokenValidator {
  /** Keystone region of this deployment's catalog (config.region). */
  readonly region: string;
  /** Token lifetime in seconds (config.identity.tokenTtlSeconds). */
  readonly tokenTtlSeconds: number;
  /** Idempotent first-start set-up; returns the admin and demo credentials. */
  bootstrap(): Promise<BootstrapResult>;
  /** The enabled user the password belongs to; throws auth.bad_credentials otherwise. */
  authenticatePassword(user: UserRef, password: string): Promise<User>;
  /** Mints a token; throws identity.no_project_access when the user holds no role on the project. */
  issueToken(req: IssueTokenRequest): Promise<IssuedToken>;
  /** Any valid token, scoped or not; throws auth.invalid_token when forged, expired or revoked. */
  validateToken(token: string): Promise<TokenInfo>;
  /** A valid project-scoped token as the services see it; unscoped tokens are refused. */
  validate(token: string): Promise<AuthContext>;
  /** Revokes one token (Keystone's DELETE /v3/auth/tokens); throws auth.invalid_token when it is not valid. */
  revokeToken(token: string): Promise<void>;
  /** The service catalog for a token scoped to projectId, with URLs under baseUrl. */
  catalog(baseUrl: string, projectId: string): CatalogService[];
  /** Endpoint templates (object store URL with `$(project_id)s`), for Keystone's endpoint listing. */
  endpointTemplates(baseUrl: string): CatalogService[];

  findProject(ref: ProjectRef): Promise<Project | undefined>;
  findUser(ref: UserRef): Promise<User | undefined>;
  listProjects(filter?: ListFilter): Promise<Project[]>;
  /** Projects on which the user holds any role. */
  projectsOfUser(userId: string, filter?: ListFilter): Promise<Project[]>;
  listUsers(filter?: ListFilter): Promise<User[]>;
  rolesOn(userId: string, projectId: string): Promise<Role[]>;
  listRoleAssignments(filter?: { userId?: string; projectId?: string; role?: Role }): Promise<RoleAssignment[]>;

  /** Throws identity.conflict when the name is taken. */
  createProject(opts: { name: string; description?: string }): Promise<Project>;
  /** Throws identity.conflict when the name is taken, identity.project_not_found for a bad default project. */
  createUser(opts: { name: string; password: string; defaultProjectId?: string }): Promise<User>;
  /** Idempotent. */
  assignRole(userId: string, projectId: string, role: Role): Promise<void>;
  /** Removes the assignment and revokes the user's tokens on that project. */
  unassignRole(userId: string, projectId: string, role: Role): Promise<void>;
  /** Sets a new password and revokes every token of the user. */
  setPassword(userId: string, password: string): Promise<void>;
}

/** How long a verified password stays verified in memory (scrypt is deliberately slow). @default 300 s */
const VERIFIED_TTL_MS = 300_000;
/** Most remembered verifications; the oldest go first. @default 10000 */
const VERIFIED_MAX = 10_000;

/** Most remembered decoded tokens; the oldest go first. @default 10000 */
const DECODED_MAX = 10_000;

/** Opens identity on a migrated database: loads (or creates) the token key. */
export async function createIdentity(deps: { config: Config; db: Database }): Promise<Identity> {
  const { config, db } = deps;
  const store = new IdentityStore(db);
  const codec = new TokenCodec(await loadTokenKey(db));
  const revocations = new RevocationList(db);
  const ttlMs = config.identity.tokenTtlSeconds * 1000;

  // Verified logins, keyed by an HMAC of user id and password under a per-process key (the cache
  // holds no password), and valid only while the stored hash is the one that was verified.
  const verified = new Map<string, { hash: string; until: number }>();
  const cacheKey = randomBytes(32);

  async function checkPassword(user: UserRecord, password: string): Promise<boolean> {
    const digest = createHmac('sha256', cacheKey).update(user.id).update('\0').update(password).digest('base64');
    const hit = verified.get(digest);
    if (hit && hit.hash === user.passwordHash && hit.until > Date.now()) return true;
    if (!(await verifyPassword(password, user.passwordHash))) return false;
    verified.delete(digest);
    verified.set(digest, { hash: user.passwordHash, until: Date.now() + VERIFIED_TTL_MS });
    if (verified.size > VERIFIED_MAX) verified.delete(verified.keys().next().value as string);
    return true;
  }

  function domainIdOf(ref: DomainRef | undefined): string | undefined {
    if (!ref || (ref.id === undefined && ref.name === undefined)) return DEFAULT_DOMAIN.id;
    if (ref.id !== undefined) return ref.id === DEFAULT_DOMAIN.id ? DEFAULT_DOMAIN.id : undefined;
    return ref.name === DEFAULT_DOMAIN.name ? DEFAULT_DOMAIN.id : undefined;
  }

  async function userRecord(ref: UserRef): Promise<UserRecord | undefined> {
    if (ref.id !== undefined) return store.userById(ref.id);
    const domainId = domainIdOf(ref.domain);
    if (ref.name === undefined || domainId === undefined) return undefined;
    return store.userByName(domainId, ref.name);
  }

  // Decoded tokens, so a client's every request does not pay the AES-GCM open again. Safe to keep:
  // a token's content is fixed by its bytes and this process's key. Only the decoding is cached;
  // expiry and revocation are checked on every call, exactly as for a token seen the first time.
  const decoded = new Map<string, TokenInfo>();

  function decode(token: string): TokenInfo | undefined {
    const hit = decoded.get(token);
    if (hit) return hit;
    const info = codec.decode(token);
    if (!info) return undefined; // forgeries are not remembered: they would only crowd out real tokens
    decoded.set(token, info);
    if (decoded.size > DECODED_MAX) decoded.delete(decoded.keys().next().value as string);
    return info;
  }

  async function validateToken(token: string): Promise<TokenInfo> {
    const info = decode(token);
    if (!info || info.expiresAt.getTime() <= Date.now() || (await revocations.isRevoked(info))) throw new CairnError('auth.invalid_token');
    return info;
  }

  const identity: Identity = {
    region: config.region,
    tokenTtlSeconds: config.identity.tokenTtlSeconds,

    bootstrap: () => bootstrap({ config, db, revocations, tokenTtlSeconds: config.identity.tokenTtlSeconds }),

    async authenticatePassword(ref, password) {
      const user = await userRecord(ref);
      if (!user) {
        // Same cost as a wrong password, so user names cannot be probed by timing.
        await verifyPassword(password, await decoyHash());
        throw new CairnError('auth.bad_credentials');
      }
      if (!(await checkPassword(user, password)) || !user.enabled) throw new CairnError('auth.bad_credentials');
      return publicUser(user);
    },

    async issueToken(req) {
      const user = await store.userById(req.userId);
      if (!user || !user.enabled) throw new CairnError('identity.user_not_found', { user: req.userId });
      let project: TokenInfo['project'];
      let roles: Role[] = [];
      if (req.projectId !== undefined) {
        const p = await store.projectById(req.projectId);
        roles = p && p.enabled ? await store.rolesOn(user.id, p.id) : [];
        if (!p || roles.length === 0) throw new CairnError('identity.no_project_access', { user: user.id, project: req.projectId });
        project = { id: p.id, name: p.name, domainId: p.domainId };
      }
      const issuedAt = req.issuedAt ?? new Date();
      const expiresAt = req.expiresAt ?? new Date(issuedAt.getTime() + ttlMs);
      if (!(expiresAt > issuedAt) || expiresAt.getTime() - issuedAt.getTime() > ttlMs) {
        throw new CairnError('request.invalid_param', { name: 'expires_at', reason: `must be after issued_at and at most ${config.identity.tokenTtlSeconds} s later` });
      }
      const auditId = newAuditId();
      const info: TokenInfo = {
        userId: user.id,
        userName: user.name,
        userDomainId: user.domainId,
        project,
        roles,
        methods: req.methods ?? ['password'],
        issuedAt,
        expiresAt,
        auditIds: req.auditChainId ? [auditId, req.auditChainId] : [auditId],
      };
      return { token: codec.encode(info), info };
    },

    validateToken,

    async validate(token) {
      const info = await validateToken(token);
      if (!info.project) throw new CairnError('auth.invalid_token');
      return {
        token,
        userId: info.userId,
        userName: info.userName,
        projectId: info.project.id,
        projectName: info.project.name,
        domainId: info.project.domainId,
        roles: [...info.roles], // the decoded token is shared by later calls: callers get their own copy
        isAdmin: info.roles.includes('admin'),
        expiresAt: info.expiresAt,
      };
    },

    async revokeToken(token) {
      const info = await validateToken(token);
      await revocations.record({ auditId: info.auditIds[0], expiresAt: info.expiresAt });
    },

    catalog: (baseUrl, projectId) => buildCatalog(baseUrl, config.region, projectId),
    endpointTemplates: (baseUrl) => buildCatalog(baseUrl, config.region, undefined),

    async findProject(ref) {
      if (ref.id !== undefined) return store.projectById(ref.id);
      const domainId = domainIdOf(ref.domain);
      if (ref.name === undefined || domainId === undefined) return undefined;
      return store.projectByName(domainId, ref.name);
    },
    async findUser(ref) {
      const user = await userRecord(ref);
      return user && publicUser(user);
    },
    listProjects: (filter) => store.listProjects(filter),
    projectsOfUser: (userId, filter) => store.projectsOfUser(userId, filter),
    listUsers: async (filter) => (await store.listUsers(filter)).map(publicUser),
    rolesOn: (userId, projectId) => store.rolesOn(userId, projectId),
    listRoleAssignments: (filter) => store.listAssignments(filter),

    async createProject(opts) {
      requireName('name', opts.name);
      return store.insertProject({ name: opts.name, description: opts.description });
    },

    async createUser(opts) {
      requireName('name', opts.name);
      if (typeof opts.password !== 'string' || opts.password.length === 0) throw new CairnError('request.invalid_param', { name: 'password', reason: 'must not be empty' });
      if (opts.defaultProjectId !== undefined && !(await store.projectById(opts.defaultProjectId))) {
        throw new CairnError('identity.project_not_found', { project: opts.defaultProjectId });
      }
      return publicUser(await store.insertUser({ name: opts.name, passwordHash: await hashPassword(opts.password), defaultProjectId: opts.defaultProjectId }));
    },

    async assignRole(userId, projectId, role) {
      await requireAssignable(userId, projectId, role);
      await store.addRole(userId, projectId, role);
    },

    async unassignRole(userId, projectId, role) {
      await requireAssignable(userId, projectId, role);
      if (await store.removeRole(userId, projectId, role)) {
        const now = new Date();
        await revocations.record({ userId, projectId, issuedBefore: now, expiresAt: new Date(now.getTime() + ttlMs) });
      }
    },

    async setPassword(userId, password) {
      if (!(await store.userById(userId))) throw new CairnError('identity.user_not_found', { user: userId });
      if (typeof password !== 'string' || password.length === 0) throw new CairnError('request.invalid_param', { name: 'password', reason: 'must not be empty' });
      await store.setPasswordHash(userId, await hashPassword(password));
      const now = new Date();
      await revocations.record({ userId, issuedBefore: now, expiresAt: new Date(now.getTime() + ttlMs) });
    },
  };
  return identity;

  async function requireAssignable(userId: string, projectId: string, role: Role): Promise<void> {
    if (!(ROLES as readonly string[]).includes(role)) throw new CairnError('request.invalid_param', { name: 'role', reason: `expected one of ${ROLES.join(', ')}` });
    if (!(await store.userById(userId))) throw new CairnError('identity.user_not_found', { user: userId });
    if (!(await store.projectById(projectId))) throw new CairnError('identity.project_not_found', { project: projectId });
  }
}

function publicUser(u: UserRecord): User {
  return { id: u.id, name: u.name, domainId: u.domainId, defaultProjectId: u.defaultProjectId, enabled: u.enabled };
}

/** Names as Keystone allows them: 1–255 characters, not blank; `:` is refused because tempauth splits on it. */
function requireName(field: string, name: string): void {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 255 || name.includes(':')) {
    throw new CairnError('request.invalid_param', { name: field, reason: 'expected 1 to 255 characters, not blank, without ":"' });
  }
}
