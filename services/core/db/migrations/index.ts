// The migration history, in order. SQL lives in TypeScript modules so the bundles carry it.
import type { Migration } from '../migrate';
import { initial } from './001_initial';

export const MIGRATIONS: readonly Migration[] = [initial];
