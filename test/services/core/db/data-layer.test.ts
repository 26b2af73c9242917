// The data-layer suite on embedded PGlite (the local default).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase } from '../../../../services/core/db/database';
import { dataLayerSuite } from './data-layer.suite';

jest.setTimeout(60_000);

dataLayerSuite(() => openDatabase({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-pglite-')) }));
