import { identitySuite } from './identity.shared';

// Against the PostgreSQL server of CAIRN_TEST_PG_URL, in a schema of its own.
describe('identity on PostgreSQL', () => identitySuite('postgres'));
