// Every process manager the engine runs, by the name the topology's consumer gives it.
import { checkout } from "./checkout.js";
import type { ProcessManager } from "./process-manager.js";

export const processManagers: Readonly<Record<string, ProcessManager<any>>> = { checkout };

export { checkout, reasonOf, MAX_REASON_LENGTH } from "./checkout.js";
export { defineProcessManager, type ProcessManager, type ReceivedEvent } from "./process-manager.js";
export { callerOf, requestIdOf, runProcessManager, type RunResult } from "./runner.js";
