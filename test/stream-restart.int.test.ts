// The local event source mapping over DynamoDB Local's streams across restarts
// of the emulator on the same data folder. DynamoDB Local numbers records from
// one counter for all tables and, at each start, sets it to one past the
// highest record it keeps: a start with no record kept numbers again from 1,
// below the starting numbers of shards it made earlier (the commands table's
// shard starts at 2 on a new folder) and below checkpoints taken before the
// records expired. Every record written after the restart must still be delivered.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { documentClient, prefixedTableNames } from "../core/dynamo.js";
import { dynamoCheckpoints, type CheckpointStore } from "../local/checkpoints.js";
import { dynamodbStreamSource, firstSequenceOfRun } from "../local/dynamodb-stream-source.js";
import { localAwsConfig, startDynamo, type LocalDynamo } from "../local/dynamodb.js";
import { startShardPoller, type Poller, type ShardSource } from "../local/shard-poller.js";
import { createTables, ensureLocalStreamTable } from "../local/tables.js";
import { until } from "./support/wait.js";

const names = prefixedTableNames("restart-");
const dirs: string[] = [];
let running: { dynamo: LocalDynamo; poller?: Poller; close(): void } | undefined;

afterEach(async () => {
  await running?.poller?.stop();
  running?.close();
  await running?.dynamo.stop();
  running = undefined;
});
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/**
 * DynamoDB Local on `dir`, the topology's tables, and what a consumer of the
 * commands stream needs. `marked` writes the run marker, as the stack does;
 * without it the first record of the run is a command, numbered below its shard.
 */
const boot = async (dir: string, { marked = true } = {}) => {
  const dynamo = await startDynamo({ dataDir: dir });
  const client = new DynamoDBClient(localAwsConfig(dynamo.endpoint));
  const streams = new DynamoDBStreamsClient(localAwsConfig(dynamo.endpoint));
  running = { dynamo, close: () => (client.destroy(), streams.destroy()) };
  // A stream table made first, so the commands shard never starts at 1 (createTables makes its tables at once, in any order).
  await ensureLocalStreamTable(client, "restart-first", "key");
  const arns = await createTables(client, names);
  const firstOfRun = marked ? await firstSequenceOfRun(client, streams, "restart-runs") : undefined;
  const checkpoints = await dynamoCheckpoints(client, documentClient(client), "restart-checkpoints", "sequencer");
  return { db: documentClient(client), source: dynamodbStreamSource(streams, arns.commands!, firstOfRun), checkpoints };
};

/** A poller on the commands stream that records what it is handed and how often it has read. */
const consume = (source: ShardSource<DynamoDBRecord>, checkpoints: CheckpointStore) => {
  const delivered: string[] = [];
  let reads = 0;
  const counted: ShardSource<DynamoDBRecord> = { ...source, read: (...args) => (reads++, source.read(...args)) };
  running!.poller = startShardPoller({
    consumer: "sequencer",
    source: counted,
    checkpoints,
    handler: async ({ Records }) => void delivered.push(...Records.map((r) => r.dynamodb!.NewImage!.key!.S!)),
    batchSize: 100,
    retryAttempts: 0,
    onFailure: async () => {},
  });
  return { delivered, idle: () => until("the poller's first reads of the shard", async () => (reads >= 3 ? true : undefined)) };
};

const writeCommands = async (db: ReturnType<typeof documentClient>, keys: string[]) => {
  for (const key of keys) await db.send(new PutCommand({ TableName: names.commands, Item: { key, seq: 1 } }));
};

const newFolder = () => {
  const dir = mkdtempSync(join(tmpdir(), "ordinal-stream-restart-"));
  dirs.push(dir);
  return dir;
};

describe("DynamoDB stream consumers across a restart of DynamoDB Local", () => {
  it("deliver the first records written after a restart on a folder whose streams kept no record", async () => {
    // Prepare: a first run makes the tables and writes nothing; the second is polling its empty shard.
    const dir = newFolder();
    await boot(dir, { marked: false });
    await running!.dynamo.stop();
    running!.close();
    const { db, source, checkpoints } = await boot(dir, { marked: false });
    const consumer = consume(source, checkpoints);
    await consumer.idle();

    // Act
    await writeCommands(db, ["cart:a", "cart:b", "cart:c"]);

    // Assess
    await until("three records delivered", async () => (consumer.delivered.length >= 3 ? true : undefined), { timeoutMs: 10_000 }).catch((e) => { throw new Error(`${e.message}; delivered ${JSON.stringify(consumer.delivered)}`); });
    expect(consumer.delivered).toEqual(["cart:a", "cart:b", "cart:c"]);
  });

  it("read a shard from its oldest record when its checkpoint is ahead of the stream's numbering, and forget that checkpoint", async () => {
    // Prepare: a checkpoint from a numbering whose records have since expired
    // (a day without writes), as DynamoDB Local leaves it: far above this run's numbers.
    const dir = newFolder();
    await boot(dir);
    await running!.dynamo.stop();
    running!.close();
    const { db, source, checkpoints } = await boot(dir);
    const [shard] = await source.listShards();
    await checkpoints.set(shard!.id, { sequenceNumber: "000000000000000000900", done: false });
    const consumer = consume(source, checkpoints);
    await consumer.idle();

    // Act
    await writeCommands(db, ["cart:d", "cart:e"]);

    // Assess
    await until("two records delivered", async () => (consumer.delivered.length >= 2 ? true : undefined), { timeoutMs: 10_000 });
    expect(consumer.delivered).toEqual(["cart:d", "cart:e"]);
    // The poller checkpoints after the handler returns: wait for it, rather than race it.
    const kept = await until("the checkpoint taken after the new records", async () => (await checkpoints.get(shard!.id))?.sequenceNumber, { timeoutMs: 10_000 });
    expect(BigInt(kept)).toBeLessThan(900n);
  });
});
