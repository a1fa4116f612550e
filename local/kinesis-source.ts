// A Kinesis stream as a shard source, its records in the shape Lambda hands a handler.
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record,
} from "@aws-sdk/client-kinesis";
import type { KinesisStreamRecord } from "aws-lambda";
import type { ShardSource } from "./shard-poller.js";

const toLambdaRecord = (record: _Record, shardId: string, streamArn: string): KinesisStreamRecord => ({
  eventSource: "aws:kinesis",
  eventVersion: "1.0",
  eventID: `${shardId}:${record.SequenceNumber}`,
  eventName: "aws:kinesis:record",
  invokeIdentityArn: "local",
  awsRegion: "us-east-1",
  eventSourceARN: streamArn,
  kinesis: {
    kinesisSchemaVersion: "1.0",
    partitionKey: record.PartitionKey!,
    sequenceNumber: record.SequenceNumber!,
    data: Buffer.from(record.Data ?? new Uint8Array()).toString("base64"),
    approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
  },
});

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
      return { records: (page.Records ?? []).map((r) => toLambdaRecord(r, shardId, streamArn)), next: page.NextShardIterator };
    },
    sequenceOf: (record) => record.kinesis.sequenceNumber,
  };
};
