// Parked stream batches on AWS. A DynamoDB-stream or Kinesis consumer whose
// retries are spent leaves an on-failure record in its failure queue: the
// shard and the sequence range of the batch, not the records. Redrive reads
// that range from the stream again (while the stream still keeps it: 24 hours
// for DynamoDB, the Kinesis retention) and hands it to the consumer, as the
// local stack hands back the batches it parks itself.
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { GetRecordsCommand as GetStreamRecords, GetShardIteratorCommand as GetStreamIterator, type DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { GetRecordsCommand as GetKinesisRecords, GetShardIteratorCommand as GetKinesisIterator, type KinesisClient } from "@aws-sdk/client-kinesis";
import type { DynamoDBRecord, KinesisStreamRecord } from "aws-lambda";
import type { ParkedBatches } from "./redrive.js";
import { queueDepth } from "./sqs.js";
import { dynamodbLambdaRecord, kinesisLambdaRecord } from "./stream-records.js";

/** What Lambda writes about a batch it gave up on (`DDBStreamBatchInfo` or `KinesisBatchInfo`). */
export interface BatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly streamArn: string;
  readonly batchSize: number;
}

export type ParkedBatch = { readonly source: "dynamodb" | "kinesis"; readonly info: BatchInfo };

/** The batch an on-failure record names, or undefined for a message that is not one. */
export const parkedBatchOf = (body: string | undefined): ParkedBatch | undefined => {
  try {
    const record = JSON.parse(body ?? "");
    if (record?.DDBStreamBatchInfo) return { source: "dynamodb", info: record.DDBStreamBatchInfo };
    if (record?.KinesisBatchInfo) return { source: "kinesis", info: record.KinesisBatchInfo };
  } catch {
    // not JSON: not an on-failure record
  }
  return undefined;
};

export type Reread = { readonly records: readonly (DynamoDBRecord | KinesisStreamRecord)[] } | { readonly gone: string };

const inRange = (seq: string, info: BatchInfo) => BigInt(seq) >= BigInt(info.startSequenceNumber) && BigInt(seq) <= BigInt(info.endSequenceNumber);
const isPast = (seq: string, info: BatchInfo) => BigInt(seq) >= BigInt(info.endSequenceNumber);
/** Pages read past the last record before the range counts as lost: an open shard answers empty pages for a while. */
const MAX_EMPTY_PAGES = 20;

const goneBecause = (error: unknown, info: BatchInfo, retention: string): Reread => {
  const name = (error as { name?: string }).name ?? "";
  if (/TrimmedDataAccess|ResourceNotFound|ExpiredIterator|InvalidArgument|ValidationException/.test(name))
    return { gone: `the stream no longer has ${info.shardId} ${info.startSequenceNumber}..${info.endSequenceNumber} (${name}): past its ${retention} retention, the batch's records are gone` };
  throw error;
};

