// Record factories for the projector: a stream's events from short specs,
// and the Kinesis and SQS events that carry them to the projector.
import type { KinesisStreamEvent, SQSEvent, SQSRecord } from "aws-lambda";
import { streamIdOf } from "../../core/keys.js";
import type { EventRecord } from "../../core/records.js";

export const T0 = Date.UTC(2026, 10, 23, 14, 0, 0);
export const MINUTE = 60_000;

export interface EventSpec {
  readonly type: string;
  readonly data?: unknown;
  /** Defaults to a minute after the previous event of the stream. */
  readonly occurredAt?: number;
  readonly user?: string;
}

/** A stream's events, versions `from`, `from + 1`, …, recorded a second after they occurred. */
export const streamEvents = (
  microservice: string,
  aggregateId: string,
  specs: readonly EventSpec[],
  { from = 1, at = T0, user = "u-1" }: { from?: number; at?: number; user?: string } = {},
): EventRecord[] => {
  const streamId = streamIdOf(microservice, aggregateId);
  return specs.map((spec, i) => {
    const version = from + i;
    const occurredAt = spec.occurredAt ?? at + (version - 1) * MINUTE;
    return {
      streamId,
      version,
      type: spec.type,
      data: spec.data ?? {},
      eventId: `${streamId}#${version}`,
      microservice,
      aggregateId,
      commandKey: streamId,
      commandSeq: version,
      commandId: `${aggregateId}/${version}`,
      user: spec.user ?? user,
      correlationId: `${streamId}/${version}`,
      causationId: `${streamId}/${version}`,
      occurredAt,
      recordedAt: occurredAt + 1_000,
    };
  });
};

export const opened = (owner = "u-1"): EventSpec => ({ type: "CartOpened", data: { owner } });
export const added = (sku: string, quantity: number, unitPrice: number, occurredAt?: number): EventSpec => ({
  type: "ItemAdded",
  data: { sku, quantity, unitPrice },
  ...(occurredAt !== undefined ? { occurredAt } : {}),
});
export const removed = (sku: string, quantity: number): EventSpec => ({ type: "ItemRemoved", data: { sku, quantity } });
export const closed = (total: number): EventSpec => ({ type: "CartClosed", data: { total } });

/** A cart's events; the owner defaults to `u-1`. */
export const cartStream = (cartId: string, specs: readonly EventSpec[], options?: { from?: number; at?: number; user?: string }) =>
  streamEvents("cart", cartId, specs, options);

const sequenceOf = (i: number) => String(49_000_000_000_000_000_000 + i).padStart(56, "0");

/** A Kinesis batch of the records, sequence numbers in order; `raw` puts any text in a record's data. */
export const kinesisEvent = (records: readonly (EventRecord | { raw: string })[]): KinesisStreamEvent => ({
  Records: records.map((record, i) => ({
    kinesis: {
      kinesisSchemaVersion: "1.0",
      partitionKey: "streamId" in record ? record.streamId : "poison",
      sequenceNumber: sequenceOf(i),
      data: Buffer.from("raw" in record ? record.raw : JSON.stringify(record)).toString("base64"),
      approximateArrivalTimestamp: T0 / 1000,
    },
    eventSource: "aws:kinesis",
    eventVersion: "1.0",
    eventID: `shardId-000000000000:${sequenceOf(i)}`,
    eventName: "aws:kinesis:record",
    invokeIdentityArn: "arn:aws:iam::000000000000:role/test",
    awsRegion: "us-east-1",
    eventSourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/all-events",
  })),
});

/** An SQS FIFO batch: group = stream id, message id = `m-<position>`. */
export const sqsEvent = (records: readonly (EventRecord | { raw: string; group: string })[]): SQSEvent => ({
  Records: records.map(
    (record, i): SQSRecord => ({
      messageId: `m-${i}`,
      receiptHandle: `r-${i}`,
      body: "raw" in record ? record.raw : JSON.stringify(record),
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: String(T0),
        SenderId: "test",
        ApproximateFirstReceiveTimestamp: String(T0),
        MessageGroupId: "raw" in record ? record.group : record.streamId,
        MessageDeduplicationId: "raw" in record ? `raw-${i}` : record.eventId,
        SequenceNumber: String(i + 1),
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:cart-summary-replay.fifo",
      awsRegion: "us-east-1",
    }),
  ),
});

/** A deterministic shuffle (seeded LCG), so a failing order can be reproduced. */
export const shuffled = <T>(items: readonly T[], seed: number): T[] => {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};
