// What the function API needs from its neighbours, stated narrowly so each side can change
// behind it: the platform's own blob store, the caller's objects (swift-source functions),
// the execution service and the executor's pool views.
import type { AuthContext } from '../../core/identity/types';
import type { RuntimeKind } from '../../core/execution';

export type { BlobStore } from '../../core/blobs';

/** A tenant's objects, read with the tenant's own rights. */
export interface TenantObjects {
  head(projectId: string, container: string, object: string): Promise<{ bytes: number; etag: string } | undefined>;
  read(projectId: string, container: string, object: string, maxBytes: number): Promise<Buffer | undefined>;
}

/** The executor's pools: in-process (local mode) or over the internal API (distributed mode). */
export interface PoolView {
  poolStatus(runtime: RuntimeKind): { total: number; available: number } | Promise<{ total: number; available: number }>;
  workers(functionId: string): { functionId: string; version: number; name: string }[] | Promise<{ functionId: string; version: number; name: string }[]>;
  release(functionId: string, version?: number): void;
}

export type { AuthContext };
