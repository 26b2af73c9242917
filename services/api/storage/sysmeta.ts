// System metadata: facts the storage middlewares keep with an object or container (expiry time,
// large-object manifests, container ACLs). They live in the same metadata map as user metadata,
// under names containing ':' — a character no HTTP header name can hold — so a client's
// `X-Object-Meta-*` can never forge or overwrite them, and one backend column serves both.
import type { Metadata } from '../../core/objectstore/backend';

export const SYS = {
  /** Unix seconds after which the object is gone (X-Delete-At). */
  deleteAt: 'sys:delete-at',
  /** DLO: `<container>/<prefix>` of the segments (X-Object-Manifest). */
  dloManifest: 'sys:object-manifest',
  /** SLO: present on a static manifest; the value is the assembled ETag (unquoted). */
  sloEtag: 'sys:slo-etag',
  /** SLO: total bytes of the assembled object. */
  sloSize: 'sys:slo-size',
  /** SLO: set only on an assembled reader's info (never stored): the manifest's own MD5. */
  manifestEtag: 'sys:manifest-etag',
  /** Container read ACL (X-Container-Read). */
  read: 'sys:container-read',
  /** Container write ACL (X-Container-Write). */
  write: 'sys:container-write',
  /** Account ACL (X-Account-Access-Control), compact JSON. */
  accountAcl: 'sys:account-acl',
  /** Container sync destination (X-Container-Sync-To), as the owner set it. */
  syncTo: 'sys:container-sync-to',
  /** Container sync shared secret (X-Container-Sync-Key). */
  syncKey: 'sys:container-sync-key',
  /** On an object written by container sync: the source's X-Timestamp, in microseconds. */
  syncTimestamp: 'sys:sync-timestamp',
} as const;

/** Whether a stored metadata name is system metadata. */
export function isSysName(name: string): boolean {
  return name.includes(':');
}

/** The system part of a stored metadata map. */
export function sysPart(meta: Metadata): Metadata {
  const out: Metadata = {};
  for (const [k, v] of Object.entries(meta)) if (isSysName(k)) out[k] = v;
  return out;
}

/** The user part of a stored metadata map. */
export function userPart(meta: Metadata): Metadata {
  const out: Metadata = {};
  for (const [k, v] of Object.entries(meta)) if (!isSysName(k)) out[k] = v;
  return out;
}
