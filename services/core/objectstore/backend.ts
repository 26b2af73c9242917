// The one interface every object-store backend (fs, swift, s3) implements. It speaks Swift's data
// model (accounts → containers → objects, user metadata, listings) but no HTTP: the storage API's
// middlewares own the wire, and platform code (function packages, logs) uses it through the
// SystemStore. Names are already-validated UTF-8 strings; failures are CairnErrors from the
// `storage.*` section of the catalog.
import type { Readable } from 'node:stream';

/** User metadata: lower-case names (without the `X-…-Meta-` prefix) → values. */
export type Metadata = Record<string, string>;

/** A point in time as Swift keeps it: microseconds since the Unix epoch. */
export type TimestampMicros = number;

export interface AccountInfo {
  name: string;
  containerCount: number;
  objectCount: number;
  bytesUsed: number;
  /** When the account was first used (autocreated). */
  createdAt: TimestampMicros;
  meta: Metadata;
}

export interface ContainerInfo {
  name: string;
  objectCount: number;
  bytesUsed: number;
  /** The container's PUT time (its `X-Timestamp`). */
  createdAt: TimestampMicros;
  /** Last PUT or POST of the container itself (its `Last-Modified`). */
  modifiedAt: TimestampMicros;
  meta: Metadata;
}

export interface ObjectInfo {
  name: string;
  bytes: number;
  /** Hex MD5 of the content, lower case, unquoted. */
  etag: string;
  contentType: string;
  /** Time of the PUT or of the last metadata POST. */
  modifiedAt: TimestampMicros;
  meta: Metadata;
}

/** Swift's listing parameters; `limit` is already bounded by the API. */
export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** Names strictly after it (strictly before it when `reverse`). */
  marker?: string;
  /** Names strictly before it (strictly after it when `reverse`). */
  endMarker?: string;
  limit: number;
  reverse?: boolean;
}

/** A listing row, or a name prefix rolled up at the delimiter. */
export type ListEntry<T> = { kind: 'item'; item: T } | { kind: 'subdir'; subdir: string };

export interface ContainerSummary {
  name: string;
  objectCount: number;
  bytesUsed: number;
  modifiedAt: TimestampMicros;
}

export type ObjectSummary = Omit<ObjectInfo, 'meta'>;

/** Changes to account or container metadata: `set` wins per name, `remove` names are dropped. */
export interface MetadataUpdate {
  set: Metadata;
  remove: string[];
}

export interface PutObjectOptions {
  contentType: string;
  meta: Metadata;
  /** Bytes the client declared; a body of another length is refused. Unset for chunked bodies. */
  contentLength?: number;
  /** Largest body accepted (checked while streaming when the length is not declared). */
  maxBytes: number;
  /** Client-sent ETag; a body with another MD5 is refused with `storage.etag_mismatch`. */
  expectedEtag?: string;
  /** `If-None-Match: *`: refuse when the object already exists. */
  ifNoneMatchAny?: boolean;
}

export interface ObjectUpdate {
  meta: Metadata;
  contentType?: string;
  /** Names whose current values survive the update (system metadata the POST does not own). */
  keep?: string[];
}

/** An inclusive byte range, already resolved against the object's size. */
export interface ByteRange {
  start: number;
  end: number;
}

/** An object opened for reading: its info is fixed, so headers and body always agree. */
export interface ObjectReader {
  info: ObjectInfo;
  /** A stream of the whole content or of one range. May be called several times (multi-range). */
  stream(range?: ByteRange): Readable;
  /** Releases the handle; safe to call more than once, needed when no stream was read to the end. */
  close(): Promise<void>;
  /**
   * Optional: the opened version as a local file, for backends that keep one (fs), so runs can
   * hand it to a sandbox instead of copying its bytes. `fd` is open read-only until close();
   * `path` names this version only (a new PUT writes another file) but vanishes once the
   * version is replaced or deleted. Backends without local files leave it out.
   */
  file?(): { path: string; fd: number };
}

export interface ObjectBackend {
  readonly kind: string;

  /** Counts and metadata; an account never used is created empty (Swift's account_autocreate). */
  headAccount(account: string): Promise<AccountInfo>;
  /** Optional: the account's metadata alone, where that is cheaper than its totals (an index in SQL). */
  accountMeta?(account: string): Promise<Metadata>;
  updateAccount(account: string, update: MetadataUpdate): Promise<AccountInfo>;
  listContainers(account: string, opts: ListOptions): Promise<ListEntry<ContainerSummary>[]>;

  /** Creates the container (and the account) or merges metadata into an existing one. */
  putContainer(account: string, container: string, update: MetadataUpdate): Promise<{ created: boolean; info: ContainerInfo }>;
  /** Undefined when the container does not exist. */
  headContainer(account: string, container: string): Promise<ContainerInfo | undefined>;
  /** Throws `storage.container_not_found`. */
  updateContainer(account: string, container: string, update: MetadataUpdate): Promise<ContainerInfo>;
  /** Throws `storage.container_not_found`, or `storage.container_not_empty` while it holds objects. */
  deleteContainer(account: string, container: string): Promise<void>;
  /** Throws `storage.container_not_found`. */
  listObjects(account: string, container: string, opts: ListOptions): Promise<ListEntry<ObjectSummary>[]>;

  /**
   * Streams `body` into a new version of the object. The object becomes visible whole or not at
   * all: an aborted or refused body leaves the previous version (or nothing) in place.
   */
  putObject(account: string, container: string, object: string, body: Readable, opts: PutObjectOptions): Promise<ObjectInfo>;
  /** Undefined when the object (or its container) does not exist. */
  headObject(account: string, container: string, object: string): Promise<ObjectInfo | undefined>;
  /** Undefined when the object does not exist. The caller must close() the reader. */
  openObject(account: string, container: string, object: string): Promise<ObjectReader | undefined>;
  /**
   * Replaces the metadata (Swift's object POST) in one step, except the current values of the
   * names in `keep` that `meta` does not set; throws `storage.object_not_found`.
   */
  updateObject(account: string, container: string, object: string, change: ObjectUpdate): Promise<ObjectInfo>;
  /** Throws `storage.object_not_found`. */
  deleteObject(account: string, container: string, object: string): Promise<void>;

  /**
   * Reclaims what a crash between writing bytes and committing the index left behind, only items
   * older than `graceMs` and never one a live PUT is writing. Absent where the upstream keeps its
   * own house (swift).
   */
  sweep?(opts: { graceMs: number }): Promise<SweepReport>;

  close(): Promise<void>;
}

/** What one sweep reclaimed: blob or file names, and unfinished uploads aborted. */
export interface SweepReport {
  removed: string[];
  abortedUploads: string[];
}
