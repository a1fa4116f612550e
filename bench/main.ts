// `npm run bench`: the command path's throughput on the local stack, against the
// raw rate of the one write it cannot avoid, plus the sequencer's batching.
// Run by hand, never in the tests; it asserts no timings, it prints numbers
// (and writes them to .ordinal/bench.json). It does check that the work it timed
// really happened, and exits 1 if any command lacks its accepted outcome.
//
//   npm run bench -- [--carts 1000] [--clients 32] [--per-cart 10] [--seq-aggregates 100] [--out .ordinal/bench.json] [--fanout]
//                    [--checkout [--checkout-carts N]] [--peer-carts 100]
//
// --fanout then also runs the fan-out's benchmark (bench/fanout.ts, on a stack
// of its own, about a minute more) and adds its report under "fanout".
// Every run also measures the peer (bench/peer.ts): Castore on the same DynamoDB
// Local with the same workload, both metered in DynamoDB units by AWS's rules.
// --checkout likewise runs the checkout's (bench/checkout.ts) with
// --checkout-carts carts (default: --carts when given, else 200), under "checkout".
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { localAwsConfig } from "../local/dynamodb.js";
import { startStack } from "../local/stack.js";
import { createCounterTable, runBaseline, type BaselineResult } from "./baseline.js";
import { checksTable, cpuMsPer, fixed, gitCommit, intFlag, latency, progressLog, stackCores, stackProcesses, table, timedBatches, usageSince, watchCalls, type Latency, type StackProcesses, type Usage } from "./measure.js";
import { checkStored, runPipeline, type PipelineResult, type Timing } from "./pipeline.js";
import { benchCheckout, formatCheckout } from "./checkout.js";
import { benchPeer, formatPeer, type IdleResult, type PeerResult } from "./peer.js";
import { TABLE_PREFIX } from "../local/stack.js";
import { benchFanout, formatFanout } from "./fanout.js";
import { runSequencer, type SequencerResult } from "./sequencer.js";
import { runTag } from "./workload.js";
import { app } from "../core/app.js";
import { expandApp } from "../core/app-definition.js";

const referenceApp = expandApp(app);

const { values } = parseArgs({
  options: {
    carts: { type: "string" }, // 1000 when absent: see checkout-carts
    clients: { type: "string", default: "32" },
    "per-cart": { type: "string", default: "10" },
    "seq-aggregates": { type: "string", default: "100" },
    out: { type: "string", default: ".ordinal/bench.json" },
    fanout: { type: "boolean", default: false },
    checkout: { type: "boolean", default: false },
    "checkout-carts": { type: "string" },
    "peer-carts": { type: "string", default: "100" },
  },
});

const carts = intFlag("carts", values.carts ?? "1000");
const peerCarts = intFlag("peer-carts", values["peer-carts"]);
const checkoutCarts = intFlag("checkout-carts", values["checkout-carts"] ?? values.carts ?? "200");
const clients = intFlag("clients", values.clients);
const perCart = intFlag("per-cart", values["per-cart"], 2);
const seqAggregates = intFlag("seq-aggregates", values["seq-aggregates"]);
const SEQ_PER_BATCH = 10; // aggregates per stream batch: 10 × 10 commands = 100 records, the event source's batch size

const progress = progressLog("bench");

/**
 * What the sequencer did while the stack's poller fed it: batch sizes, time
 * spent in the handler, and for each command when the API took it and when
 * its batch started and ended (to attribute each command's latency).
 */
const tap = {
  on: false,
  sizes: [] as number[],
  busyMs: [] as number[],
  batches: new Map<string, { receivedAt: number; startedAt: number; endedAt: number }>(),
};
/** Times the sequencer's batches (the other stream consumers, the fan-out, run as they are). */
const wrapStreamHandler = (name: string, handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>) =>
  name !== "sequencer"
    ? handler
    : timedBatches(handler, (event, { startedAt, endedAt, ms }) => {
        if (!tap.on) return;
        tap.sizes.push(event.Records.length);
        tap.busyMs.push(ms);
        for (const record of event.Records) {
          const image = record.dynamodb?.NewImage;
          const id = `${image?.key?.S}#${image?.seq?.N}`;
          // A record delivered again (a retried batch) keeps its first delivery.
          if (!tap.batches.has(id)) tap.batches.set(id, { receivedAt: Number(image?.receivedAt?.N), startedAt, endedAt });
        }
      });

