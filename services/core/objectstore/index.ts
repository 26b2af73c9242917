// Entry point of the object store: the backend chosen by configuration, the SystemStore that keeps
// platform data (function packages, execution logs) out of every tenant's reach, and reading a
// user's object into memory for the function API (packages of `swift` type functions).
import { Readable } from 'node:stream';
import type { Config } from '../config';
import type { Database } from '../db/database';
import { CairnError } from '../errors';
import type { ObjectBackend, ObjectInfo } from './backend';
import { FsBackend } from './fs';
import { S3Backend } from './s3';
import { SwiftBackend } from './swift';

export type * from './backend';

/**
 * The account platform data lives in. Swift API accounts always start with `AUTH_` (the auth
 * middleware only lets a caller reach `AUTH_<its project>`), so no request can address this one.
 */
export const SYSTEM_ACCOUNT = '.cairn';
/** The one container of the system account. */
export const SYSTEM_CONTAINER = 'system';

/** Largest item the SystemStore takes: Swift's own object size limit. */
const SYSTEM_MAX_BYTES = 5 * 1024 * 1024 * 1024;

export function createObjectBackend(config: Config, db: Database): ObjectBackend {
  switch (config.objectStore.backend) {
    case 'fs':
      return new FsBackend(config.dataDir, db);
    case 'swift':
      return new SwiftBackend(config.objectStore);
    case 's3':
      return new S3Backend(config.objectStore, db);
  }
}

/** Platform-private blobs by key, kept in the object store rather than the database. */
export interface SystemStore {
  put(key: string, data: Buffer): Promise<void>;
  /** Undefined when nothing is stored under `key`. */
  get(key: string): Promise<Buffer | undefined>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}

export function createSystemStore(backend: ObjectBackend): SystemStore {
  let ready: Promise<unknown> | undefined;
  const ensureContainer = (): Promise<unknown> => {
    ready ??= backend.putContainer(SYSTEM_ACCOUNT, SYSTEM_CONTAINER, { set: {}, remove: [] }).catch((err: unknown) => {
      ready = undefined; // let the next call retry, e.g. after the database came back
      throw err;
    });
    return ready;
  };
  const checkKey = (key: string): void => {
    if (key.length === 0 || key.includes('\0') || Buffer.byteLength(key) > 1024) throw new Error(`Invalid system store key: ${JSON.stringify(key)}`);
  };
  return {
    async put(key, data) {
      checkKey(key);
      await ensureContainer();
      await backend.putObject(SYSTEM_ACCOUNT, SYSTEM_CONTAINER, key, Readable.from([data]), {
        contentType: 'application/octet-stream',
        meta: {},
        contentLength: data.length,
        maxBytes: SYSTEM_MAX_BYTES,
      });
    },
    async get(key) {
      checkKey(key);
      const reader = await backend.openObject(SYSTEM_ACCOUNT, SYSTEM_CONTAINER, key);
      if (!reader) return undefined;
      try {
        return await collect(reader.stream(), reader.info.bytes);
      } finally {
        await reader.close();
      }
    },
    async delete(key) {
      checkKey(key);
      try {
        await backend.deleteObject(SYSTEM_ACCOUNT, SYSTEM_CONTAINER, key);
      } catch (err) {
        if (!(err instanceof CairnError && err.code === 'storage.object_not_found')) throw err;
      }
    },
  };
}

/**
 * Reads a user's object into memory, refusing (`storage.object_too_large_to_read`) before reading
 * when it is larger than `maxBytes`. Undefined when the object or its container does not exist.
 * `account` is the owner's Swift account (`storageAccount(projectId)`).
 */
export async function readObject(
  backend: ObjectBackend,
  account: string,
  container: string,
  object: string,
  maxBytes: number,
): Promise<{ info: ObjectInfo; data: Buffer } | undefined> {
  const reader = await backend.openObject(account, container, object);
  if (!reader) return undefined;
  try {
    if (reader.info.bytes > maxBytes) throw new CairnError('storage.object_too_large_to_read', { container, object, limit: maxBytes });
    return { info: reader.info, data: await collect(reader.stream(), reader.info.bytes) };
  } finally {
    await reader.close();
  }
}

async function collect(stream: Readable, size: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunk.copy(out, at);
    at += chunk.length;
  }
  return at === size ? out : out.subarray(0, at);
}
