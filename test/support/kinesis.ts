// Reading a Kinesis stream back, as a test checks what was put on it.
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient, type _Record } from "@aws-sdk/client-kinesis";
import type { EventRecord } from "../../core/records.js";

/** Every record of one shard, from the start, in the shard's order. */
export const readShard = async (kinesis: KinesisClient, streamName: string, shardId: string): Promise<_Record[]> => {
  const records: _Record[] = [];
  let { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }));
  while (ShardIterator) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
    records.push(...(page.Records ?? []));
    ShardIterator = page.Records?.length ? page.NextShardIterator : undefined;
  }
  return records;
};

/** Every record of every shard of a stream, from the start, in each shard's order. */
export const readStream = async (kinesis: KinesisClient, streamName: string): Promise<{ shardId: string; records: _Record[] }[]> => {
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  return Promise.all(Shards.map(async ({ ShardId }) => ({ shardId: ShardId!, records: await readShard(kinesis, streamName, ShardId!) })));
};

/** The event a record carries. */
export const decode = (record: _Record) => JSON.parse(Buffer.from(record.Data!).toString("utf8")) as EventRecord;
