// New events → the Kinesis "all events" stream (in order per stream) and the SNS
// topic (with attributes for subscription filters).
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from "@aws-sdk/client-kinesis";
import { PublishBatchCommand, type PublishBatchRequestEntry, type SNSClient } from "@aws-sdk/client-sns";
import type { EventRecord } from "../records.js";
import { deliver, type DeliverOptions } from "./deliver.js";

export interface PublisherDeps {
  readonly kinesis: KinesisClient;
  readonly sns: SNSClient;
  readonly streamName: string;
  readonly topicArn: string;
  /** Attempts per entry before the batch fails; default 5. */
  readonly maxAttempts?: number;
  readonly backoff?: DeliverOptions<unknown>["backoff"];
}

export interface PublishResult {
  /** The first event (batch position) not on both Kinesis and SNS; the batch must resume there. */
  readonly failedAt?: number;
  readonly errors: readonly unknown[];
}

// Service limits: PutRecords takes 500 records and 5 MiB (data + partition keys);
// PublishBatch takes 10 messages and 256 KiB in all.
const KINESIS_MAX_RECORDS = 500;
const KINESIS_MAX_BYTES = 5 * 1024 * 1024;
const SNS_MAX_ENTRIES = 10;
const SNS_MAX_BYTES = 256 * 1024;

export interface Encoded {
  readonly event: EventRecord;
  readonly body: string;
  readonly bytes: number;
}

/** A PublishBatch entry id: only [A-Za-z0-9_-], at most 80; the position keeps ids unique within the call. */
export const snsEntryId = (eventId: string, position: number): string =>
  `${position}-${eventId.replace(/[^A-Za-z0-9_-]/g, "_")}`.slice(0, 80);

/** One PutRecords entry per event, keyed by its stream: a stream's events share a shard, so they stay in order. */
export const toKinesis = (batch: readonly Encoded[]): PutRecordsRequestEntry[] =>
  batch.map(({ event, body }) => ({ PartitionKey: event.streamId, Data: Buffer.from(body, "utf8") }));

const toSns = (batch: readonly Encoded[]): PublishBatchRequestEntry[] =>
  batch.map(({ event, body }, position) => ({
    Id: snsEntryId(event.eventId, position),
    Message: body,
    MessageAttributes: {
      microservice: { DataType: "String", StringValue: event.microservice },
      type: { DataType: "String", StringValue: event.type },
    },
  }));

const exhausted = (target: string, reasons: ReadonlyMap<number, string>, events: readonly EventRecord[]) =>
  [...reasons].map(([i, reason]) => new Error(`${target}: ${events[i]!.eventId} still failing after all attempts (${reason})`));

/**
 * Publishes a batch of new events to Kinesis and SNS, resending only the
 * entries that failed. On Kinesis an event never goes ahead of an earlier
 * event of its stream that has not been accepted. Delivery is at least once:
 * a failed batch resumes at `failedAt` and resends what followed it, so
 * consumers de-duplicate by `eventId` (or stream version).
 */
export const publish = async (events: readonly EventRecord[], deps: PublisherDeps): Promise<PublishResult> => {
  const encoded = events.map((event) => {
    const body = JSON.stringify(event);
    return { event, body, bytes: Buffer.byteLength(body, "utf8") };
  });
  const common = { maxAttempts: deps.maxAttempts ?? 5, backoff: deps.backoff };
  const [kinesis, sns] = await Promise.all([
    deliver(encoded, {
      ...common,
      maxEntries: KINESIS_MAX_RECORDS,
      maxBytes: KINESIS_MAX_BYTES,
      sizeOf: (e) => e.bytes + Buffer.byteLength(e.event.streamId, "utf8"),
      orderKey: (e) => e.event.streamId,
      send: async (batch) => {
        const { Records = [] } = await deps.kinesis.send(new PutRecordsCommand({ StreamName: deps.streamName, Records: toKinesis(batch) }));
        return batch.map((_, i) => (Records[i] ? Records[i].ErrorCode : "no result"));
      },
    }),
    deliver(encoded, {
      ...common,
      maxEntries: SNS_MAX_ENTRIES,
      maxBytes: SNS_MAX_BYTES,
      sizeOf: (e) => e.bytes,
      send: async (batch) => {
        const entries = toSns(batch);
        const { Successful = [], Failed = [] } = await deps.sns.send(new PublishBatchCommand({ TopicArn: deps.topicArn, PublishBatchRequestEntries: entries }));
        const ok = new Set(Successful.map((s) => s.Id));
        const failed = new Map(Failed.map((f) => [f.Id, f.Code ?? "failed"]));
        return entries.map((e) => (ok.has(e.Id) ? undefined : (failed.get(e.Id) ?? "no result")));
      },
    }),
  ]);
  const failedAt = events.findIndex((_, i) => !kinesis.delivered[i] || !sns.delivered[i]);
  if (failedAt === -1) return { errors: [] };
  const errors = [
    ...[kinesis.error, sns.error].filter((e) => e !== undefined),
    ...exhausted("Kinesis", kinesis.reasons, events),
    ...exhausted("SNS", sns.reasons, events),
  ];
  return { failedAt, errors };
};
