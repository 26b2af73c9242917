// Where a function's code lives and how a warm sandbox recognises it. A code key names the
// exact bytes: a package by its MD5, an object in the store by its ETag, so a changed
// object or a new upload never reuses a sandbox loaded with the old code.

export type StoredCode =
  | { source: 'package'; md5sum: string }
  | { source: 'swift'; swift: { container: string; object: string } }
  | { source: 'image'; image: string };

/** Blob key of an uploaded package. */
export function packageBlobKey(functionId: string, md5: string): string {
  return `packages/${functionId}/${md5}.zip`;
}

export function packageCodeKey(functionId: string, md5: string): string {
  return `pkg:${functionId}:${md5}`;
}

export function swiftCodeKey(projectId: string, container: string, object: string, etag: string): string {
  return `swift:${projectId}:${encodeURIComponent(container)}/${encodeURIComponent(object)}@${etag}`;
}

/** Inverse of the two key builders above: what the executor must fetch for a key. */
export function parseCodeKey(key: string):
  | { kind: 'package'; functionId: string; md5: string }
  | { kind: 'swift'; projectId: string; container: string; object: string; etag: string }
  | undefined {
  let m = /^pkg:([^:]+):([0-9a-f]{32})$/.exec(key);
  if (m) return { kind: 'package', functionId: m[1], md5: m[2] };
  m = /^swift:([^:]+):([^/]+)\/(.+)@([^@]*)$/.exec(key);
  if (m) return { kind: 'swift', projectId: m[1], container: decodeURIComponent(m[2]), object: decodeURIComponent(m[3]), etag: m[4] };
  return undefined;
}

/** Log blob key for logs too large to keep inline in the executions table. */
export function logBlobKey(executionId: string): string {
  return `logs/${executionId}`;
}
