// `npm start` as a user runs it: the local stack in a child process we own.
// Stopping it checks that it took every process it started down with it.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect } from "vitest";
import { isAlive } from "../../local/data-lock.js";
import type { LocalStack } from "../../local/stack.js";
import { apiAt, type Api } from "./api.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const READY = /^Ordinal ready at (http:\/\/\S+)/;

export interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly command: string;
}

export interface Stopped {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Every process under the stack's own, seen just before the SIGTERM. */
  readonly tree: readonly Proc[];
  /** Those still alive the moment the stack's own process exited. */
  readonly aliveAtExit: readonly Proc[];
  /** Those still alive 5 s later (tools' helpers such as esbuild's service exit shortly after their parent). */
  readonly leftovers: readonly Proc[];
}

export interface ChildStack {
  readonly url: string;
  readonly pid: number;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /**
   * SIGTERM, then waits for the exit; safe to call more than once. With
   * `stallMs`, the process that owns DynamoDB Local is frozen that long just
   * as the signal arrives, as a loaded machine can do to it.
   */
  stop(options?: { stallMs?: number }): Promise<Stopped>;
}

export { isAlive };

/** The processes under `root` (not `root` itself), from `ps`. */
export const descendantsOf = (root: number): Proc[] => {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid=,comm="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, ppid, ...command]) => ({ pid: Number(pid), ppid: Number(ppid), command: command.join(" ") }));
  const found: Proc[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const row of rows.filter((r) => r.ppid === parent)) {
      found.push(row);
      queue.push(row.pid);
    }
  }
  return found;
};


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * package.json's `start` script, run as npm runs it but without npm and its
 * shell in between, which do not pass a SIGTERM on to the stack.
 */
const startCommand = (): { command: string; args: string[] } => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { scripts: { start: string } };
  // `exec` only makes the shell npm runs give way to node; run node directly.
  const [bin, ...args] = pkg.scripts.start.trim().replace(/^exec\s+/, "").split(/\s+/);
  return { command: bin === "node" ? process.execPath : `${ROOT}node_modules/.bin/${bin}`, args };
};

const exitOf = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });

/**
 * Runs `npm start -- <args>` from the repository root, with `env` added to
 * this process's environment, and resolves with the URL of its ready line.
 * Rejects (and kills what it started) if the stack exits or stays silent for `timeoutMs`.
 */
export const startChildStack = async (args: readonly string[], timeoutMs = 60_000, env: Readonly<Record<string, string>> = {}): Promise<ChildStack> => {
  const start = startCommand();
  const child = spawn(start.command, [...start.args, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = exitOf(child);

  const killTree = () => {
    for (const { pid } of descendantsOf(child.pid!)) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    child.kill("SIGKILL");
  };

  const url = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      killTree();
      reject(new Error(`the local stack printed no ready line within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
      const ready = stdout.split("\n").map((line) => READY.exec(line)).find(Boolean);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the local stack exited (code ${code}, signal ${signal}) before it was ready:\n${output}`));
    });
  });

  const stop = async (stallMs: number): Promise<Stopped> => {
    const tree = descendantsOf(child.pid!);
    const owner = tree.find((p) => /java/.test(p.command))?.ppid ?? child.pid!;
    if (stallMs > 0) process.kill(owner, "SIGSTOP");
    child.kill("SIGTERM");
    if (stallMs > 0) setTimeout(() => isAlive(owner) && process.kill(owner, "SIGCONT"), stallMs);
    const timer = setTimeout(killTree, 30_000);
    const { code, signal } = await exited;
    clearTimeout(timer);
    const aliveAtExit = tree.filter((p) => isAlive(p.pid));
    for (let waited = 0; waited < 5000 && tree.some((p) => isAlive(p.pid)); waited += 50) await sleep(50);
    const leftovers = tree.filter((p) => isAlive(p.pid));
    // Leave nothing behind even when the stack failed to: the assertion reports it.
    for (const { pid } of leftovers) process.kill(pid, "SIGKILL");
    return { code, signal, tree, aliveAtExit, leftovers };
  };

  let stopping: Promise<Stopped> | undefined;
  return {
    url,
    pid: child.pid!,
    output: () => output,
    stop: (options) => (stopping ??= stop(options?.stallMs ?? 0)),
  };
};

/** What every test expects of a stop: a clean exit, after DynamoDB Local's, with nothing left behind. */
export const expectCleanStop = (stack: ChildStack, stopped: Stopped) => {
  expect(stopped.code, stack.output()).toBe(0);
  const dynamo = stopped.tree.filter((p) => /java/.test(p.command));
  expect(dynamo, "DynamoDB Local ran under the stack").toHaveLength(1);
  expect(stopped.aliveAtExit.filter((p) => dynamo.includes(p)), "DynamoDB Local outlived the stack").toEqual([]);
  expect(stopped.leftovers).toEqual([]);
};

/**
 * One `npm start` for the whole test file: started before its tests, stopped
 * after them with `expectCleanStop`. `api` reaches whichever stack is running.
 */
export const useChildStack = (
  args: readonly string[] = ["--memory", "--port", "0"],
  env: Readonly<Record<string, string>> = {},
): { stack(): ChildStack; readonly api: Api } => {
  let started: ChildStack | undefined;
  beforeAll(async () => {
    started = await startChildStack(args, undefined, env);
  });
  afterAll(async () => {
    if (started) expectCleanStop(started, await started.stop());
  });
  const stack = () => {
    if (!started) throw new Error("the local stack did not start");
    return started;
  };
  return { stack, api: apiAt(() => stack().url) };
};

/** Stops a stack started in process, and checks that it left none of the processes it started running. */
export const stopLocalStack = async (stack: LocalStack) => {
  await stack.stop();
  expect(stack.pids.slice(1).filter(isAlive), "processes the stack started, still alive").toEqual([]);
};
