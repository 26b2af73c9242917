// The migration history, in order. SQL lives in TypeScript modules so the bundles carry it.
import type { Migration } from '../migrate';
import { initial } from './001_initial';
import { objectstore } from './002_objectstore';
import { identity } from './003_identity';
import { objectstoreBlobs } from './004_objectstore_blobs';
import { containerSync } from './005_container_sync';

export const MIGRATIONS: readonly Migration[] = [initial, objectstore, identity, objectstoreBlobs, containerSync];
