/**
 * The container suite (npm run test:containers): every container botfleet renders, run on this
 * machine's Docker engine from images built by npm run setup:containers. One suite at a time:
 * each starts nested engines and gateways, and the VM suites share the kept VM disks.
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/containers"],
  testMatch: ["**/*.containers.test.ts"],
  transform: { "\\.ts$": "@sucrase/jest-plugin" },
  moduleNameMapper: { "^archiver$": "<rootDir>/scripts/lazy-archiver.js", "^\\.\\./locales/index\\.cjs$": "<rootDir>/scripts/lazy-zod-locales.js" },
  globalSetup: "<rootDir>/containers/support/global-setup.ts",
  maxWorkers: 1,
  verbose: true,
  testTimeout: 900000,
};
