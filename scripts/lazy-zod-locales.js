/**
 * zod (4.x) loads its 60-odd locale modules as soon as it is loaded, only to export them as
 * `z.locales` for `z.config(z.locales.fr())`; its own English messages come from locales/en.cjs,
 * which it requires directly (classic/schemas.cjs). botfleet never switches locale. The locales
 * were a tenth of a one-bot synth; this stands in for zod's locales/index.cjs and loads the real
 * one on the first use of any locale. `main.ts` requires it before zod, which puts it in Node's
 * module cache where zod's `require("../locales/index.cjs")` finds it; jest maps that request to it
 * (jest.config.js).
 */
const { dirname, join } = require("node:path");
const { realModule, standIn } = require("./module-stand-in");

const LOCALES = join(dirname(require.resolve("zod/v4/locales/en.cjs")), "index.cjs");

let real;
const load = () => (real ??= realModule(LOCALES, locales));

// zod's __importStar keeps a module marked __esModule as it is, so the first locale read loads them.
const locales = new Proxy(
  {},
  {
    get: (_target, key) => (key === "__esModule" ? true : load()[key]),
    has: (_target, key) => key in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  },
);

standIn(LOCALES, locales);

module.exports = locales;
