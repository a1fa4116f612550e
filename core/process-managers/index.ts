// What runs process managers.
export { defineProcessManager, type AnyProcessManager, type ProcessManager } from "./process-manager.js";
export { callerOf, requestIdOf, runProcessManager, type RunResult } from "./runner.js";
