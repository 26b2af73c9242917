import { randomBytes, randomUUID } from 'node:crypto';

/** Resource ids of the function API: UUIDs, as Qinling's (the CLI treats them as "ID, not name"). */
export function newUuid(): string {
  return randomUUID();
}

/** Keystone-style ids for projects and users: 32 lowercase hex digits. */
export function newHexId(): string {
  return randomBytes(16).toString('hex');
}

/** Request ids in Swift's shape (`tx` + 21 hex + `-` + 10 hex of the Unix time), used on every surface. */
export function newRequestId(now = Date.now()): string {
  // Swift takes uuid4().hex[:21]; randomUUID draws from an entropy cache, cheaper per call than randomBytes.
  return `tx${randomUUID().replace(/-/g, '').slice(0, 21)}-${Math.floor(now / 1000).toString(16).padStart(10, '0')}`;
}
