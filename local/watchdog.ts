// Emulators die with the process that started them, whatever kills it. A child
// is not killed when its parent gets SIGKILL, so each process that owns children
// also runs one small watchdog process, told each child's pid over a pipe: when
// the pipe closes (the owner exited, however), it kills what is still listed.
import { spawn, type ChildProcess } from "node:child_process";

const WATCHDOG = `
const pids = new Set();
let pending = "";
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => {});
process.stdin.on("data", (chunk) => {
  pending += chunk;
  for (let end; (end = pending.indexOf("\\n")) >= 0; pending = pending.slice(end + 1)) {
    const [op, pid] = pending.slice(0, end).split(" ");
    if (op === "+") pids.add(Number(pid)); else pids.delete(Number(pid));
  }
});
process.stdin.on("close", () => {
  for (const pid of pids) try { process.kill(pid, "SIGKILL"); } catch {}
  process.exit(0);
});
`;

let watchdog: ChildProcess | undefined;

const started = (): ChildProcess => {
  if (watchdog?.exitCode === null && watchdog.signalCode === null) return watchdog;
  watchdog = spawn(process.execPath, ["-e", WATCHDOG], { stdio: ["pipe", "ignore", "inherit"] });
  // Neither the watchdog nor its pipe keeps this process alive.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  watchdog.stdin!.on("error", () => {});
  return watchdog;
};

/** Has `pid` killed if this process exits without having stopped it; answers a function that takes it off the list. */
export const watch = (pid: number): (() => void) => {
  const dog = started();
  dog.stdin!.write(`+ ${pid}\n`);
  return () => {
    if (dog.exitCode === null && dog.signalCode === null) dog.stdin!.write(`- ${pid}\n`);
  };
};
