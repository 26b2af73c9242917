// The data-layer suite on a real PostgreSQL server (CI: 127.0.0.1:5432).
import { openTestPostgres } from '../../../helpers/postgres';
import { dataLayerSuite } from './data-layer.suite';

jest.setTimeout(60_000);

dataLayerSuite(openTestPostgres);
