/** Platform data (function packages, large execution logs) kept in the object store, out of every tenant's reach. */
export interface BlobStore {
  put(key: string, data: Buffer): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  delete(key: string): Promise<void>;
}
