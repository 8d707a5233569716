import { randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";

/** What a request to a bot carries (a restore, a restart): an id it is applied once by, when and by whom. */
export function requestFrom(now = new Date()): { id: string; requestedAt: string; by: string } {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no user entry (a container with an arbitrary uid)
  }
  return { id: `${now.getTime().toString(36)}-${randomBytes(4).toString("hex")}`, requestedAt: now.toISOString(), by: `${user}@${hostname()}` };
}
