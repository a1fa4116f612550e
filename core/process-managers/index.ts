// The process managers and what runs them.
export { checkout, reasonOf, MAX_REASON_LENGTH } from "./checkout.js";
export { defineProcessManager, type ProcessManager, type ReceivedEvent } from "./process-manager.js";
export { callerOf, requestIdOf, runProcessManager, type RunResult } from "./runner.js";
