// Redrive as it works on AWS: a failure queue holds Lambda's on-failure
// records (a shard and a sequence range, not the records), and the redrive
// re-reads that range from the stream and hands it to the consumer. Run
// against DynamoDB Local's and kinesis-local's stream APIs, which are the same
// calls; the queue is fauxqs'.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from "@aws-sdk/client-dynamodb-streams";
import { GetRecordsCommand as GetKinesisRecords, GetShardIteratorCommand as GetKinesisIterator, KinesisClient, ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { KinesisStreamEvent } from "aws-lambda";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendCommand } from "../core/commands.js";
import { documentClient, prefixedTableNames, queryAll, type Store } from "../core/dynamo.js";
import { streamParkedBatches, type BatchInfo, type Invoke } from "../core/parked-batches.js";
import type { OutcomeRecord } from "../core/records.js";
import { redrive, type RedriveDeps } from "../core/redrive.js";
import { makeHandler as makeSequencer } from "../functions/sequencer.js";
import { localAwsConfig, startDynamo, type LocalDynamo } from "../local/dynamodb.js";
import { fauxqsClientConfig, startFauxqs, type LocalFauxqs } from "../local/fauxqs.js";
import { ensureKinesisStream, kinesisClientConfig, startKinesis, type LocalKinesis } from "../local/kinesis.js";
import { createTables } from "../local/tables.js";
import { microservices, referenceApp } from "./support/app.js";

const tables = prefixedTableNames("redrive-aws-");
let dynamo: LocalDynamo;
let fauxqs: LocalFauxqs;
let kinesisLocal: LocalKinesis;
let client: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let kinesis: KinesisClient;
let sqs: SQSClient;
let store: Store;
let commandsStreamArn: string;

beforeAll(async () => {
  [dynamo, fauxqs, kinesisLocal] = await Promise.all([startDynamo(), startFauxqs(), startKinesis()]);
  client = new DynamoDBClient(localAwsConfig(dynamo.endpoint));
  streams = new DynamoDBStreamsClient(localAwsConfig(dynamo.endpoint));
  kinesis = new KinesisClient(kinesisClientConfig(kinesisLocal.endpoint));
  sqs = new SQSClient(fauxqsClientConfig(fauxqs.endpoint));
  store = { db: documentClient(localAwsConfig(dynamo.endpoint)), tables };
  commandsStreamArn = (await createTables(client, tables)).commands!;
}, 120_000);

afterAll(async () => {
  for (const c of [client, streams, kinesis, sqs]) c?.destroy();
  store?.db.destroy();
  await Promise.all([dynamo?.stop(), fauxqs?.stop(), kinesisLocal?.stop()]);
});

/** What Lambda writes to an on-failure destination when a stream batch's retries are spent. */
const onFailureRecord = (kind: "DDBStreamBatchInfo" | "KinesisBatchInfo", info: BatchInfo) =>
  JSON.stringify({
    requestContext: { requestId: ulid(), functionArn: "arn:aws:lambda:us-east-1:000000000000:function:sequencer", condition: "RetryAttemptsExhausted", approximateInvokeCount: 11 },
    responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
    version: "1.0",
    timestamp: new Date().toISOString(),
    [kind]: { ...info, approximateArrivalOfFirstRecord: new Date().toISOString(), approximateArrivalOfLastRecord: new Date().toISOString() },
  });

