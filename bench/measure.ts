// Small measuring tools shared by the benchmark's phases: latency
// percentiles, where the CPU went (this Node process, its event
// loop, and the DynamoDB Local JVM), waiting for a stack to go quiet, timing
// a consumer's batches, and what the reports print (tables, the commit).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout } from "node:timers/promises";
import type { Store } from "../core/dynamo.js";
import type { LocalStack } from "../local/stack.js";

export const sleep = (ms: number) => setTimeout(ms);

/** Progress on stderr, tagged with `label` and the seconds since the process started. */
export const progressLog = (label: string) => (message: string) => console.error(`[${label} ${(performance.now() / 1000).toFixed(1)}s] ${message}`);

export interface Latency {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles, in milliseconds. */
export const latency = (samples: readonly number[]): Latency => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / (sorted.length || 1);
  return { n: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted.at(-1) ?? NaN, mean };
};

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used, from /proc; undefined where there is no /proc. */
const processCpuSeconds = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
};

/** CPU seconds the whole machine has spent busy (all cores), from /proc/stat. */
const machineBusySeconds = (): number | undefined => {
  try {
    const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
    const ticks = fields.map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - ticks[3]! - ticks[4]!) / ticksPerSecond; // less idle and iowait
  } catch {
    return undefined;
  }
};

export interface Usage {
  readonly seconds: number;
  /** Cores this Node process used on average (all its threads): API, pollers, handlers, in-process emulators. */
  readonly nodeCores: number;
  /** Share of the time the event loop was busy (1 = saturated). */
  readonly eventLoop: number;
  /** Cores DynamoDB Local's JVM used on average. */
  readonly dynamoCores?: number;
  /** Cores the stack's other emulator processes (kinesis-mock) used. */
  readonly emulatorCores?: number;
  /** Cores everything else on the machine used meanwhile: other people's work makes the numbers noisy. */
  readonly otherCores?: number;
}

/** The processes the local stack started besides this one: DynamoDB Local and the other emulators. */
export interface StackProcesses {
  readonly dynamo: number;
  readonly emulators: readonly number[];
}

/** A local stack's processes; its pids are this process, DynamoDB Local, then the other emulators. */
export const stackProcesses = (stack: Pick<LocalStack, "pids">): StackProcesses => ({ dynamo: stack.pids[1]!, emulators: stack.pids.slice(2) });

const sum = (values: readonly (number | undefined)[]) =>
  values.some((v) => v === undefined) ? undefined : values.reduce<number>((a, b) => a + b!, 0);

/** Starts measuring CPU use; call the result to get the usage since. */
export const usageSince = ({ dynamo, emulators }: StackProcesses): (() => Usage) => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const jvm = processCpuSeconds(dynamo);
  const others = sum(emulators.map(processCpuSeconds));
  const machine = machineBusySeconds();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const jvmNow = processCpuSeconds(dynamo);
    const othersNow = sum(emulators.map(processCpuSeconds));
    const machineNow = machineBusySeconds();
    const nodeCores = (used.user + used.system) / 1e6 / seconds;
    const dynamoCores = jvm === undefined || jvmNow === undefined ? undefined : (jvmNow - jvm) / seconds;
    const emulatorCores = others === undefined || othersNow === undefined ? undefined : (othersNow - others) / seconds;
    const machineCores = machine === undefined || machineNow === undefined ? undefined : (machineNow - machine) / seconds;
    const ours = sum([nodeCores, dynamoCores, emulatorCores]);
    return {
      seconds,
      nodeCores,
      eventLoop: performance.eventLoopUtilization(elu).utilization,
      dynamoCores,
      emulatorCores,
      otherCores: machineCores === undefined || ours === undefined ? undefined : Math.max(0, machineCores - ours),
    };
  };
};

/** Cores the whole stack (this process and its emulators) used. */
export const stackCores = (u: Usage): number => u.nodeCores + (u.dynamoCores ?? 0) + (u.emulatorCores ?? 0);

/** CPU milliseconds the whole stack (this process and its emulators) spent per command: steadier than rates on a shared machine. */
export const cpuMsPer = (u: Usage, commands: number): number => (1000 * stackCores(u) * u.seconds) / commands;

/**
 * Watches a DynamoDB client: counts its calls by operation while `counting`,
 * and `settle()` waits until the work still flowing behind a phase (the
 * fan-out of its events: projections and process managers write through the
 * stack's client) is done — no call for `quietMs` (longer than any consumer's
 * batching window) — answering the seconds it took.
 * The stream pollers' own client is not watched.
 */
export const watchCalls = (db: Store["db"], quietMs = 2000) => {
  const watch = { counting: false, calls: {} as Record<string, number>, lastCallAt: 0 };
  db.middlewareStack.add(
    (next, context) => async (args) => {
      watch.lastCallAt = performance.now();
      const name = context.commandName ?? "?";
      if (watch.counting) watch.calls[name] = (watch.calls[name] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name: "benchWatchCalls" },
  );
  const settle = async (maxSeconds = 180) => {
    const started = performance.now();
    while (performance.now() - watch.lastCallAt < quietMs && performance.now() - started < maxSeconds * 1000) await sleep(250);
    return (performance.now() - started) / 1000;
  };
  return Object.assign(watch, { settle });
};

/**
 * Wraps a batch handler so that after each call `onBatch` hears its event and
 * when the call started and ended: wall clock (ms, to line up with the
 * records' own times) and its duration on the monotonic clock.
 */
export const timedBatches =
  <E, A>(handler: (event: E) => Promise<A>, onBatch: (event: E, times: { startedAt: number; endedAt: number; ms: number }) => void) =>
  async (event: E): Promise<A> => {
    const started = performance.now();
    const startedAt = Date.now();
    try {
      return await handler(event);
    } finally {
      onBatch(event, { startedAt, endedAt: Date.now(), ms: performance.now() - started });
    }
  };

/** The commit the bench ran at, for its report; undefined outside a git checkout. */
export const gitCommit = (): string | undefined => {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
};

/** Batches a local stack's stream and Kinesis consumers have parked as failed: a bench's work must leave none. */
export const parkedBatches = async (stack: Pick<LocalStack, "failures" | "kinesisFailures">): Promise<number> =>
  (await Promise.all([...Object.values(stack.failures), ...Object.values(stack.kinesisFailures)].map((f) => f.list()))).flat().length;

/** A command-line flag's whole number, at least `min`; anything else exits 2, naming the flag. */
export const intFlag = (name: string, value: string, min = 1): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}, not '${value}'`);
    process.exit(2);
  }
  return n;
};

/** A number for a report's table, "–" when there is none. */
export const fixed = (n: unknown, digits = 0): string => (typeof n !== "number" || Number.isNaN(n) ? "–" : n.toFixed(digits));

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export const table = (header: string[], rows: string[][]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
};

/** The table of what a bench checked had happened: got, expected, ok or FAILED. */
export const checksTable = (checks: readonly { check: string; got: number; want: number }[]): string =>
  table(["check", "got", "expected", ""], checks.map((c) => [c.check, String(c.got), String(c.want), c.got === c.want ? "ok" : "FAILED"]));
