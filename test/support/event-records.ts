// Record factories for the fan-out: event records as the events table holds
// them, the events table's stream events that carry them to the publisher,
// and Kinesis records as Lambda hands them to the archiver.
// (Reconstructed from its uses after it was overwritten by mistake; see the
// projections work's report.)
import type { _Record } from "@aws-sdk/client-kinesis";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent, KinesisStreamRecord } from "aws-lambda";
import { parseStreamId, streamIdOf } from "../../core/keys.js";
import type { EventRecord } from "../../core/records.js";

export const RECORDED_AT = 1_700_000_000_000;

/** An event record with everything the events table holds; microservice and aggregate come from the stream id. */
export const eventRecord = (fields: Pick<EventRecord, "streamId" | "version"> & Partial<EventRecord>): EventRecord => {
  const { microservice, aggregateId } = parseStreamId(fields.streamId) ?? { microservice: "cart", aggregateId: fields.streamId };
  return {
    type: "ItemAdded",
    data: {},
    eventId: `${fields.streamId}#${fields.version}`,
    microservice,
    aggregateId,
    commandKey: fields.streamId,
    commandSeq: fields.version,
    commandId: `${aggregateId}/${fields.version}`,
    user: "u-1",
    correlationId: `${fields.streamId}/${fields.version}`,
    causationId: `${fields.streamId}/${fields.version}`,
    occurredAt: RECORDED_AT + fields.version,
    recordedAt: RECORDED_AT + fields.version,
    ...fields,
  };
};

/** A cart's events: opened, `items` items added, then closed when `close`. */
export const cartEvents = (cartId: string, items: number, close: boolean): EventRecord[] => {
  const streamId = streamIdOf("cart", cartId);
  const events: Pick<EventRecord, "type" | "data">[] = [
    { type: "CartOpened", data: { owner: "u-1" } },
    ...Array.from({ length: items }, (_, i) => ({ type: "ItemAdded", data: { sku: `sku-${i}`, quantity: 1, unitPrice: 100 } })),
    ...(close ? [{ type: "CartClosed", data: { total: items * 100 } }] : []),
  ];
  return events.map((e, i) => eventRecord({ streamId, version: i + 1, ...e }));
};

/** Streams mixed round-robin, each stream's events still in order: what one stream batch holds. */
export const interleave = (streams: readonly (readonly EventRecord[])[]): EventRecord[] => {
  const mixed: EventRecord[] = [];
  for (let i = 0; mixed.length < streams.reduce((n, s) => n + s.length, 0); i++)
    for (const stream of streams) if (i < stream.length) mixed.push(stream[i]!);
  return mixed;
};

/** The events table's stream delivering `events` as INSERTs, sequence numbers from `firstSequence` on. */
export const eventsTableStreamEvent = (events: readonly EventRecord[], firstSequence = 100): DynamoDBStreamEvent => ({
  Records: events.map((event, i) => {
    const sequenceNumber = String(firstSequence + i).padStart(21, "0");
    return {
      eventID: sequenceNumber,
      eventName: "INSERT",
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: "local",
      eventSourceARN: "arn:aws:dynamodb:local:000000000000:table/events/stream/2024-01-01T00:00:00.000",
      dynamodb: {
        Keys: marshall({ streamId: event.streamId, version: event.version }) as unknown as Record<string, AttributeValue>,
        NewImage: marshall(event, { removeUndefinedValues: true }) as unknown as Record<string, AttributeValue>,
        SequenceNumber: sequenceNumber,
        SizeBytes: 256,
        StreamViewType: "NEW_IMAGE",
      },
    };
  }),
});

/** One stream record of the events table, any kind, for handlers that must tell inserts from the rest. */
export const eventStreamRecord = (event: EventRecord, sequenceNumber: string, eventName: DynamoDBRecord["eventName"] = "INSERT"): DynamoDBRecord => ({
  eventName,
  dynamodb: { SequenceNumber: sequenceNumber, NewImage: marshall(event, { removeUndefinedValues: true }) as unknown as Record<string, AttributeValue> },
});

/** A record as Lambda delivers it: base64 data, arrival time in seconds, eventID `<shard>:<seq>`. */
export const kinesisRecord = (
  data: string,
  { shardId, sequenceNumber, arrivedAt, partitionKey }: { shardId: string; sequenceNumber: string; arrivedAt: Date; partitionKey: string },
): KinesisStreamRecord => ({
  awsRegion: "us-east-1",
  eventID: `${shardId}:${sequenceNumber}`,
  eventName: "aws:kinesis:record",
  eventSource: "aws:kinesis",
  eventSourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/all-events",
  eventVersion: "1.0",
  invokeIdentityArn: "arn:aws:iam::000000000000:role/test",
  kinesis: {
    approximateArrivalTimestamp: arrivedAt.getTime() / 1000,
    data: Buffer.from(data).toString("base64"),
    kinesisSchemaVersion: "1.0",
    partitionKey,
    sequenceNumber,
  },
});

/** GetRecords' records of one shard, as the event source mapping would hand them to Lambda. */
export const fromGetRecords = (shardId: string, records: readonly _Record[]): KinesisStreamRecord[] =>
  records.map((r) =>
    kinesisRecord(Buffer.from(r.Data!).toString("utf8"), {
      shardId,
      sequenceNumber: r.SequenceNumber!,
      arrivedAt: r.ApproximateArrivalTimestamp!,
      partitionKey: r.PartitionKey!,
    }),
  );
