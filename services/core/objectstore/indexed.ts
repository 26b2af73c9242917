// What every backend that keeps its listing index in Cairn's database shares (fs, s3): accounts,
// containers, metadata and listings are rows (fs-index.ts); only where an object's bytes live
// differs. A subclass stores and reads blobs and calls `admitPut` before reading a body.
import type { Database } from '../db/database';
import { CairnError } from '../errors';
import type {
  AccountInfo,
  ContainerInfo,
  ContainerSummary,
  ListEntry,
  ListOptions,
  Metadata,
  MetadataUpdate,
  ObjectInfo,
  ObjectSummary,
  ObjectUpdate,
  PutObjectOptions,
} from './backend';
import { ObjectIndex, type StoredObject } from './fs-index';

/** Containers remembered as existing by one process. */
const KNOWN_CONTAINERS_MAX = 10_000;

export abstract class IndexedBackend {
  protected readonly index: ObjectIndex;
  /** `account/container` names seen to exist, oldest first (a bounded cache for object PUTs). */
  private readonly knownContainers = new Set<string>();

  constructor(db: Database) {
    this.index = new ObjectIndex(db);
  }

  private rememberContainer(key: string): void {
    this.knownContainers.delete(key);
    this.knownContainers.add(key);
    if (this.knownContainers.size > KNOWN_CONTAINERS_MAX) this.knownContainers.delete(this.knownContainers.values().next().value as string);
  }

  /** Called when a commit found the container gone, so the next PUT asks the database again. */
  protected forgetContainer(account: string, container: string): void {
    this.knownContainers.delete(`${account}/${container}`);
  }

  /**
   * Refuses a PUT before reading a byte when the answer is already known. A container seen recently
   * is trusted without a query: the commit re-checks it under a lock, so a stale entry (container
   * deleted through another api replica) only costs the upload, never consistency.
   */
  protected async admitPut(account: string, container: string, object: string, opts: PutObjectOptions): Promise<void> {
    if (opts.contentLength !== undefined && opts.contentLength > opts.maxBytes) throw new CairnError('storage.too_large');
    const containerKey = `${account}/${container}`;
    if (opts.ifNoneMatchAny || !this.knownContainers.has(containerKey)) {
      const probe = await this.index.probe(account, container, object);
      if (!probe.container) throw new CairnError('storage.container_not_found');
      if (opts.ifNoneMatchAny && probe.object) throw new CairnError('storage.precondition_failed');
      this.rememberContainer(containerKey);
    }
  }

  headAccount(account: string): Promise<AccountInfo> {
    return this.index.headAccount(account);
  }

  accountMeta(account: string): Promise<Metadata> {
    return this.index.accountMeta(account);
  }

  async updateAccount(account: string, update: MetadataUpdate): Promise<AccountInfo> {
    await this.index.updateAccount(account, update);
    return this.index.headAccount(account);
  }

  listContainers(account: string, opts: ListOptions): Promise<ListEntry<ContainerSummary>[]> {
    return this.index.listContainers(account, opts);
  }

  async putContainer(account: string, container: string, update: MetadataUpdate): Promise<{ created: boolean; info: ContainerInfo }> {
    const { created } = await this.index.putContainer(account, container, update);
    const info = await this.index.headContainer(account, container);
    if (!info) throw new CairnError('storage.container_not_found'); // deleted concurrently
    this.rememberContainer(`${account}/${container}`);
    return { created, info };
  }

  headContainer(account: string, container: string): Promise<ContainerInfo | undefined> {
    return this.index.headContainer(account, container);
  }

  async updateContainer(account: string, container: string, update: MetadataUpdate): Promise<ContainerInfo> {
    await this.index.updateContainer(account, container, update);
    const info = await this.index.headContainer(account, container);
    if (!info) throw new CairnError('storage.container_not_found');
    return info;
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    this.forgetContainer(account, container);
    await this.index.deleteContainer(account, container);
  }

  listObjects(account: string, container: string, opts: ListOptions): Promise<ListEntry<ObjectSummary>[]> {
    return this.index.listObjects(account, container, opts);
  }

  async headObject(account: string, container: string, object: string): Promise<ObjectInfo | undefined> {
    const stored = await this.index.getObject(account, container, object);
    return stored && publicInfo(stored);
  }

  async updateObject(account: string, container: string, object: string, change: ObjectUpdate): Promise<ObjectInfo> {
    return publicInfo(await this.index.updateObject(account, container, object, change));
  }
}

/** The row without the name of its blob. */
export function publicInfo(stored: StoredObject): ObjectInfo {
  const { fileId: _f, ...info } = stored;
  return info;
}
