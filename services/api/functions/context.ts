// What every function API resource handler receives.
import type { Config } from '../../core/config';
import { CairnError } from '../../core/errors';
import type { Database } from '../../core/db/database';
import type { AuthContext } from '../../core/identity/types';
import type { ExecutionService } from '../../executor/service';
import type { RequestContext } from '../http/context';
import type { Params } from '../http/router';
import type { FunctionCache } from './function-cache';
import type { BlobStore, PoolView, TenantObjects } from './ports';

export interface FunctionApiDeps {
  config: Config;
  db: Database;
  blobs: BlobStore;
  objects: TenantObjects;
  executions: ExecutionService;
  pool: PoolView;
  functions: FunctionCache;
}

/** A request that passed authentication. */
export interface Call {
  ctx: RequestContext;
  auth: AuthContext;
  params: Params;
  deps: FunctionApiDeps;
}

export type CallHandler = (call: Call) => Promise<void>;

/** Admin-only calls (runtime management, pools, workers, scaling): 403 "Operation not allowed". */
export function requireAdmin(auth: AuthContext): void {
  if (!auth.isAdmin) throw new CairnError('auth.forbidden');
}
