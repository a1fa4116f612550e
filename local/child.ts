// An emulator as a child process this process owns: started, waited for until
// it answers, stopped by pid, and killed with us if we crash (SIGKILL included).
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { watch } from "./watchdog.js";

export interface OwnedChild {
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Takes ownership of `child` and resolves once `ready()` succeeds (polled for
 * up to 30 s); if it never does, or the child exits first, stops it and throws
 * with what it printed.
 */
export const own = async (name: string, child: ChildProcess, ready: () => Promise<unknown>): Promise<OwnedChild> => {
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  let alive = true;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  void exited.then(() => (alive = false));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  // On a SIGKILL no exit handler runs: the watchdog kills it then.
  const unwatch = watch(child.pid!);
  void exited.then(() => {
    process.off("exit", killOnExit);
    unwatch();
  });

  const stop = async () => {
    if (!alive) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!alive) throw new Error(`${name} exited during start:\n${output}`);
    try {
      await ready();
      return { pid: child.pid!, stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${name} did not answer within 30 s:\n${output}`);
      }
      await sleep(100);
    }
  }
};
