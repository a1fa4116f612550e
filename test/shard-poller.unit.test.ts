// The local event source mapping's shard lineage, over an in-memory shard
// source: shards close and children open (DynamoDB Streams rolls a shard over
// every few hours, and can do so while the stack is down); a child is read
// only once its parent is drained, so a stream's order survives the rollover.
import { afterEach, describe, expect, it } from "vitest";
import type { Checkpoint, CheckpointStore } from "../local/checkpoints.js";
import { startShardPoller, type Poller, type ShardSource } from "../local/shard-poller.js";
import { doorbell, type Doorbell } from "../local/doorbell.js";
import { until } from "./support/wait.js";

interface Shard {
  readonly parent?: string;
  readonly records: string[];
  closed: boolean;
}

/** Shards whose records are `<shard>:<n>` strings; sequence numbers are the records themselves. */
const memorySource = (shards: Map<string, Shard>): ShardSource<string> => ({
  listShards: async () => [...shards].map(([id, s]) => ({ id, parent: s.parent })),
  iterator: async (shardId, after) => `${shardId}|${after === undefined ? 0 : shards.get(shardId)!.records.indexOf(after) + 1}`,
  read: async (shardId, iterator, limit) => {
    const shard = shards.get(shardId)!;
    const from = Number(iterator.split("|")[1]);
    const records = shard.records.slice(from, from + limit);
    const end = from + records.length;
    return { records, next: shard.closed && end === shard.records.length ? undefined : `${shardId}|${end}` };
  },
  sequenceOf: (record) => record,
});

const memoryCheckpoints = (kept = new Map<string, Checkpoint>()): CheckpointStore & { kept: Map<string, Checkpoint> } => ({
  kept,
  get: async (shardId) => kept.get(shardId),
  set: async (shardId, checkpoint) => void kept.set(shardId, checkpoint),
});

let poller: Poller | undefined;
afterEach(async () => {
  await poller?.stop();
  poller = undefined;
});

const consume = (shards: Map<string, Shard>, checkpoints: CheckpointStore, bell?: Doorbell) => {
  const delivered: string[] = [];
  poller = startShardPoller({
    consumer: "test",
    source: memorySource(shards),
    checkpoints,
    // The parent's batches take a while, so a child read too early would get in between.
    handler: async ({ Records }) => {
      if (Records[0]!.startsWith("p:")) await new Promise((resolve) => setTimeout(resolve, 30));
      delivered.push(...Records);
    },
    batchSize: 2,
    retryAttempts: 0,
    onFailure: async () => {},
    idleMs: 5,
    discoverMs: 50,
    // With a doorbell, an idle shard sleeps ten minutes: only a ring reads it sooner.
    ...(bell ? { doorbell: bell, idleMs: 600_000, maxIdleMs: 600_000 } : {}),
  });
  return delivered;
};

describe("shard lineage", () => {
  it("delivers what a parent closed while the stack was down still held, then its child's records", async () => {
    // Prepare: the parent was read up to p:1 before the stop; it closed with p:2 and p:3 unread.
    const shards = new Map<string, Shard>([
      ["p", { records: ["p:1", "p:2", "p:3"], closed: true }],
      ["c", { parent: "p", records: ["c:1", "c:2"], closed: false }],
    ]);
    const checkpoints = memoryCheckpoints(new Map([["p", { sequenceNumber: "p:1", done: false }]]));

    // Act
    const delivered = consume(shards, checkpoints);

    // Assess
    await until("every record delivered", async () => (delivered.length >= 4 ? true : undefined), { timeoutMs: 5_000 });
    expect(delivered).toEqual(["p:2", "p:3", "c:1", "c:2"]);
    expect(checkpoints.kept.get("p")).toEqual({ sequenceNumber: "p:3", done: true });
  });

  it("follows a shard that rolls over while the stack runs idle, and loses nothing written around the rollover", async () => {
    // Prepare
    const shards = new Map<string, Shard>([["p", { records: ["p:1"], closed: false }]]);
    const delivered = consume(shards, memoryCheckpoints());
    await until("the parent's first record", async () => (delivered.length >= 1 ? true : undefined), { timeoutMs: 5_000 });

    // Act: a last record, the rollover, and records in the child.
    shards.get("p")!.records.push("p:2");
    shards.get("p")!.closed = true;
    shards.set("c", { parent: "p", records: ["c:1"], closed: false });
    shards.get("c")!.records.push("c:2");

    // Assess
    await until("every record delivered", async () => (delivered.length >= 4 ? true : undefined), { timeoutMs: 5_000 });
    expect(delivered).toEqual(["p:1", "p:2", "c:1", "c:2"]);
  });

  it("starts a child at once when its parent is gone from the stream (trimmed away)", async () => {
    // Prepare
    const shards = new Map<string, Shard>([["c", { parent: "trimmed", records: ["c:1"], closed: false }]]);

    // Act
    const delivered = consume(shards, memoryCheckpoints());

    // Assess
    await until("the child's record", async () => (delivered.length >= 1 ? true : undefined), { timeoutMs: 5_000 });
    expect(delivered).toEqual(["c:1"]);
  });
});

