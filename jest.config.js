/**
 * Sets of suites. `npm run test:unit` runs the first, the inner loop; `npm test` runs it and the
 * tools suites; `npm run test:state-sync` the live state-sync suite and `npm run test:operations`
 * the `botfleet` command's (both after `npm run setup:node24`).
 * Suites that start real tools (caddy, cloud-init, shellcheck, systemd-analyze, sh, actionlint, the
 * Mermaid parser, tsc, eslint and prettier, the cdktf CLI) are listed in TOOL_SUITES; every other
 * suite is a unit suite.
 */
const TOOL_SUITES = [
  "cdktf-cli",
  "container-gate",
  "container-launch",
  "container-lease",
  "container-support",
  "lint",
  "mermaid",
  "types",
  "vm-boot-steps",
  "vm-bootstrap-validators",
  "vm-condition",
  "vm-caddy",
  "vm-firewall",
  "vm-secret-fetch",
  "workflows",
];
const toolSuite = (name) => `<rootDir>/__tests__/${name}.test.ts`;

const shared = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  // Sucrase strips types without type-checking (the types suite runs tsc --noEmit once).
  transform: { "\\.ts$": "@sucrase/jest-plugin" },
  // cdktf loads archiver, and zod its locales, at start-up, and neither is used here: stand-ins
  // load them on first use (zod is the only package that requires "../locales/index.cjs").
  moduleNameMapper: { "^archiver$": "<rootDir>/scripts/lazy-archiver.js", "^\\.\\./locales/index\\.cjs$": "<rootDir>/scripts/lazy-zod-locales.js" },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...shared, displayName: "unit", testMatch: ["<rootDir>/__tests__/**/*.test.ts"], testPathIgnorePatterns: [...TOOL_SUITES.map(toolSuite), "\\.live\\.test\\.ts$"] },
    { ...shared, displayName: "tools", testMatch: TOOL_SUITES.map(toolSuite) },
    // Suites that need an install of their own (Node 24: npm run setup:node24) run only when named.
    { ...shared, displayName: "state-sync", testMatch: ["<rootDir>/__tests__/live/state-sync.live.test.ts"] },
    { ...shared, displayName: "operations", testMatch: ["<rootDir>/__tests__/live/operations.live.test.ts"] },
  ],
  // Three workers on two cores: the tools suites spend seconds waiting on timers, timeouts and
  // child processes (backoff, firewall probes, launchers), during which a third worker computes.
  maxWorkers: 3,
  testSequencer: "<rootDir>/__tests__/support/sequencer.js",
  reporters: ["default", "<rootDir>/__tests__/support/summary-reporter.js"],
  testTimeout: 60000,
};
