// Records as DynamoDB Streams' and Kinesis' GetRecords answer them, turned into
// the shape Lambda's event source mapping hands a handler: what the local
// pollers deliver, and what a redrive re-reads from a stream on AWS.
import type { _Record as DynamoDBStreamRecord } from "@aws-sdk/client-dynamodb-streams";
import type { _Record as KinesisRecord } from "@aws-sdk/client-kinesis";
import type { DynamoDBRecord, KinesisStreamRecord } from "aws-lambda";

type Attribute = Record<string, unknown>;

/**
 * DynamoDB Local writes an empty map into stream images as `{}` instead of
 * `{"M":{}}`, which no unmarshaller accepts. An attribute value with no type at
 * all can only be that (an empty list keeps its `L`), so restore it; on AWS
 * there is nothing to restore.
 */
const repairImage = (image: Record<string, Attribute> | undefined): Record<string, Attribute> | undefined =>
  image && Object.fromEntries(Object.entries(image).map(([name, value]) => [name, repairValue(value)]));

const repairValue = (value: Attribute): Attribute => {
  if (Object.keys(value).length === 0) return { M: {} };
  if (value.M) return { M: repairImage(value.M as Record<string, Attribute>) };
  if (value.L) return { L: (value.L as Attribute[]).map(repairValue) };
  return value;
};

export const dynamodbLambdaRecord = (record: DynamoDBStreamRecord, streamArn: string): DynamoDBRecord => ({
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

/** `invoker` stands where Lambda names the function's role: the local poller, or a redrive. */
export const kinesisLambdaRecord = (record: KinesisRecord, shardId: string, streamArn: string, invoker = "local", region = "us-east-1"): KinesisStreamRecord => ({
  eventSource: "aws:kinesis",
  eventVersion: "1.0",
  eventID: `${shardId}:${record.SequenceNumber}`,
  eventName: "aws:kinesis:record",
  invokeIdentityArn: invoker,
  awsRegion: region,
  eventSourceARN: streamArn,
  kinesis: {
    kinesisSchemaVersion: "1.0",
    partitionKey: record.PartitionKey!,
    sequenceNumber: record.SequenceNumber!,
    data: Buffer.from(record.Data ?? new Uint8Array()).toString("base64"),
    approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
  },
});