describe("the doorbell", () => {
  it("reads a shard sleeping for minutes as soon as its source is written and the bell rung", async () => {
    // Prepare: the shard goes idle after its first record; with no ring it would sleep ten minutes.
    const shards = new Map<string, Shard>([["s", { records: ["s:1"], closed: false }]]);
    const bell = doorbell();
    const delivered = consume(shards, memoryCheckpoints(), bell);
    await until("the first record", async () => (delivered.length >= 1 ? true : undefined), { timeoutMs: 5_000 });

    // Act
    shards.get("s")!.records.push("s:2");
    bell.ring();

    // Assess: delivered long before the ten minutes it would otherwise sleep.
    await until("the record written after the ring", async () => (delivered.length >= 2 ? true : undefined), { timeoutMs: 5_000 });
    expect(delivered).toEqual(["s:1", "s:2"]);
  });

  it("does not lose a ring that comes while the waiter is busy", async () => {
    const bell = doorbell();
    const seen = bell.rings;
    bell.ring(); // during the waiter's read
    expect(await bell.wait(600_000, seen)).toBe(true);
    expect(await bell.wait(10, bell.rings)).toBe(false);
  });
});

describe("the batching window", () => {
  const gather = (shards: Map<string, Shard>, bell: Doorbell, batchSize: number, batchingWindowMs: number) => {
    const batches: string[][] = [];
    poller = startShardPoller({
      consumer: "test",
      source: memorySource(shards),
      checkpoints: memoryCheckpoints(),
      handler: async ({ Records }) => void batches.push([...Records]),
      batchSize,
      batchingWindowMs,
      retryAttempts: 0,
      onFailure: async () => {},
      idleMs: 5,
      discoverMs: 50,
      doorbell: bell,
    });
    return batches;
  };

  it("gathers records written one by one into one batch, delivered once it is full", async () => {
    // Prepare: a window of ten minutes, so only a full batch goes.
    const shards = new Map<string, Shard>([["s", { records: [], closed: false }]]);
    const bell = doorbell();
    const batches = gather(shards, bell, 3, 600_000);

    // Act: four writes, each ringing, with the poller reading between them: the fourth waits for the next batch.
    for (const record of ["s:1", "s:2", "s:3", "s:4"]) {
      shards.get("s")!.records.push(record);
      bell.ring();
      await new Promise((resolve) => setTimeout(resolve, 30));
    }

    // Assess
    await until("a full batch", async () => (batches.length >= 1 ? true : undefined), { timeoutMs: 5_000 });
    expect(batches).toEqual([["s:1", "s:2", "s:3"]]);
  });

  it("delivers a batch that is not full when its window ends", async () => {
    const shards = new Map<string, Shard>([["s", { records: [], closed: false }]]);
    const bell = doorbell();
    const batches = gather(shards, bell, 100, 1_000);
    shards.get("s")!.records.push("s:1");
    bell.ring();
    await new Promise((resolve) => setTimeout(resolve, 30));
    shards.get("s")!.records.push("s:2");
    bell.ring();
    await until("the window's batch", async () => (batches.length >= 1 ? true : undefined), { timeoutMs: 5_000 });
    expect(batches).toEqual([["s:1", "s:2"]]);
  });
});

describe("a consumer's lag", () => {
  it("is the age of the oldest record read and not yet handled, and 0 once it is handled", async () => {
    // Prepare: records that arrived 5 s ago, and a handler that holds the batch until let go
    const arrived = Date.now() - 5_000;
    const shards = new Map<string, Shard>([["s", { records: ["s:1", "s:2"], closed: false }]]);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let delivered = false;
    poller = startShardPoller({
      consumer: "test",
      source: { ...memorySource(shards), arrivalOf: () => arrived },
      checkpoints: memoryCheckpoints(),
      handler: async () => {
        await held;
        delivered = true;
      },
      batchSize: 10,
      retryAttempts: 0,
      onFailure: async () => {},
      idleMs: 5,
      discoverMs: 50,
    });

    // Act
    await until("the batch in the handler", async () => (poller!.lagMs!() > 0 ? true : undefined), { timeoutMs: 5_000 });
    const behind = poller.lagMs!();
    release();
    await until("the batch handled", async () => (delivered ? true : undefined), { timeoutMs: 5_000 });
    await until("the lag back to 0", async () => (poller!.lagMs!() === 0 ? true : undefined), { timeoutMs: 5_000 });

    // Assess
    expect(behind).toBeGreaterThanOrEqual(5_000);
    expect(poller.lagMs!()).toBe(0);
  });
});
