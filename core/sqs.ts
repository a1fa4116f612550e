// Sending to SQS in batches (ids a FIFO queue accepts, and SendMessageBatch
// with its per-entry failures resent through fanout/deliver), and a queue's depth.
import { GetQueueAttributesCommand, SendMessageBatchCommand, type MessageAttributeValue, type SQSClient } from "@aws-sdk/client-sqs";
import { createHash } from "node:crypto";
import { deliver } from "./fanout/deliver.js";

export interface OutgoingMessage {
  readonly body: string;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  readonly attributes?: Record<string, MessageAttributeValue>;
}

/**
 * A FIFO group or deduplication id: the text itself when SQS accepts it
 * (1-128 printable ASCII characters), else its SHA-256, so the id still
 * follows from the data alone.
 */
export const fifoId = (raw: string): string =>
  /^[\x21-\x7e]{1,128}$/.test(raw) ? raw : createHash("sha256").update(raw).digest("hex");

const MAX_BATCH_BYTES = 256 * 1024;

/** Calls in flight at once. Each FIFO group's messages all go through one lane, in order. */
const LANES = 4;

/** Splits messages into lanes by group, keeping each lane in the order given. */
export const lanesByGroup = (messages: readonly OutgoingMessage[], lanes = LANES): OutgoingMessage[][] => {
  const split: OutgoingMessage[][] = Array.from({ length: lanes }, () => []);
  for (const message of messages) {
    let hash = 0;
    for (const char of message.groupId ?? "") hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    split[hash % lanes]!.push(message);
  }
  return split.filter((lane) => lane.length > 0);
};

/**
 * Sends every message, 10 per call, with up to LANES calls in flight; each
 * group's messages (and all messages without a group) in the order given.
 * Throws if any is still refused after `maxAttempts`.
 */
export const sendMessages = async (
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly OutgoingMessage[],
  { maxAttempts = 5 }: { maxAttempts?: number } = {},
): Promise<void> => {
  if (messages.length === 0) return;
  const results = await Promise.allSettled(lanesByGroup(messages).map((lane) => sendLane(sqs, queueUrl, lane, maxAttempts)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
};

const sendLane = async (sqs: SQSClient, queueUrl: string, messages: readonly OutgoingMessage[], maxAttempts: number): Promise<void> => {
  // No orderKey: one message per group per call would make replaying a long stream
  // ten times slower. A resent entry can land behind a later one of its group; the
  // projector then fills the gap from the events table and skips the late copy.
  const delivery = await deliver(messages, {
    maxEntries: 10,
    maxBytes: MAX_BATCH_BYTES,
    sizeOf: (m) => Buffer.byteLength(m.body) + Buffer.byteLength(JSON.stringify(m.attributes ?? {})),
    maxAttempts,
    send: async (batch) => {
      const { Failed = [] } = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((m, i) => ({
            Id: String(i),
            MessageBody: m.body,
            MessageGroupId: m.groupId,
            MessageDeduplicationId: m.deduplicationId,
            MessageAttributes: m.attributes,
          })),
        }),
      );
      const failed = new Map(Failed.map((f) => [f.Id, f.Code ?? "failed"]));
      return batch.map((_, i) => failed.get(String(i)));
    },
  });
  if (delivery.error) throw delivery.error;
  if (delivery.reasons.size > 0)
    throw new Error(
      `${delivery.reasons.size} of ${messages.length} messages to ${queueUrl} were refused: ${[...new Set(delivery.reasons.values())].join(", ")}`,
    );
};

const DEPTH = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] as const;

/** A queue's messages, approximately: waiting, in flight and delayed. */
export const queueDepth = async (sqs: SQSClient, queueUrl: string): Promise<number> => {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...DEPTH] }));
  return DEPTH.reduce((sum, name) => sum + Number(Attributes[name] ?? 0), 0);
};
