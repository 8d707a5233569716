// ESLint (flat config): eslint's and typescript-eslint's recommended rules, without type
// information (a type-aware lint would cost a full type-check; the types suite runs tsc already).
// Formatting is Prettier's (.prettierrc.json), so no stylistic rule is on here.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["cdktf.out/", "coverage/", "node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Stack classes and providers are loaded on first use with require() (a fleet loads only its
      // targets' provider classes: docs/testing.md, Performance), and the .js files are CommonJS.
      "@typescript-eslint/no-require-imports": "off",
      // Terraform JSON and API responses are untyped JSON, read as `any` by design (StackJson).
      "@typescript-eslint/no-explicit-any": "off",
      // A leading underscore marks what is left unused on purpose, as tsc's noUnused* checks allow.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs" },
  },
  {
    files: ["__tests__/**", "live/**", "containers/**"],
    languageOptions: { globals: { ...globals.jest } },
  },
  {
    // Packed byte for byte into every bot's cloud-init and sidecar command: an edit here changes
    // the synthesized output, so only a behaviour change may touch it.
    files: ["state-sync/state-sync.mjs"],
    rules: { "preserve-caught-error": "off" },
  },
);
