/**
 * Jest runs the suite as ES modules (`node --experimental-vm-modules`, see `npm test`), the way
 * Nest 12 ships, through ts-jest's ESM preset.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/support/global-setup.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // The packed-tarball tests run with `npm run test:package` (jest.package.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/package/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    // Sources import with NodeNext's `.js` suffix; Jest resolves the `.ts` file behind it.
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The package's own name, as the README's examples (and the sample) import it: its sources,
    // as tsconfig.json's `paths` map it for the type-check.
    '^nestjs-wait$': '<rootDir>/lib/index.ts',
    '^nestjs-wait/(testing|terminus|dashboard|redis|postgres)$': '<rootDir>/lib/$1/index.ts',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
  testTimeout: 20000,
};
