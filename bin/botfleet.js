#!/usr/bin/env node
// `npx botfleet <verb>`: day-2 operations (operations/cli.ts), TypeScript run as main.ts is.
require("../scripts/ts-register.js");
// Piped into a command that stopped reading (| head): not an error.
process.stdout.on("error", (e) => process.exit(e.code === "EPIPE" ? 0 : 1));
require("../operations/cli.ts")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