/**
 * Splits each command's latency into stages: the request reaching the API,
 * the counter write plus the wait for the poller to hand it over, the
 * sequencer's batch, and the outcome reaching the client (?wait polling).
 */
const stagesOf = (timings: readonly Timing[]) => {
  const stages = { "request → API": [] as number[], "API → batch start (append, stream, poller)": [] as number[], "batch start → batch end (sequencer)": [] as number[], "batch end → answer (?wait poll; < 0: committed before batch end)": [] as number[] };
  for (const t of timings) {
    const b = tap.batches.get(`${t.key}#${t.seq}`);
    if (!b) continue;
    stages["request → API"].push(b.receivedAt - t.sentAt);
    stages["API → batch start (append, stream, poller)"].push(b.startedAt - b.receivedAt);
    stages["batch start → batch end (sequencer)"].push(b.endedAt - b.startedAt);
    stages["batch end → answer (?wait poll; < 0: committed before batch end)"].push(t.answeredAt - b.endedAt);
  }
  return Object.fromEntries(Object.entries(stages).map(([name, samples]) => [name, latency(samples)]));
};

const measured = async <T>(processes: StackProcesses, run: () => Promise<T>): Promise<T & { usage: Usage }> => {
  const done = usageSince(processes);
  const result = await run();
  return { ...result, usage: done() };
};

const tag = runTag();
progress(`starting the local stack (DynamoDB Local in memory); run ${tag}`);
const stack = await startStack({ app: referenceApp, port: 0, wrapStreamHandler });
// DynamoDB calls by operation on the stack's client while the pipeline runs; settle() waits for the fan-out.
const { streamConsumers, kinesisConsumers } = referenceApp.topology;
const longestWindowMs = 1000 * Math.max(...[...Object.values(streamConsumers), ...Object.values(kinesisConsumers)].map((c) => c.maxBatchingWindowSeconds));
const watch = watchCalls(stack.store.db, 2000 + longestWindowMs);
const settle = watch.settle;
const processes = stackProcesses(stack);
const admin = new DynamoDBClient(localAwsConfig(stack.endpoints.dynamodb));

type Measured<T> = T & { usage: Usage };
let baselineBefore: Measured<BaselineResult>;
let baselineAfter: Measured<BaselineResult>;
let pipeline: Measured<PipelineResult>;
let stored: Awaited<ReturnType<typeof checkStored>>;
let parked: number;
const sequencer: Measured<SequencerResult>[] = [];
let stages: Record<string, Latency>;
let byTenth: number[];
const loadBefore = loadavg();
let sequencerDuringPipeline: { batches: number; records: number; meanBatch: number; maxBatch: number; busySeconds: number; handlerMs: Latency };