const failureQueue = async (name: string, bodies: string[]) => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-${ulid().toLowerCase()}` }));
  for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
  return QueueUrl!;
};

const depth = async (queueUrl: string) => {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
};

const redriveDeps = (queue: string, queueUrl: string, invoke: Invoke): RedriveDeps => ({
  sqs,
  names: { queueUrls: { [queue]: queueUrl } },
  app: referenceApp,
  parked: streamParkedBatches({ sqs, queueUrls: { [queue]: queueUrl }, dynamodbStreams: streams, kinesis, invoke }),
});

/** The commands stream's records of one cart, as GetRecords answers them: shard and sequence numbers. */
const streamRecordsOf = async (key: string) => {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: commandsStreamArn }));
  const found: { shardId: string; seq: string }[] = [];
  for (const shard of StreamDescription!.Shards ?? []) {
    let { ShardIterator } = await streams.send(new GetShardIteratorCommand({ StreamArn: commandsStreamArn, ShardId: shard.ShardId!, ShardIteratorType: "TRIM_HORIZON" }));
    for (let page = 0; ShardIterator && page < 10; page++) {
      const result = await streams.send(new GetRecordsCommand({ ShardIterator }));
      for (const r of result.Records ?? []) if (r.dynamodb?.Keys?.key?.S === key) found.push({ shardId: shard.ShardId!, seq: r.dynamodb.SequenceNumber! });
      if (!result.Records?.length) break;
      ShardIterator = result.NextShardIterator;
    }
  }
  return found;
};

const outcomesOf = (key: string) =>
  queryAll<OutcomeRecord>(store, { TableName: tables.outcomes, KeyConditionExpression: "#key = :key", ExpressionAttributeNames: { "#key": "key" }, ExpressionAttributeValues: { ":key": key } });

describe("redrive of a parked DynamoDB-stream batch, as on AWS", () => {
  it("re-reads the batch's range from the commands stream and the sequencer sequences it; the on-failure record leaves the queue", { timeout: 60_000 }, async () => {
    // Prepare: three commands of one cart, which the sequencer never took (their batch was parked).
    const cartId = `c-${ulid()}`;
    const key = `cart:${cartId}`;
    const send = (command: string, id: string, payload: Record<string, unknown> = {}) =>
      appendCommand(store, microservices.cart!, { type: "cart", command, aggregateId: cartId, id, user: "u-1", payload }, 1_795_440_000_000);
    await send("OpenCart", `${cartId}-1`);
    await send("AddItem", `${cartId}-2`, { sku: "SKU-1", quantity: 2, unitPrice: 100 });
    await send("AddItem", `${cartId}-3`, { sku: "SKU-2", quantity: 1, unitPrice: 50 });
    const records = await streamRecordsOf(key);
    expect(records).toHaveLength(3);
    const info: BatchInfo = { shardId: records[0]!.shardId, startSequenceNumber: records[0]!.seq, endSequenceNumber: records[2]!.seq, streamArn: commandsStreamArn, batchSize: 3 };
    const queueUrl = await failureQueue("sequencer-failures", [onFailureRecord("DDBStreamBatchInfo", info)]);
    const sequencer = makeSequencer({ store, microservices, clock: () => 1_795_440_001_000 });
    const handed: number[] = [];
    const invoke: Invoke = async (consumer, event) => {
      expect(consumer).toBe("sequencer");
      handed.push(event.Records.length);
      return sequencer(event as Parameters<typeof sequencer>[0]);
    };

    // Act
    const result = await redrive(redriveDeps("sequencer-failures", queueUrl, invoke), { queue: "sequencer-failures", redriveId: "r-1" });

    // Assess
    expect(result).toEqual({ queue: "sequencer-failures", to: "sequencer", moved: 1, parked: 0, done: true });
    expect(handed).toEqual([3]);
    const outcomes = await outcomesOf(key);
    expect(outcomes.map((o) => [o.seq, o.status])).toEqual([[1, "accepted"], [2, "accepted"], [3, "accepted"]]);
    expect(await depth(queueUrl)).toBe(0);
  });

  it("says plainly when the stream no longer has the batch, and leaves its on-failure record in the queue", { timeout: 60_000 }, async () => {
    // A shard the stream does not have: what a batch past the 24-hour retention looks like.
    const info: BatchInfo = { shardId: "shardId-00000001700000000000-gone0000", startSequenceNumber: "100", endSequenceNumber: "200", streamArn: commandsStreamArn, batchSize: 2 };
    const queueUrl = await failureQueue("sequencer-failures", [onFailureRecord("DDBStreamBatchInfo", info)]);
    let invoked = 0;

    const result = await redrive(redriveDeps("sequencer-failures", queueUrl, async () => void invoked++), { queue: "sequencer-failures", redriveId: "r-2" });

    expect(result).toMatchObject({ queue: "sequencer-failures", to: "sequencer", moved: 0, parked: 1, done: false });
    expect(result.note).toMatch(/the stream no longer has shardId-00000001700000000000-gone0000 100\.\.200 .*past its 24-hour retention, the batch's records are gone; the on-failure record stays in sequencer-failures/);
    expect(invoked).toBe(0);
    expect(await depth(queueUrl)).toBe(1);
  });

  it("keeps a batch the consumer does not take whole, and stops there so the stream's order holds", { timeout: 60_000 }, async () => {
    const cartId = `c-${ulid()}`;
    await appendCommand(store, microservices.cart!, { type: "cart", command: "OpenCart", aggregateId: cartId, id: `${cartId}-1`, user: "u-1", payload: {} }, 1_795_440_000_000);
    const [record] = await streamRecordsOf(`cart:${cartId}`);
    const info: BatchInfo = { shardId: record!.shardId, startSequenceNumber: record!.seq, endSequenceNumber: record!.seq, streamArn: commandsStreamArn, batchSize: 1 };
    const queueUrl = await failureQueue("sequencer-failures", [onFailureRecord("DDBStreamBatchInfo", info), onFailureRecord("DDBStreamBatchInfo", info)]);
    let invoked = 0;
    const refusing: Invoke = async (_consumer, event) => {
      invoked++;
      return { batchItemFailures: [{ itemIdentifier: (event.Records[0] as { dynamodb: { SequenceNumber: string } }).dynamodb.SequenceNumber }] };
    };

    const result = await redrive(redriveDeps("sequencer-failures", queueUrl, refusing), { queue: "sequencer-failures", redriveId: "r-3" });

    expect(result).toMatchObject({ moved: 0, parked: 2, done: false, note: expect.stringContaining("sequencer did not take the batch") });
    expect(invoked).toBe(1);
  });
});

describe("redrive of a parked Kinesis batch, as on AWS", () => {
  it("re-reads the batch's records from the shard and hands exactly them to the consumer", { timeout: 60_000 }, async () => {
    // Prepare: four records on one shard; the consumer's batch of the middle two was parked.
    const streamName = `redrive-${ulid().toLowerCase()}`;
    await ensureKinesisStream(kinesis, streamName, 1);
    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName: streamName, Records: ["a", "b", "c", "d"].map((text) => ({ PartitionKey: "cart:c-1", Data: Buffer.from(JSON.stringify({ text })) })) }),
    );
    const [, second, third] = put.Records!.map((r) => r.SequenceNumber!);
    const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
    const info: BatchInfo = {
      shardId: Shards![0]!.ShardId!,
      startSequenceNumber: second!,
      endSequenceNumber: third!,
      streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${streamName}`,
      batchSize: 2,
    };
    const queueUrl = await failureQueue("open-carts-failures", [onFailureRecord("KinesisBatchInfo", info)]);
    const handed: KinesisStreamEvent[] = [];

    // Act
    const result = await redrive(
      redriveDeps("open-carts-failures", queueUrl, async (consumer, event) => {
        expect(consumer).toBe("open-carts");
        handed.push(event as unknown as KinesisStreamEvent);
        return { batchItemFailures: [] };
      }),
      { queue: "open-carts-failures", redriveId: "r-4" },
    );

    // Assess
    expect(result).toEqual({ queue: "open-carts-failures", to: "open-carts", moved: 1, parked: 0, done: true });
    expect(handed).toHaveLength(1);
    expect(handed[0]!.Records.map((r) => JSON.parse(Buffer.from(r.kinesis.data, "base64").toString()).text)).toEqual(["b", "c"]);
    expect(handed[0]!.Records.map((r) => r.kinesis.sequenceNumber)).toEqual([second, third]);
    // The stream still has all four: nothing was consumed by reading them again.
    const { ShardIterator } = await kinesis.send(new GetKinesisIterator({ StreamName: streamName, ShardId: info.shardId, ShardIteratorType: "TRIM_HORIZON" }));
    expect((await kinesis.send(new GetKinesisRecords({ ShardIterator }))).Records).toHaveLength(4);
  });
});
