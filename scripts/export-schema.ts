import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { FleetFileSchema } from "../config/schema";

/** JSON Schema of the fleet file (input side: what a person writes), for editor completion. */
export function fleetSchemaJson(): object {
  return {
    ...z.toJSONSchema(FleetFileSchema, { io: "input", unrepresentable: "any" }),
    title: "botfleet fleet file",
  };
}

if (require.main === module) {
  const file = join(__dirname, "..", "fleet.schema.json");
  writeFileSync(file, JSON.stringify(fleetSchemaJson(), null, 2) + "\n");
  process.stdout.write(`wrote ${file}\n`);
}
