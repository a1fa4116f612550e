// A Kinesis stream as a shard source, its records in the shape Lambda hands a handler.
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from "@aws-sdk/client-kinesis";
import type { KinesisStreamRecord } from "aws-lambda";
import { kinesisLambdaRecord } from "../core/stream-records.js";
import type { ShardSource } from "./shard-poller.js";

export const kinesisSource = (client: KinesisClient, streamName: string, streamArn: string): ShardSource<KinesisStreamRecord> => {
  return {
    async listShards() {
      const shards: { id: string; parent?: string }[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: streamName }));
        for (const shard of page.Shards ?? []) shards.push({ id: shard.ShardId!, parent: shard.ParentShardId });
        token = page.NextToken;
      } while (token);
      return shards;
    },
    async iterator(shardId, after) {
      const { ShardIterator } = await client.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ...(after ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: after } : { ShardIteratorType: "TRIM_HORIZON" }),
        }),
      );
      return ShardIterator;
    },
    async read(shardId, shardIterator, limit) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: shardIterator, Limit: limit }));
      return { records: (page.Records ?? []).map((r) => kinesisLambdaRecord(r, shardId, streamArn)), next: page.NextShardIterator };
    },
    sequenceOf: (record) => record.kinesis.sequenceNumber,
    arrivalOf: (record) => record.kinesis.approximateArrivalTimestamp * 1000,
  };
};
