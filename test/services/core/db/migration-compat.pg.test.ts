// The expand-then-contract suite on a real PostgreSQL server (CI: 127.0.0.1:5432), one schema per case.
import { openTestPostgres } from '../../../helpers/postgres';
import { migrationCompatSuite } from './migration-compat.suite';

jest.setTimeout(60_000);

migrationCompatSuite(openTestPostgres);
