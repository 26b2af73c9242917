// The Swift object API surface: `/v1/<account>/…`, `/info` and `/healthcheck` on the api's port.
// The pipeline below is the whole request path; features that come later (large objects, copy,
// ACLs, TempURL, bulk delete, storlets) are further middlewares inserted into it.
import type { Config } from '../../core/config';
import type { Database } from '../../core/db/database';
import { CairnError } from '../../core/errors';
import type { TokenValidator } from '../../core/identity/types';
import type { ObjectBackend } from '../../core/objectstore/backend';
import type { RunExecutor } from '../../core/runs';
import type { Surface } from '../http/context';
import { account } from './account';
import { accountAcl } from './account-acl';
import { auth } from './auth';
import { bulkDelete } from './bulk-delete';
import { bulkUpload } from './bulk-upload';
import { catchErrors } from './catch-errors';
import { constraints } from './constraints';
import { container } from './container';
import { containerAcl } from './container-acl';
import { containerQuotas } from './container-quotas';
import { containerSync } from './container-sync';
import { copy } from './copy';
import { cors } from './cors';
import { dlo } from './dlo';
import { expiry } from './expiry';
import { info } from './info';
import { listing } from './listing';
import { object } from './object';
import { buildPipeline, type Middleware, type StorageRequest } from './pipeline';
import { requestId } from './request-id';
import { slo } from './slo';
import { tempurl } from './tempurl';
import { storlet } from './storlet';
import { zerocloud } from './zerocloud';

export interface StorageSurfaceDeps {
  config: Config;
  db: Database;
  backend: ObjectBackend;
  validator: TokenValidator;
  /** Runs tenant code next to the data (ZeroCloud jobs, storlets); unset = those requests get 503. */
  runs?: RunExecutor;
}

/** The middlewares in order, the first outermost. */
export function storageMiddlewares(deps: StorageSurfaceDeps): Middleware[] {
  return [
    requestId(),
    catchErrors(),
    info(deps),
    constraints(),
    cors(deps),
    bulkUpload(),
    containerAcl(deps),
    accountAcl(deps),
    tempurl(deps),
    containerSync(deps),
    auth(deps.validator, deps.config.identity.storageOperatorRoles),
    containerQuotas(deps),
    zerocloud(deps),
    bulkDelete(deps),
    expiry(deps),
    dlo(deps),
    slo(deps),
    storlet(deps),
    copy(deps),
    listing(deps),
    account(deps),
    container(deps),
    object(deps),
  ];
}

/** Nothing handled the request: a known resource with another method is 405, anything else 404. */
async function unhandled(req: StorageRequest): Promise<void> {
  if (!req.target) throw new CairnError('storage.object_not_found');
  req.ctx.res.setHeader('Allow', req.target.kind === 'account' ? 'GET, HEAD, POST' : 'GET, HEAD, PUT, POST, DELETE');
  throw new CairnError('storage.method_not_allowed');
}

export function createStorageSurface(deps: StorageSurfaceDeps): Surface {
  const run = buildPipeline(storageMiddlewares(deps), unhandled);
  return {
    name: 'storage',
    prefixes: ['/v1', '/info', '/healthcheck'],
    handle: (ctx) => run({ ctx }),
  };
}
