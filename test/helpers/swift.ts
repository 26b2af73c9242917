// Settings of the real Swift the `swift` jest project runs against (.ci/run starts one with the
// team's swift-saio.sh). Missing settings fail the tests with the recipe, never skip them.
import { randomBytes } from 'node:crypto';

export interface SwiftTestSettings {
  authUrl: string;
  user: string;
  key: string;
  /** `host:port` of the memcached tempauth keeps its tokens in (to expire them for real). */
  memcache: string;
}

const HOW = `The swift tests need a running Swift with a reseller-admin user. Start one and export its settings:
  SAIO_SKIP_INSTALL=1 SAIO_DIR=/tmp/saio-dev SAIO_PROXY_PORT=8180 SAIO_OBJ_PORT=6510 SAIO_CONT_PORT=6511 SAIO_ACC_PORT=6512 SAIO_MEMCACHE_PORT=11511 bash /work/shared/tools/swift-saio.sh
  export CAIRN_TEST_SWIFT_AUTH_URL=http://127.0.0.1:8180/auth/v1.0 CAIRN_TEST_SWIFT_USER=admin:admin CAIRN_TEST_SWIFT_KEY=admin CAIRN_TEST_SWIFT_MEMCACHE=127.0.0.1:11511
  npm run test:swift`;

export function swiftTestSettings(): SwiftTestSettings {
  const e = process.env;
  const missing = ['CAIRN_TEST_SWIFT_AUTH_URL', 'CAIRN_TEST_SWIFT_USER', 'CAIRN_TEST_SWIFT_KEY', 'CAIRN_TEST_SWIFT_MEMCACHE'].filter((n) => !e[n]);
  if (missing.length) throw new Error(`${missing.join(', ')} not set. ${HOW}`);
  return { authUrl: e.CAIRN_TEST_SWIFT_AUTH_URL!, user: e.CAIRN_TEST_SWIFT_USER!, key: e.CAIRN_TEST_SWIFT_KEY!, memcache: e.CAIRN_TEST_SWIFT_MEMCACHE! };
}

/**
 * Platform configuration selecting the swift backend, with an account prefix of its own so every
 * run (and every test file) starts from empty upstream accounts.
 */
export function swiftBackendEnv(s: SwiftTestSettings = swiftTestSettings()): Record<string, string> {
  return {
    CAIRN_OBJECT_STORE: 'swift',
    CAIRN_SWIFT_AUTH_URL: s.authUrl,
    CAIRN_SWIFT_AUTH_VERSION: '1',
    CAIRN_SWIFT_USER: s.user,
    CAIRN_SWIFT_KEY: s.key,
    CAIRN_SWIFT_ACCOUNT_PREFIX: `AUTH_t${randomBytes(5).toString('hex')}-`,
  };
}
