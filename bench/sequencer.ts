// Phase 3: the sequencer alone, per-aggregate batching versus one transaction
// per command, on the same data shape: stream batches of 100 records spanning
// 10 aggregates × 10 commands, interleaved the way concurrent writers'
// records arrive on a shard. Records are built directly (as the stream would
// deliver them) for fresh aggregates, so the stack's poller never sees them.
import { eachLimited } from "../core/each-limited.js";
import { performance } from "node:perf_hooks";
import type { Store } from "../core/dynamo.js";
import { app } from "../core/app.js";
import { expandApp } from "../core/app-definition.js";

const { microservices } = expandApp(app);
import type { CommandRecord } from "../core/records.js";
import { sequence, type SequencerDeps } from "../core/sequencer/sequencer.js";
import { asRecord, cartCommands } from "./workload.js";

export type SequencerMode = "batched" | "single" | "single-parallel";

export interface SequencerResult {
  readonly mode: SequencerMode;
  readonly description: string;
  readonly commands: number;
  readonly calls: number;
  readonly seconds: number;
  readonly rate: number;
}

/** `aggregates` carts of `perCart` commands, in batches of `perBatch` aggregates, records interleaved round-robin. */
const batchesOf = (prefix: string, aggregates: number, perCart: number, perBatch: number): CommandRecord[][] => {
  const now = Date.now();
  const batches: CommandRecord[][] = [];
  for (let first = 0; first < aggregates; first += perBatch) {
    const carts = Array.from({ length: Math.min(perBatch, aggregates - first) }, (_, i) =>
      cartCommands(`${prefix}${first + i}`, perCart).map((envelope, j) => asRecord(envelope, j + 1, now)),
    );
    const batch: CommandRecord[] = [];
    for (let j = 0; j < perCart; j++) for (const commands of carts) batch.push(commands[j]!);
    batches.push(batch);
  }
  return batches;
};

const check = (result: Awaited<ReturnType<typeof sequence>>, size: number) => {
  if (result.failedAt !== undefined || result.committed !== size)
    throw new Error(`sequencer: committed ${result.committed} of ${size}, failed at ${result.failedAt}: ${result.errors.map(String).join("; ")}`);
};

export const runSequencer = async (
  store: Store,
  { mode, prefix, aggregates, perCart, perBatch }: { mode: SequencerMode; prefix: string; aggregates: number; perCart: number; perBatch: number },
): Promise<SequencerResult> => {
  const deps: SequencerDeps = { store, microservices, clock: Date.now };
  const batches = batchesOf(prefix, aggregates, perCart, perBatch);
  const commands = aggregates * perCart;
  let calls = 0;
  const started = performance.now();
  if (mode === "batched") {
    // One call per stream batch, one batch after another, as an event source
    // mapping delivers a shard.
    for (const batch of batches) {
      check(await sequence(batch, deps), batch.length);
      calls++;
    }
  } else if (mode === "single") {
    // The same records in the same order, one call (one transaction) per command.
    for (const batch of batches)
      for (const record of batch) {
        check(await sequence([record], deps), 1);
        calls++;
      }
  } else {
    // One call per command, but the batch's aggregates in parallel (each one's
    // commands in order): what is left of batching's gain once the per-command
    // path gets the same parallelism.
    for (const batch of batches) {
      const byAggregate = new Map<string, CommandRecord[]>();
      for (const record of batch) byAggregate.set(record.key, [...(byAggregate.get(record.key) ?? []), record]);
      await eachLimited([...byAggregate.values()], byAggregate.size, async (records) => {
        for (const record of records) {
          check(await sequence([record], deps), 1);
          calls++;
        }
      });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const description = {
    batched: `${perBatch * perCart} records (${perBatch} aggregates × ${perCart}) per call, calls in turn`,
    single: "1 record per call, calls in turn",
    "single-parallel": `1 record per call, ${perBatch} aggregates in parallel`,
  }[mode];
  return { mode, description, commands, calls, seconds, rate: commands / seconds };
};