let idleCores: number;
let idleAfter: IdleResult;
const IDLE_SECONDS = 10;
const IDLE_SPELLS = 3;
let peer: PeerResult;
const settled: Record<string, number> = {};
try {
  await createCounterTable(admin);
  // How busy the stack is doing nothing (its pollers polling).
  await settle();
  const idle = usageSince(processes);
  await new Promise((r) => setTimeout(r, 3000));
  idleCores = stackCores(idle());
  // DynamoDB Local's JIT takes thousands of requests to settle (a short warm-up
  // left the first baseline at twice the CPU per write of the second).
  const warmKeys = Math.max(Math.ceil(carts / 2), 50);
  const warmCarts = Math.max(Math.ceil(carts / 20), clients);
  progress(`warming up: ${warmKeys * perCart} UpdateItems, ${warmCarts} carts through the pipeline, the sequencer`);
  await runBaseline(stack.store, { keys: warmKeys, perCart, clients, prefix: `w${tag}-` });
  await runPipeline({ url: stack.url, carts: warmCarts, perCart, clients, prefix: `w${tag}-` });
  for (const mode of ["batched", "single"] as const)
    await runSequencer(stack.store, { mode, prefix: `w${tag}-${mode}-`, aggregates: 20, perCart, perBatch: SEQ_PER_BATCH });

  progress("waiting for the stack to settle (the fan-out of the warm-up's events)");
  settled.warmup = await settle();

  progress(`baseline (before): ${carts * perCart} counter UpdateItems at ${clients} clients`);
  baselineBefore = await measured(processes, () => runBaseline(stack.store, { keys: carts, perCart, clients, prefix: `b1${tag}-` }));

  progress(`pipeline: ${carts} carts × ${perCart} commands at ${clients} clients, POST /command?wait=10`);
  tap.on = watch.counting = true;
  const timings: Timing[] = [];
  pipeline = await measured(processes, () => runPipeline({ url: stack.url, carts, perCart, clients, prefix: `p${tag}-` }, timings));
  tap.on = watch.counting = false;
  stages = stagesOf(timings);
  // Commands answered in each tenth of the phase: a rate that sinks as the tables and streams grow shows here.
  const first = Math.min(...timings.map((t) => t.sentAt));
  const span = Math.max(...timings.map((t) => t.answeredAt)) - first;
  byTenth = Array.from({ length: 10 }, (_, i) => timings.filter((t) => Math.min(9, Math.floor((10 * (t.answeredAt - first)) / span)) === i).length / (span / 10000));
  const records = tap.sizes.reduce((a, b) => a + b, 0);
  const busy = tap.busyMs.reduce((a, b) => a + b, 0);
  sequencerDuringPipeline = {
    batches: tap.sizes.length,
    records,
    meanBatch: records / (tap.sizes.length || 1),
    maxBatch: Math.max(0, ...tap.sizes),
    busySeconds: busy / 1000,
    handlerMs: latency(tap.busyMs),
  };
  stored = await checkStored(stack.store, `p${tag}-`, perCart);
  parked = (await stack.failures.sequencer!.list()).length;

  progress("waiting for the stack to settle (the fan-out of the pipeline's events)");
  settled.pipeline = await settle();

  progress(`baseline (after): ${carts * perCart} counter UpdateItems at ${clients} clients`);
  baselineAfter = await measured(processes, () => runBaseline(stack.store, { keys: carts, perCart, clients, prefix: `b2${tag}-` }));

  progress(`peer: ${peerCarts} carts × ${perCart} commands at ${clients} clients, Ordinal (?wait) then Castore, metered`);
  await settle();
  peer = await benchPeer(stack, { carts: peerCarts, perCart, clients, tag, tablePrefix: TABLE_PREFIX, settle });

  progress(`idle: the stack doing nothing for ${IDLE_SECONDS} s, then one command; ${IDLE_SPELLS} times`);
  await settle();
  const idleUsage = usageSince(processes);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const idleCoresLong = stackCores(idleUsage());
  // The first command after each spell: one sample per spell, so several spells.
  const firsts: number[] = [];
  for (let spell = 0; spell < IDLE_SPELLS; spell++) {
    if (spell > 0) await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const afterIdle = await runPipeline({ url: stack.url, carts: 1, perCart: 2, clients: 1, prefix: `idle-${spell}-${tag}-` });
    firsts.push(afterIdle.latencyMs.max);
  }
  idleAfter = { seconds: IDLE_SECONDS, cores: idleCoresLong, firstCommandMs: latency(firsts).p50, firstCommandSamplesMs: firsts };

  for (const mode of ["batched", "single", "single-parallel"] as const) {
    progress(`sequencer ${mode}: ${seqAggregates} aggregates × ${perCart} commands`);
    sequencer.push(
      await measured(processes, () =>
        runSequencer(stack.store, { mode, prefix: `s${tag}-${mode}-`, aggregates: seqAggregates, perCart, perBatch: SEQ_PER_BATCH }),
      ),
    );
  }
} finally {
  progress("stopping the local stack");
  admin.destroy();
  await stack.stop();
}

// ── Report ────────────────────────────────────────────────────────────────

const rawRate = (baselineBefore.rate + baselineAfter.rate) / 2;
const rawCpu = (cpuMsPer(baselineBefore.usage, baselineBefore.writes) + cpuMsPer(baselineAfter.usage, baselineAfter.writes)) / 2;
const cpuRatio = rawCpu / cpuMsPer(pipeline.usage, pipeline.commands);
const callsPerCommand = Object.fromEntries(Object.entries(watch.calls).sort(([, a], [, b]) => b - a).map(([name, n]) => [name.replace(/Command$/, ""), n / (carts * perCart)]));
const ratio = pipeline.rate / rawRate;
const seqRate = (mode: string) => sequencer.find((s) => s.mode === mode)!.rate;
const commands = carts * perCart;
const accepted = pipeline.responses["200 accepted"] ?? 0;
const checks = [
  { check: "?wait answers 200 accepted", got: accepted, want: commands },
  { check: "accepted outcomes stored", got: stored.acceptedOutcomes, want: commands },
  { check: "events stored", got: stored.events, want: commands },
  { check: "carts closed, right version and total", got: stored.closedCarts, want: carts },
  { check: "batches parked as failed", got: parked, want: 0 },
];
const failed = checks.filter((c) => c.got !== c.want);

