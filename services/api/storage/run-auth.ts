// Who may run code next to the data. ZeroCloud jobs and storlets run with the caller's rights on
// the caller's account only: a request let in by a container ACL or a TempURL addresses someone
// else's account, whose data, storlets and quota the code would then use.
import { CairnError } from '../../core/errors';
import type { StorageRequest } from './pipeline';

/** Throws unless the account's owner (a member of its project, by token) sent the request. */
export function requireOwner(req: StorageRequest): void {
  if (req.authorized?.by === 'token') return;
  throw new CairnError(req.ctx.auth ? 'storage.account_forbidden' : 'storage.unauthorized');
}