/** Reads a parked batch's records from its stream again, in order; `gone` when the stream has dropped them. */
export const rereadBatch = async (clients: { readonly dynamodbStreams: DynamoDBStreamsClient; readonly kinesis: KinesisClient }, { source, info }: ParkedBatch): Promise<Reread> => {
  const records: (DynamoDBRecord | KinesisStreamRecord)[] = [];
  const retention = source === "dynamodb" ? "24-hour" : "Kinesis";
  try {
    let iterator =
      source === "dynamodb"
        ? (await clients.dynamodbStreams.send(new GetStreamIterator({ StreamArn: info.streamArn, ShardId: info.shardId, ShardIteratorType: "AT_SEQUENCE_NUMBER", SequenceNumber: info.startSequenceNumber }))).ShardIterator
        : (await clients.kinesis.send(new GetKinesisIterator({ StreamName: info.streamArn.split("/").at(-1)!, ShardId: info.shardId, ShardIteratorType: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: info.startSequenceNumber }))).ShardIterator;
    for (let empty = 0; iterator && empty < MAX_EMPTY_PAGES; ) {
      let sequences: string[];
      if (source === "dynamodb") {
        const page = await clients.dynamodbStreams.send(new GetStreamRecords({ ShardIterator: iterator, Limit: 1000 }));
        const batch = (page.Records ?? []).filter((r) => inRange(r.dynamodb!.SequenceNumber!, info));
        records.push(...batch.map((r) => dynamodbLambdaRecord(r, info.streamArn)));
        sequences = (page.Records ?? []).map((r) => r.dynamodb!.SequenceNumber!);
        iterator = page.NextShardIterator;
      } else {
        const page = await clients.kinesis.send(new GetKinesisRecords({ ShardIterator: iterator, Limit: 1000 }));
        const batch = (page.Records ?? []).filter((r) => inRange(r.SequenceNumber!, info));
        records.push(...batch.map((r) => kinesisLambdaRecord(r, info.shardId, info.streamArn, "redrive")));
        sequences = (page.Records ?? []).map((r) => r.SequenceNumber!);
        iterator = page.NextShardIterator;
      }
      if (sequences.some((seq) => isPast(seq, info))) break;
      empty = sequences.length === 0 ? empty + 1 : 0;
    }
  } catch (error) {
    return goneBecause(error, info, retention);
  }
  const first = records[0];
  const firstSeq = first && ("kinesis" in first ? first.kinesis.sequenceNumber : first.dynamodb?.SequenceNumber);
  if (firstSeq !== info.startSequenceNumber)
    return { gone: `the stream no longer starts ${info.shardId} at ${info.startSequenceNumber}: past its ${retention} retention, the batch's records are gone` };
  return { records };
};

/** Hands a batch to a consumer (Lambda's Invoke on AWS) and answers its response. */
export type Invoke = (consumer: string, event: { Records: readonly unknown[] }) => Promise<{ readonly batchItemFailures?: readonly unknown[] } | void>;

export interface StreamParkedBatchesDeps {
  readonly sqs: SQSClient;
  readonly queueUrls: Readonly<Record<string, string>>;
  readonly dynamodbStreams: DynamoDBStreamsClient;
  readonly kinesis: KinesisClient;
  readonly invoke: Invoke;
  /** On-failure records redriven per call. */
  readonly maxBatches?: number;
}

/**
 * Redrives a failure queue of on-failure records oldest first: each batch is
 * re-read and handed to its consumer; one the consumer takes whole leaves the
 * queue. The first that cannot be re-read or is not taken stops the redrive and
 * stays, visible again at once, so a stream's batches keep their order.
 */
export const streamParkedBatches = (deps: StreamParkedBatchesDeps): ParkedBatches => ({
  async redrive(destination, consumer) {
    const queueUrl = deps.queueUrls[destination];
    if (!queueUrl) throw new Error(`no queue URL for '${destination}' in this function's environment`);
    let redriven = 0;
    let note: string | undefined;
    while (redriven < (deps.maxBatches ?? 10)) {
      const { Messages = [] } = await deps.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, VisibilityTimeout: 300 }));
      const message = Messages[0];
      if (!message) break;
      const release = () => deps.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
      const batch = parkedBatchOf(message.Body);
      if (!batch) {
        note = `message ${message.MessageId} of ${destination} is not an on-failure record; left in the queue`;
        await release();
        break;
      }
      const reread = await rereadBatch(deps, batch);
      if ("gone" in reread) {
        note = `${reread.gone}; the on-failure record stays in ${destination}`;
        await release();
        break;
      }
      const response = await deps.invoke(consumer, { Records: reread.records }).catch((error: Error) => ({ failed: error.message }));
      if (response && ("failed" in response || (response.batchItemFailures?.length ?? 0) > 0)) {
        note = `${consumer} did not take the batch ${batch.info.startSequenceNumber}..${batch.info.endSequenceNumber}${"failed" in response ? ` (${response.failed})` : ""}; it stays in ${destination}`;
        await release();
        break;
      }
      await deps.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      redriven++;
    }
    const remaining = await queueDepth(deps.sqs, queueUrl);
    return { redriven, remaining, ...(note ? { note } : {}) };
  },
});
