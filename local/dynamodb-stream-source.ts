// DynamoDB Streams as a shard source, its records in the shape Lambda hands a handler.
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type DynamoDBStreamsClient,
} from "@aws-sdk/client-dynamodb-streams";
import { PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { dynamodbLambdaRecord as toLambdaRecord } from "../core/stream-records.js";
import { randomUUID } from "node:crypto";
import type { ShardSource } from "./shard-poller.js";
import { ensureLocalStreamTable } from "./tables.js";

/**
 * DynamoDB Local numbers stream records from one counter for all its tables,
 * and at each start sets it to one past the highest record it still keeps, so
 * a start with no record kept (a new data folder, or a day without writes)
 * numbers again from 1: below the starting numbers of the shards it already
 * has, and below checkpoints taken on them. This writes one marker record and
 * answers its number: every record written later in this run is above it.
 */
export const firstSequenceOfRun = async (dynamo: DynamoDBClient, client: DynamoDBStreamsClient, table: string): Promise<string> => {
  const streamArn = await ensureLocalStreamTable(dynamo, table, "run");
  const run = randomUUID();
  await dynamo.send(new PutItemCommand({ TableName: table, Item: { run: { S: "latest" }, id: { S: run } } }));
  const source = dynamodbStreamSource(client, streamArn);
  for (const { id } of await source.listShards()) {
    let iterator = await source.iterator(id);
    while (iterator) {
      const page = await source.read(id, iterator, 1000);
      const marker = page.records.find((r) => r.dynamodb?.NewImage?.id?.S === run);
      if (marker) return source.sequenceOf(marker);
      if (page.records.length === 0) break;
      iterator = page.next;
    }
  }
  throw new Error(`the run marker written to ${table} is not in its stream`);
};

/** The iterator handed out for "the oldest record kept": the real one is taken at read time (see `read`). */
const HORIZON = "trim-horizon";

/** `firstOfRun` (from firstSequenceOfRun) tells checkpoints of an earlier numbering from this run's. */
export const dynamodbStreamSource = (client: DynamoDBStreamsClient, streamArn: string, firstOfRun?: string): ShardSource<DynamoDBRecord> => {
  const shardIterator = async (shardId: string, after?: string) =>
    (
      await client.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ...(after ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: after } : { ShardIteratorType: "TRIM_HORIZON" }),
        }),
      )
    ).ShardIterator;
  const trimHorizon = (shardId: string) => shardIterator(shardId);
  const iterator = async (shardId: string, after?: string): Promise<string | undefined> => {
    if (!after) return HORIZON;
    try {
      return await shardIterator(shardId, after);
    } catch (error) {
      // The checkpoint is older than the stream's retention: resume at the oldest record kept.
      if (error instanceof TrimmedDataAccessException) return HORIZON;
      throw error;
    }
  };
  const page = async (shardIterator: string, limit: number) => {
    const { Records = [], NextShardIterator } = await client.send(new GetRecordsCommand({ ShardIterator: shardIterator, Limit: limit }));
    return { records: Records.map((r) => toLambdaRecord(r, streamArn)), next: NextShardIterator };
  };
  return {
    async listShards() {
      const shards: { id: string; parent?: string }[] = [];
      let start: string | undefined;
      do {
        const page = await client.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
        for (const shard of page.StreamDescription?.Shards ?? []) shards.push({ id: shard.ShardId!, parent: shard.ParentShardId });
        start = page.StreamDescription?.LastEvaluatedShardId;
      } while (start);
      return shards;
    },
    iterator,
    async read(shardId, shardIterator, limit) {
      if (shardIterator !== HORIZON) return page(shardIterator, limit);
      // DynamoDB Local answers TRIM_HORIZON on an empty shard with the shard's
      // starting number, and after a restart it can number new records below
      // that. So TRIM_HORIZON is asked at each read until the shard holds a
      // record, and once more then: only an iterator taken on a shard that
      // already held a record starts at its oldest one.
      const first = await page((await trimHorizon(shardId))!, limit);
      if (first.records.length === 0) return { records: [], next: first.next && HORIZON };
      return page((await trimHorizon(shardId))!, limit);
    },
    sequenceOf: (record) => record.dynamodb!.SequenceNumber!,
    arrivalOf: (record) => (record.dynamodb?.ApproximateCreationDateTime === undefined ? undefined : record.dynamodb.ApproximateCreationDateTime * 1000),
    isAhead: (sequenceNumber) => firstOfRun !== undefined && BigInt(sequenceNumber) >= BigInt(firstOfRun),
  };
};