const usageCells = (u: Usage, commands: number) => [fixed(cpuMsPer(u, commands), 1), fixed(u.nodeCores, 2), fixed(u.eventLoop * 100) + "%", fixed(u.dynamoCores, 2), fixed(u.emulatorCores, 2), fixed(u.otherCores, 2)];

const phases = table(
  ["phase", "commands", "seconds", "cmd/s", "p50 ms", "p99 ms", "CPU ms/cmd", "node cores", "event loop", "DynamoDB cores", "kinesis cores", "other cores"],
  [
    ["raw counter UpdateItem (before)", String(baselineBefore.writes), fixed(baselineBefore.seconds, 1), fixed(baselineBefore.rate), fixed(baselineBefore.latencyMs.p50, 1), fixed(baselineBefore.latencyMs.p99, 1), ...usageCells(baselineBefore.usage, baselineBefore.writes)],
    ["pipeline POST → outcome (?wait)", String(pipeline.commands), fixed(pipeline.seconds, 1), fixed(pipeline.rate), fixed(pipeline.latencyMs.p50, 1), fixed(pipeline.latencyMs.p99, 1), ...usageCells(pipeline.usage, pipeline.commands)],
    ["raw counter UpdateItem (after)", String(baselineAfter.writes), fixed(baselineAfter.seconds, 1), fixed(baselineAfter.rate), fixed(baselineAfter.latencyMs.p50, 1), fixed(baselineAfter.latencyMs.p99, 1), ...usageCells(baselineAfter.usage, baselineAfter.writes)],
    ...sequencer.map((s) => [`sequencer ${s.mode}`, String(s.commands), fixed(s.seconds, 1), fixed(s.rate), "", "", ...usageCells(s.usage, s.commands)]),
  ],
);

const ratios = table(
  ["ratio", "value", "note"],
  [
    ["pipeline / raw UpdateItem", fixed(ratio, 2), `goal ≥ 0.67; raw = mean of ${fixed(baselineBefore.rate)} and ${fixed(baselineAfter.rate)} cmd/s`],
    ["pipeline / raw (before)", fixed(pipeline.rate / baselineBefore.rate, 2), ""],
    ["pipeline / raw (after)", fixed(pipeline.rate / baselineAfter.rate, 2), ""],
    ["raw CPU/cmd ÷ pipeline CPU/cmd", fixed(cpuRatio, 2), "the same ratio in CPU the stack spent per command, less sensitive to other load"],
    ["sequencer batched / single", fixed(seqRate("batched") / seqRate("single"), 1) + "×", "per-aggregate batching vs one transaction per command"],
    ["sequencer batched / single-parallel", fixed(seqRate("batched") / seqRate("single-parallel"), 1) + "×", `vs one per command with ${SEQ_PER_BATCH} aggregates in parallel`],
  ],
);

const d = sequencerDuringPipeline;
const details = table(
  ["detail", "value"],
  [
    ["clients", String(clients)],
    ["?wait latency ms p50 / p90 / p99 / max", [pipeline.latencyMs.p50, pipeline.latencyMs.p90, pipeline.latencyMs.p99, pipeline.latencyMs.max].map((x) => fixed(x, 1)).join(" / ")],
    ["raw UpdateItem latency ms p50 / p99 (before, after)", `${fixed(baselineBefore.latencyMs.p50, 1)} / ${fixed(baselineBefore.latencyMs.p99, 1)}, ${fixed(baselineAfter.latencyMs.p50, 1)} / ${fixed(baselineAfter.latencyMs.p99, 1)}`],
    ["pipeline responses", Object.entries(pipeline.responses).map(([k, v]) => `${k}: ${v}`).join(", ")],
    ["pending when ?wait ran out", String(pipeline.pendingAtDeadline)],
    ["pipeline cmd/s in each tenth of the phase", byTenth.map((r) => fixed(r)).join(" ")],
    ["sequencer batches during pipeline", `${d.batches} (mean ${fixed(d.meanBatch, 1)} records, max ${d.maxBatch})`],
    ["sequencer handler ms p50 / p99 per batch", `${fixed(d.handlerMs.p50, 1)} / ${fixed(d.handlerMs.p99, 1)}`],
    ["stack idle (its pollers polling), cores", fixed(idleCores, 2)],
    ["fan-out caught up after the warm-up / the pipeline", `${fixed(settled.warmup, 0)} s / ${fixed(settled.pipeline, 0)} s (no DynamoDB call for ${fixed((2000 + longestWindowMs) / 1000, 0)} s: 2 s past the longest batching window; in no phase's time)`],
    ["sequencer busy during pipeline", `${fixed(d.busySeconds, 1)} s of ${fixed(pipeline.seconds, 1)} s (${fixed((100 * d.busySeconds) / pipeline.seconds)}%)`],
  ],
);

