// Plays Lambda's SQS event source mapping: poll a batch, hand it to the
// handler as an SQSEvent, delete what succeeded. What failed becomes visible
// again after the visibility timeout and, past the queue's maxReceiveCount, is
// moved to its dead-letter queue by the queue itself (RedrivePolicy).
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { setTimeout as sleep } from "node:timers/promises";
import type { Doorbell } from "./doorbell.js";
import type { Poller } from "./shard-poller.js";

export interface SqsPollerOptions {
  readonly consumer: string;
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  readonly batchSize: number;
  /**
   * Batches in flight at once. Lambda scales a FIFO queue's consumers with its
   * message groups; the queue hands a group to one receiver at a time, so
   * each stream's order holds.
   */
  readonly concurrency?: number;
  /**
   * Rung by whoever sends to the queue in this process: an idle queue is then
   * polled by one receiver about once a second (for messages made visible
   * again, or sent from elsewhere), and by all of them as soon as it rings.
   * Without one, every receiver long-polls.
   */
  readonly doorbell?: Doorbell;
  readonly log?: (message: string, extra?: Record<string, unknown>) => void;
}

/** The longest pause of an idle receiver that has a doorbell. */
const MAX_IDLE_MS = 1000;

const toLambdaRecord = (message: Message, queueArn: string): SQSRecord => ({
  messageId: message.MessageId!,
  receiptHandle: message.ReceiptHandle!,
  body: message.Body ?? "",
  attributes: message.Attributes as unknown as SQSRecord["attributes"],
  messageAttributes: Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      { stringValue: value.StringValue, dataType: value.DataType ?? "String", stringListValues: [], binaryListValues: [] },
    ]),
  ),
  md5OfBody: message.MD5OfBody ?? "",
  eventSource: "aws:sqs",
  eventSourceARN: queueArn,
  awsRegion: "us-east-1",
});

export const startSqsPoller = (options: SqsPollerOptions): Poller => {
  const { client, queueUrl } = options;
  const log = options.log ?? (() => {});
  let stopped = false;

  const bell = options.doorbell;
  /** Answers whether it received anything. */
  const poll = async (): Promise<boolean> => {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: options.batchSize,
        // A long poll keeps fauxqs checking the queue every 20 ms while it lasts: with a doorbell, a short one.
        WaitTimeSeconds: bell ? 0 : 1,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return false;
    // More may be waiting: wake the idle receivers.
    bell?.ring();
    const records = Messages.map((m) => toLambdaRecord(m, options.queueArn));
    let failed = new Set<string>();
    try {
      const response = await options.handler({ Records: records });
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      failed = new Set(records.map((r) => r.messageId));
      log("queue handler failed; the batch becomes visible again", { consumer: options.consumer, error: String(error) });
    }
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length > 0)
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
    return true;
  };

  const receiver = async (index: number) => {
    let idle = 25;
    while (!stopped) {
      try {
        const rang = bell?.rings ?? 0;
        if (await poll()) idle = 25;
        else if (bell) {
          // The first receiver keeps an eye on the queue; the others sleep until it rings.
          idle = Math.min(idle * 2, MAX_IDLE_MS);
          if (await bell.wait(index === 0 ? idle : 24 * 3600_000, rang)) idle = 25;
        }
      } catch (error) {
        log("polling the queue failed", { consumer: options.consumer, error: String(error) });
        await sleep(500);
      }
    }
  };
  const receivers = Array.from({ length: options.concurrency ?? 1 }, (_, i) => receiver(i));

  return {
    async stop() {
      stopped = true;
      bell?.ring();
      await Promise.all(receivers);
    },
  };
};
