import type { Runtime } from "../config/schema";
import { openclaw } from "./openclaw";
import type { AgentRuntime } from "./runtime";

export const RUNTIME_DESCRIPTIONS: Record<Runtime, AgentRuntime> = { openclaw };