const breakdown = table(
  ["where a ?wait request's time goes (ms)", "mean", "p50", "p99"],
  Object.entries(stages).map(([name, l]) => [name, fixed(l.mean, 1), fixed(l.p50, 1), fixed(l.p99, 1)]),
);

const callTable = table(
  ["DynamoDB calls per command (pipeline)", "calls"],
  [...Object.entries(callsPerCommand).map(([name, n]) => [name, fixed(n, 2)]), ["(stream reads: the poller's own client, not counted)", ""]],
);

const verdicts = checksTable(checks);

console.log(
  [
    "",
    `Ordinal bench — ${new Date().toISOString()}, ${cpus().length} cores, Node ${process.version}, DynamoDB Local in memory`,
    `${carts} carts × ${perCart} commands, ${clients} clients; sequencer: ${seqAggregates} aggregates × ${perCart}, batches of ${SEQ_PER_BATCH} aggregates`,
    `load average before / after: ${loadBefore.map((x) => x.toFixed(1)).join(" ")} / ${loadavg().map((x) => x.toFixed(1)).join(" ")}; "other cores": CPU used meanwhile by everything but this bench and the emulators it started`,
    "",
    phases,
    "",
    ratios,
    "",
    details,
    "",
    breakdown,
    "",
    callTable,
    "",
    verdicts,
    "",
  ].join("\n"),
);

const report: Record<string, unknown> = {
  at: new Date().toISOString(),
  commit: gitCommit(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
  options: { carts, clients, perCart, seqAggregates, seqAggregatesPerBatch: SEQ_PER_BATCH },
  baselineBefore,
  pipeline,
  baselineAfter,
  ratio: { pipelineToRaw: ratio, pipelineToRawBefore: pipeline.rate / baselineBefore.rate, pipelineToRawAfter: pipeline.rate / baselineAfter.rate, goal: 0.67 },
  sequencerDuringPipeline,
  latencyStagesMs: stages,
  pipelineRateByTenth: byTenth,
  idleCores,
  settledSeconds: settled,
  cpuMsPerCommand: { raw: rawCpu, pipeline: cpuMsPer(pipeline.usage, pipeline.commands), ratio: cpuRatio },
  dynamoCallsPerCommand: callsPerCommand,
  loadAverage: { before: loadBefore, after: loadavg() },
  sequencer,
  sequencerBatchedToSingle: seqRate("batched") / seqRate("single"),
  sequencerBatchedToSingleParallel: seqRate("batched") / seqRate("single-parallel"),
  stored,
  parked,
  checks: checks.map((c) => ({ ...c, ok: c.got === c.want })),
};
console.log("");
console.log(formatPeer(peer, rawRate, idleAfter));
report.peer = peer;
report.idle = idleAfter;

if (values.fanout) {
  const fanout = await benchFanout({});
  console.log(formatFanout(fanout));
  report.fanout = fanout;
  if (!fanout.ok) failed.push({ check: "fan-out bench", got: 0, want: 1 });
}
if (values.checkout) {
  const checkout = await benchCheckout({ carts: checkoutCarts });
  console.log(formatCheckout(checkout));
  report.checkout = checkout;
  if (!checkout.ok) failed.push({ check: "checkout bench", got: 0, want: 1 });
}

mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify(report, null, 2) + "\n");
console.log(`written to ${values.out}`);

if (failed.length > 0) {
  console.error(`the bench's work did not all happen: ${failed.map((c) => c.check).join("; ")}`);
  process.exit(1);
}
