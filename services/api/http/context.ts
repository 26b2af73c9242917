// The per-request state every surface (identity, function API, storage) works from.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthContext } from '../../core/identity/types';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Decoded-as-sent path without the query string (surfaces decode segments themselves). */
  path: string;
  /** The raw query string without `?` (filters pass through it verbatim). */
  rawQuery: string;
  query: URLSearchParams;
  requestId: string;
  /** Set by the auth middleware once the token is validated. */
  auth?: AuthContext;
  /** The base URL the caller reached us at (catalog and storage URLs are built from it). */
  baseUrl: string;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

/** One top-level API surface, mounted at a path prefix of the single HTTP port. */
export interface Surface {
  name: string;
  /** Path prefixes this surface serves, e.g. `/function`, `/identity`. */
  prefixes: string[];
  handle: Handler;
}
