// Plays Lambda's DynamoDB Streams event source mapping: batches per shard in
// order, partial batch failures resumed from the failed record, bounded
// retries, a failure destination, checkpoints, and shard lineage.
import {
  DescribeStreamCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type _Record,
  type DynamoDBStreamsClient,
  type Shard,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import type { CheckpointStore } from "./checkpoints.js";

export interface ParkedBatch {
  readonly consumer: string;
  readonly shardId: string;
  readonly records: readonly DynamoDBRecord[];
  readonly error: string;
  readonly attempts: number;
}

export interface StreamPollerOptions {
  readonly consumer: string;
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly checkpoints: CheckpointStore;
  readonly handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  readonly batchSize: number;
  /** Retries after the first failed attempt; then the rest of the batch is parked. */
  readonly retryAttempts: number;
  readonly onFailure: (batch: ParkedBatch) => Promise<void>;
  /** Pause between polls of an idle shard. */
  readonly idleMs?: number;
  /** Pause between re-reads of the shard list. */
  readonly discoverMs?: number;
  readonly log?: (message: string, extra?: Record<string, unknown>) => void;
}

export interface StreamPoller {
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Attribute = Record<string, unknown>;

/**
 * DynamoDB Local writes an empty map into stream images as `{}` instead of
 * `{"M":{}}`, which no unmarshaller accepts. An attribute value with no type at
 * all can only be that (an empty list keeps its `L`), so restore it.
 */
const repairImage = (image: Record<string, Attribute> | undefined): Record<string, Attribute> | undefined =>
  image && Object.fromEntries(Object.entries(image).map(([name, value]) => [name, repairValue(value)]));

const repairValue = (value: Attribute): Attribute => {
  if (Object.keys(value).length === 0) return { M: {} };
  if (value.M) return { M: repairImage(value.M as Record<string, Attribute>) };
  if (value.L) return { L: (value.L as Attribute[]).map(repairValue) };
  return value;
};

/** The SDK's stream record in the shape Lambda hands a handler. */
const toLambdaRecord = (record: _Record, streamArn: string): DynamoDBRecord => ({
  eventID: record.eventID,
  eventName: record.eventName,
  eventVersion: record.eventVersion,
  eventSource: "aws:dynamodb",
  awsRegion: record.awsRegion,
  eventSourceARN: streamArn,
  dynamodb: {
    ...record.dynamodb,
    NewImage: repairImage(record.dynamodb?.NewImage as Record<string, Attribute> | undefined),
    OldImage: repairImage(record.dynamodb?.OldImage as Record<string, Attribute> | undefined),
    ApproximateCreationDateTime: record.dynamodb?.ApproximateCreationDateTime
      ? record.dynamodb.ApproximateCreationDateTime.getTime() / 1000
      : undefined,
  } as DynamoDBRecord["dynamodb"],
});

export const startStreamPoller = (options: StreamPollerOptions): StreamPoller => {
  const { client, streamArn, checkpoints, consumer } = options;
  const idleMs = options.idleMs ?? 25;
  const discoverMs = options.discoverMs ?? 1000;
  const log = options.log ?? (() => {});
  let stopped = false;
  const workers = new Map<string, Promise<void>>();
  const finished = new Set<string>();

  const listShards = async (): Promise<Shard[]> => {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const page = await client.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
      shards.push(...(page.StreamDescription?.Shards ?? []));
      start = page.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards;
  };

  const iteratorFor = async (shardId: string, after?: string): Promise<string | undefined> => {
    try {
      const { ShardIterator } = await client.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ...(after ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: after } : { ShardIteratorType: "TRIM_HORIZON" }),
        }),
      );
      return ShardIterator;
    } catch (error) {
      if (!(error instanceof TrimmedDataAccessException) || !after) throw error;
      log("checkpoint is past the stream's retention; resuming at the oldest record", { consumer, shardId });
      return iteratorFor(shardId);
    }
  };

  /** Delivers one batch until it succeeds or is parked; returns once every record is handled. */
  const deliver = async (shardId: string, batch: DynamoDBRecord[]) => {
    let rest = batch;
    let attempts = 0;
    let lastError = "";
    while (rest.length > 0 && !stopped) {
      let failedAt = -1;
      try {
        const response = await options.handler({ Records: rest });
        const failure = response?.batchItemFailures?.[0]?.itemIdentifier;
        if (failure !== undefined) {
          failedAt = rest.findIndex((r) => r.dynamodb?.SequenceNumber === failure);
          // An identifier that names no record fails the whole batch, as on Lambda.
          if (failedAt < 0) failedAt = 0;
          lastError = `handler reported ${failure} as failed`;
        }
      } catch (error) {
        failedAt = 0;
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (failedAt < 0) return checkpoint(shardId, rest.at(-1)!);
      if (failedAt > 0) {
        await checkpoint(shardId, rest[failedAt - 1]!);
        rest = rest.slice(failedAt);
      }
      attempts++;
      if (attempts > options.retryAttempts) {
        await options.onFailure({ consumer, shardId, records: rest, error: lastError, attempts });
        log("batch parked in the failure destination", { consumer, shardId, records: rest.length, error: lastError });
        return checkpoint(shardId, rest.at(-1)!);
      }
      await sleep(Math.min(2000, 50 * 2 ** (attempts - 1)));
    }
  };

  const checkpoint = (shardId: string, record: DynamoDBRecord) =>
    checkpoints.set(shardId, { sequenceNumber: record.dynamodb!.SequenceNumber!, done: false });

  const runShard = async (shardId: string) => {
    const saved = await checkpoints.get(shardId);
    if (saved?.done) return;
    let iterator = await iteratorFor(shardId, saved?.sequenceNumber);
    let last = saved?.sequenceNumber;
    while (iterator && !stopped) {
      let page;
      try {
        page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: options.batchSize }));
      } catch (error) {
        // A TRIM_HORIZON iterator on a brand-new DynamoDB Local stream can be
        // refused as trimmed until the first record exists: wait, then ask again.
        if (error instanceof TrimmedDataAccessException) await sleep(idleMs * 4);
        else if (!(error instanceof ExpiredIteratorException)) throw error;
        iterator = await iteratorFor(shardId, last);
        continue;
      }
      const records = (page.Records ?? []).map((r) => toLambdaRecord(r, streamArn));
      if (records.length > 0) {
        await deliver(shardId, records);
        if (stopped) return;
        last = records.at(-1)!.dynamodb!.SequenceNumber;
      }
      iterator = page.NextShardIterator;
      if (records.length === 0 && iterator) await sleep(idleMs);
    }
    // No next iterator: the shard is closed and drained, its children may start.
    if (!stopped) await checkpoints.set(shardId, { sequenceNumber: last, done: true });
  };

  const discover = async () => {
    const shards = await listShards();
    const known = new Set(shards.map((s) => s.ShardId!));
    for (const shard of shards) {
      const id = shard.ShardId!;
      if (workers.has(id) || finished.has(id)) continue;
      const parent = shard.ParentShardId;
      // A child is read only after its parent is drained (or trimmed away).
      if (parent && known.has(parent) && !finished.has(parent) && !(await checkpoints.get(parent))?.done) continue;
      const worker = runShard(id)
        .then(() => {
          if (!stopped) finished.add(id);
        })
        .catch((error) => log("shard reader failed; it restarts from its checkpoint", { consumer, shardId: id, error: String(error) }))
        .finally(() => workers.delete(id));
      workers.set(id, worker);
    }
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await discover();
      } catch (error) {
        log("listing shards failed", { consumer, error: String(error) });
      }
      for (let waited = 0; waited < discoverMs && !stopped; waited += 50) await sleep(50);
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.allSettled([...workers.values()]);
    },
  };
};
