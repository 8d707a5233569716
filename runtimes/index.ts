import type { Runtime } from "../config/schema";
import { nanobot } from "./nanobot";
import { openclaw } from "./openclaw";
import type { AgentRuntime } from "./runtime";

export const RUNTIME_DESCRIPTIONS: Record<Runtime, AgentRuntime> = { openclaw, nanobot };
