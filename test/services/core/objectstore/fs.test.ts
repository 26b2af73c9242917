import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase } from '../../../../services/core/db/database';
import { objectIndexSuite } from './fs-index.suite';
import { objectStoreSuite } from './objectstore.suite';

describe('object store on PGlite', () => {
  objectStoreSuite(() => openDatabase({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-os-db-')) }));
});

describe('object index on PGlite: writes submitted together', () => {
  objectIndexSuite(() => openDatabase({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-os-idx-')) }));
});
