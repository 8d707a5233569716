import type { TargetId } from "../targets/registry";
import type { TargetOperations } from "./types";

/**
 * A target's operations: `operations` of targets/<target>/operations.ts, beside its descriptor, so
 * a new target brings them with its folder (a test checks every target has one). Loaded on first
 * use: a command about one bot loads one cloud's SDK only.
 */
export function operationsOf(target: TargetId): TargetOperations {
  return (require(`../targets/${target}/operations`) as { operations: TargetOperations }).operations;
}
