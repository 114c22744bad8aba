import base from './jest.config.js';

/**
 * `npm run test:package`: the packed tarball, installed into throwaway ESM and CommonJS apps on
 * Nest 11 and 12 (minutes, and the npm registry or cache), kept out of `npm test`.
 * @type {import('jest').Config}
 */
export default {
  ...base,
  roots: ['<rootDir>/test/package'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 600_000,
};
