import { identitySuite } from './identity.shared';

describe('identity on PGlite', () => identitySuite('pglite'));
