// Three projects: `unit` (the default `npm test` set, PGlite and real sandboxes), `e2e` (real
// openstack/swift CLIs against a started platform) and `pg` (data-layer tests against the
// PostgreSQL server named by CAIRN_TEST_PG_URL). ts-jest only transpiles; `tsc --noEmit` type-checks.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '\\.pg\\.test\\.ts$'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    { ...common, displayName: 'pg', testMatch: ['<rootDir>/test/**/*.pg.test.ts'] },
  ],
};
