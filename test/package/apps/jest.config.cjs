// The README's Jest configuration for CommonJS projects (section Compatibility), as it is there;
// copied into the app as jest.config.js.
module.exports = {
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true } }] },
  transformIgnorePatterns: ['/node_modules/(?!nestjs-wait/)'],
};
