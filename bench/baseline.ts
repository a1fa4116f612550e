// Phase 2: the one write per command the design cannot avoid — the counter
// UpdateItem of appendCommand — alone, against the same DynamoDB Local at the
// same concurrency. It writes to a table of its own, made like the commands
// table (same key, stream on, new image) but with no consumer, so the
// sequencer does not run behind it and the pipeline's data stays apart.
import { eachLimited } from "../core/each-limited.js";
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import { performance } from "node:perf_hooks";
import { cart } from "../core/cart/index.js";
import type { AnyMicroservice } from "../core/decider.js";
import type { Store } from "../core/dynamo.js";
import { appendCommand } from "../core/commands.js";
import { tables } from "../core/topology.js";
import { latency, type Latency } from "./measure.js";
import { cartCommands } from "./workload.js";

const BASELINE_TABLE = "ordinal-bench-counter";

/** Creates the baseline's table with the commands table's key and stream. */
export const createCounterTable = async (client: DynamoDBClient): Promise<void> => {
  const spec = tables.commands;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: BASELINE_TABLE,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: spec.partitionKey.name, AttributeType: "S" }],
        KeySchema: [{ AttributeName: spec.partitionKey.name, KeyType: "HASH" }],
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
};

export interface BaselineResult {
  readonly writes: number;
  readonly clients: number;
  readonly seconds: number;
  /** Counter UpdateItems per second. */
  readonly rate: number;
  readonly latencyMs: Latency;
}

/**
 * Appends the same commands the pipeline sends (`keys` carts × `perCart`), each
 * client taking the next key and appending its commands in order — the
 * pipeline's shape, without anything behind the write.
 */
export const runBaseline = async (
  store: Store,
  { keys, perCart, clients, prefix }: { keys: number; perCart: number; clients: number; prefix: string },
): Promise<BaselineResult> => {
  const counter: Store = { db: store.db, tables: { ...store.tables, commands: BASELINE_TABLE } };
  const microservice = cart as unknown as AnyMicroservice;
  const work = Array.from({ length: keys }, (_, i) => cartCommands(`${prefix}${i}`, perCart));
  const samples: number[] = [];
  let seqs = 0;
  const started = performance.now();
  await eachLimited(work, clients, async (commands) => {
    for (const envelope of commands) {
      const sent = performance.now();
      const { seq } = await appendCommand(counter, microservice, envelope, Date.now());
      samples.push(performance.now() - sent);
      seqs += seq > 0 ? 1 : 0;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const writes = keys * perCart;
  if (seqs !== writes) throw new Error(`baseline: ${writes - seqs} of ${writes} UpdateItems returned no seq`);
  return { writes, clients, seconds, rate: writes / seconds, latencyMs: latency(samples) };
};
