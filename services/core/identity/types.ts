// What the rest of the platform knows about a caller: the validated token's user, project and roles.

export interface AuthContext {
  token: string;
  userId: string;
  userName: string;
  projectId: string;
  projectName: string;
  domainId: string;
  roles: string[];
  /** Holds the `admin` role on its project: may use admin-only calls and `all_projects`. */
  isAdmin: boolean;
  expiresAt: Date;
}

/** Validates tokens; the api's auth middleware and the function runtime context use it. */
export interface TokenValidator {
  /** Resolves the caller or throws CairnError('auth.invalid_token'). */
  validate(token: string): Promise<AuthContext>;
}

/** The Swift account name of a project, as keystoneauth/tempauth name it. */
export function storageAccount(projectId: string): string {
  return `AUTH_${projectId}`;
}
