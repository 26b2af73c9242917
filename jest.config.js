// Five projects: `unit` (the default `npm test` set, PGlite and real sandboxes), `e2e` (real
// openstack/swift CLIs against a started platform), `pg` (data-layer tests against the
// PostgreSQL server named by CAIRN_TEST_PG_URL), `swift` (`*.swift.test.ts`: the swift object-store
// backend against the real Swift named by CAIRN_TEST_SWIFT_*) and `images` (container images built
// and run with podman). ts-jest only transpiles; `tsc --noEmit` type-checks.
// `npm test` passes --maxWorkers=2: jest's default (cores − 1) is one worker on a 2-core machine, and
// most suites wait on sandboxes, servers and CLIs rather than the CPU, so two workers halve the time.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/images/', '\\.pg\\.test\\.ts$', '\\.swift\\.test\\.ts$'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', '\\.swift\\.test\\.ts$'] },
    { ...common, displayName: 'pg', testMatch: ['<rootDir>/test/**/*.pg.test.ts'] },
    { ...common, displayName: 'swift', testMatch: ['<rootDir>/test/**/*.swift.test.ts'] },
    // Container images built with podman from a debootstrap base and run (root, minutes cold): `npm run test:images`.
    { ...common, displayName: 'images', testMatch: ['<rootDir>/test/images/**/*.test.ts'] },
  ],
};
