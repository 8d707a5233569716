import { goJson } from "../constructs/provider-json";

// What Go 1.25's encoding/json.Marshal writes for the same values decoded into interface{} (the
// Go build of azurerm v4.55.0, .go-version 1.25.3): map keys sorted by their bytes, no spaces,
// HTML-safe escapes, \b and \f as short escapes (since Go 1.22), floats in the ES6 form.
test("goJson writes what Go's json.Marshal writes", () => {
  expect(goJson({ b: 1, a: [true, null, { d: "x", c: 2 }] })).toBe('{"a":[true,null,{"c":2,"d":"x"}],"b":1}');
  // JavaScript objects put integer-like keys first; Go sorts them as text.
  expect(goJson({ "9": 0, "10": 1, a: 2 })).toBe('{"10":1,"9":0,"a":2}');
  expect(goJson({ é: 1, z: 2 })).toBe('{"z":2,"é":1}');
  expect(goJson("<a & b>\u2028\u2029")).toBe('"\\u003ca \\u0026 b\\u003e\\u2028\\u2029"');
  expect(goJson('"\\\n\t\b\f\u0001é')).toBe('"\\"\\\\\\n\\t\\b\\f\\u0001é"');
  expect(goJson([80, 1.5, 1.5e-7, 1e21])).toBe("[80,1.5,1.5e-7,1e+21]");
  expect(goJson({ a: undefined, b: 1 })).toBe('{"b":1}');
});
