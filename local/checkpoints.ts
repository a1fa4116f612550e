// Where local pollers remember, per consumer and shard, the last sequence number
// they delivered: the part of Lambda's event source mapping that survives restarts.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ensureLocalTable } from "./tables.js";
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface Checkpoint {
  /** Last sequence number handled (delivered or parked). */
  readonly sequenceNumber?: string;
  /** The shard is closed and every record of it was handled. */
  readonly done: boolean;
}

export interface CheckpointStore {
  get(shardId: string): Promise<Checkpoint | undefined>;
  set(shardId: string, checkpoint: Checkpoint): Promise<void>;
}

/** Checkpoints kept in a table of the same DynamoDB Local, so they live exactly as long as the data. */
export const dynamoCheckpoints = async (
  client: DynamoDBClient,
  db: DynamoDBDocumentClient,
  table: string,
  consumer: string,
): Promise<CheckpointStore> => {
  await ensureLocalTable(client, table, "consumer", "shardId");
  return {
    async get(shardId) {
      const { Item } = await db.send(new GetCommand({ TableName: table, Key: { consumer, shardId }, ConsistentRead: true }));
      return Item ? { sequenceNumber: Item.sequenceNumber as string | undefined, done: Item.done === true } : undefined;
    },
    async set(shardId, checkpoint) {
      await db.send(new PutCommand({ TableName: table, Item: { consumer, shardId, ...checkpoint } }));
    },
  };
};

export interface LaggingCheckpoints extends CheckpointStore {
  /** Waits out the lag, then writes every checkpoint taken: for a clean stop, while the emulators still run. */
  settle(): Promise<void>;
}

/**
 * Checkpoints that reach `inner` only `lagMs` after they were taken, for the
 * consumers that read from or write to an emulator that can lose its last
 * moments in a crash (kinesis-local writes its state to disk every second, and
 * numbers new records after a reload among the lost ones'). So a stored
 * checkpoint never points past what the emulator kept: after a crash the
 * consumer delivers the last `lagMs` again, which the consumers downstream
 * de-duplicate, rather than skip what was lost.
 */
export const laggingCheckpoints = (inner: CheckpointStore, lagMs: number, onError: (error: unknown) => void = () => {}): LaggingCheckpoints => {
  const pending = new Map<string, { checkpoint: Checkpoint; at: number }[]>();
  let writing = Promise.resolve();
  // One write at a time, in order; a failed one keeps its entries for the next.
  const write = (olderThan: number) =>
    (writing = writing
      .then(async () => {
        for (const [shardId, queue] of pending) {
          const due = queue.filter((entry) => entry.at <= olderThan);
          if (due.length === 0) continue;
          await inner.set(shardId, due.at(-1)!.checkpoint);
          queue.splice(0, due.length);
        }
      })
      .catch(onError));
  // A timer only while checkpoints wait: an idle consumer costs nothing.
  let timer: NodeJS.Timeout | undefined;
  let settling = false;
  const schedule = () => {
    if (timer || settling) return;
    const oldest = Math.min(...[...pending.values()].flatMap((queue) => (queue.length ? [queue[0]!.at] : [])));
    if (!Number.isFinite(oldest)) return;
    timer = setTimeout(() => {
      timer = undefined;
      void write(Date.now() - lagMs).then(schedule);
    }, Math.max(50, oldest + lagMs - Date.now()));
    timer.unref();
  };
  return {
    async get(shardId) {
      return pending.get(shardId)?.at(-1)?.checkpoint ?? inner.get(shardId);
    },
    async set(shardId, checkpoint) {
      // A checkpoint with no position (one forgotten) cannot point past lost data: it goes through at once.
      if (checkpoint.sequenceNumber === undefined && !checkpoint.done) {
        pending.delete(shardId);
        await writing;
        return inner.set(shardId, checkpoint);
      }
      pending.set(shardId, [...(pending.get(shardId) ?? []), { checkpoint, at: Date.now() }]);
      schedule();
    },
    async settle() {
      settling = true;
      clearTimeout(timer);
      const newest = Math.max(0, ...[...pending.values()].flatMap((queue) => queue.map((entry) => entry.at)));
      const wait = newest + lagMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await write(Number.POSITIVE_INFINITY);
    },
  };
};
