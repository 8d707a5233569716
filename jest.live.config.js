/** The live suite (npm run test:live): the real pinned gateway, inside a private network namespace. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/live"],
  testMatch: ["**/*.live.test.ts"],
  transform: { "\\.ts$": "@sucrase/jest-plugin" },
  // One gateway at a time: the machine has two cores and each gateway takes one while it starts.
  maxWorkers: 1,
  testTimeout: 240000,
};
