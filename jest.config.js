/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  // Suites that need an install of their own run from their own npm scripts (test:state-sync).
  testPathIgnorePatterns: ["/node_modules/", "\\.live\\.test\\.ts$"],
  // Sucrase strips types without type-checking (tsc --noEmit does that once, in `npm test`).
  transform: { "\\.ts$": "@sucrase/jest-plugin" },
  setupFilesAfterEnv: ["<rootDir>/__tests__/support/setup.js"],
  reporters: ["default", "<rootDir>/__tests__/support/summary-reporter.js"],
  testTimeout: 60000,
};
