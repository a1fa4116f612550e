// Replay and redrive against fauxqs (S3 and SQS, in process) and DynamoDB
// Local: archive objects in key order to a FIFO queue with ids derived from
// the data, exact time ranges, and a rebuilt read model equal to the live one.
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from "@aws-sdk/client-sqs";
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { documentClient, prefixedTableNames, type Store } from "../core/dynamo.js";
import { archive } from "../core/fanout/archiver.js";
import { cartSummary } from "../core/cart/cart-summary.js";
import { openCarts } from "../core/cart/open-carts.js";
import { project, queryReadModels, type AnyProjection } from "../core/projections/index.js";
import type { EventRecord } from "../core/records.js";
import { redrive } from "../core/redrive.js";
import { replayPage, type ReplayDeps, type ReplayMessage } from "../core/replay.js";
import { cancelReplay, loadJob, runReplay, startReplay, type ReplayJobDeps } from "../core/replay-jobs.js";
import { GENERATIONS_TTL_MS, loadGenerations, partitionOf } from "../core/projections/index.js";
import type { QueueName, QueueSpec } from "../core/topology.js";
import { referenceApp, replayProjector, routeSpec, topology } from "./support/app.js";
import { makeHandler as makeRedriveRoute } from "../functions/redrive.js";
import { makeStart } from "../functions/replays.js";
import { localAwsConfig, startDynamo, type LocalDynamo } from "../local/dynamodb.js";
import { fauxqsClientConfig, s3ClientConfig, startFauxqs, type LocalFauxqs } from "../local/fauxqs.js";
import { createTables } from "../local/tables.js";
import { answerOf, httpEvent } from "./support/http-events.js";
import { added, cartStream, closed, opened, removed, streamEvents, T0 } from "./support/projection-records.js";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

let fauxqs: LocalFauxqs;
let dynamo: LocalDynamo;
let s3: S3Client;
let sqs: SQSClient;
let dynamoClient: DynamoDBClient;
let store: Store;
let names: ReplayDeps["names"];
let deps: ReplayDeps;
const tables = prefixedTableNames("replay-int-");

// 8 carts and an account, their events recorded 40 s apart round-robin from 13:50; each stream on shard (index % 2).
const SECOND = 1_000;
const streams = [
  ...Array.from({ length: 8 }, (_, i) =>
    cartStream(`r-${i}`, [opened(`user-${i % 3}`), added("apple", 1 + i, 100), added("pear", 2, 250), ...(i % 2 ? [removed("apple", 1)] : []), ...(i % 3 ? [closed(0)] : [])]),
  ),
  streamEvents("account", "acc-1", [{ type: "AccountOpened" }, { type: "Deposited", data: { amount: 5 } }]),
];
const START = T0 - 10 * 60 * SECOND;
const log: EventRecord[] = [];
for (let round = 0; log.length < streams.flat().length; round++)
  for (const stream of streams) {
    const event = stream[round];
    if (event) log.push({ ...event, occurredAt: START + log.length * 40 * SECOND, recordedAt: START + log.length * 40 * SECOND + 500 });
  }
const shardOf = (e: EventRecord) => `shardId-00000000000${streams.findIndex((s) => s[0]!.streamId === e.streamId) % 2}`;
const cartEventsInLog = log.filter((e) => e.microservice === "cart");

/** Each shard's events in batches of 4; a batch arrives 2 s after its first event was recorded. */
const writeArchive = async (bucket: string, events: readonly EventRecord[]) => {
  let objects = 0;
  for (const shardId of [...new Set(events.map(shardOf))]) {
    const mine = events.filter((e) => shardOf(e) === shardId);
    for (let i = 0; i < mine.length; i += 4) {
      const batch = mine.slice(i, i + 4);
      const seq = (n: number) => String(49_000_000_000_000_000_000n + BigInt(n)).padStart(56, "0");
      await archive(s3, bucket, {
        shardId,
        firstSequenceNumber: seq(i),
        lastSequenceNumber: seq(i + batch.length - 1),
        arrivedAt: new Date(batch[0]!.recordedAt + 2 * SECOND),
        events: batch,
      });
      objects++;
    }
  }
  return objects;
};

const createQueue = async (name: QueueName, arns: Partial<Record<string, string>>) => {
  const spec: QueueSpec = topology.queues[name]!;
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: `replay-int-${spec.name}`,
      Attributes: {
        VisibilityTimeout: "30",
        ...(spec.fifo ? { FifoQueue: "true" } : {}),
        ...(spec.deadLetter
          ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arns[spec.deadLetter.queue], maxReceiveCount: spec.deadLetter.maxReceiveCount }) }
          : {}),
      },
    }),
  );
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  arns[name] = Attributes!.QueueArn;
  return QueueUrl!;
};

let objectCount: number;

beforeAll(async () => {
  [fauxqs, dynamo] = await Promise.all([startFauxqs(), startDynamo()]);
  s3 = new S3Client(s3ClientConfig(fauxqs.endpoint));
  sqs = new SQSClient(fauxqsClientConfig(fauxqs.endpoint));
  dynamoClient = new DynamoDBClient(localAwsConfig(dynamo.endpoint));
  store = { db: documentClient(localAwsConfig(dynamo.endpoint)), tables };
  await createTables(dynamoClient, tables);
  await s3.send(new CreateBucketCommand({ Bucket: "replay-archive" }));
  const arns: Partial<Record<string, string>> = {};
  const queueUrls = Object.fromEntries(Object.keys(topology.queues).map((name) => [name, ""])) as Record<QueueName, string>;
  for (const name of ["cart-summary-replay-dlq", "open-carts-replay-dlq", "cart-summary-replay", "open-carts-replay", "cart-summary-failures", "replays-dlq", "replays"] as const)
    queueUrls[name] = await createQueue(name, arns);
  names = { archiveBucket: "replay-archive", queueUrls };
  deps = { s3, sqs, names, app: referenceApp };
  objectCount = await writeArchive("replay-archive", log);
  for (let i = 0; i < log.length; i += 25)
    await store.db.send(new BatchWriteCommand({ RequestItems: { [tables.events]: log.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
});

afterAll(async () => {
  for (const client of [s3, sqs, dynamoClient]) client?.destroy();
  store?.db.destroy();
  await Promise.all([fauxqs?.stop(), dynamo?.stop()]);
});

/** Every message a queue holds, each deleted once received, in the order received. */
const drain = async (queue: QueueName): Promise<Message[]> => {
  const received: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: names.queueUrls[queue],
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ["MessageGroupId", "MessageDeduplicationId"],
      }),
    );
    if (Messages.length === 0) return received;
    received.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: names.queueUrls[queue], Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }),
    );
  }
};

const messageOf = (m: Message) => JSON.parse(m.Body!) as ReplayMessage;
const bodyOf = (m: Message) => messageOf(m).event;

/** Runs pages until the range is done; answers the pages' results. */
const replayAll = async (handler: "cart-summary" | "open-carts", replayId: string, range: { from?: number; to?: number } = {}, bucket = "replay-archive") => {
  const pages = [];
  let startAfter: string | undefined;
  do {
    const page = await replayPage({ ...deps, names: { ...names, archiveBucket: bucket } }, { handler, replayId, generation: 1, maxObjects: 3, startAfter, ...range });
    pages.push(page);
    startAfter = page.nextStartAfter;
  } while (startAfter);
  return pages;
};

describe("replayPage", () => {
  it("sends every event of the handler's types, page by page, grouped by stream in version order, deduplicated per replay", async () => {
    // Act
    const pages = await replayAll("cart-summary", "r1");
    const messages = await drain("cart-summary-replay");

    // Assess
    expect(pages.reduce((n, p) => n + p.objectsRead, 0)).toBe(objectCount);
    expect(pages.length).toBe(Math.ceil(objectCount / 3));
    expect(pages.reduce((n, p) => n + p.eventsSent, 0)).toBe(cartEventsInLog.length);
    expect(messages.map(bodyOf).sort((a, b) => a.eventId.localeCompare(b.eventId))).toEqual(
      [...cartEventsInLog].sort((a, b) => a.eventId.localeCompare(b.eventId)),
    );
    for (const m of messages) {
      expect(messageOf(m).replay).toEqual({ id: "r1", generation: 1 });
      expect(m.Attributes?.MessageGroupId).toBe(bodyOf(m).streamId);
      expect(m.Attributes?.MessageDeduplicationId).toBe(`r1:${bodyOf(m).eventId}`);
    }
    const versions = new Map<string, number[]>();
    for (const e of messages.map(bodyOf)) versions.set(e.streamId, [...(versions.get(e.streamId) ?? []), e.version]);
    for (const [streamId, seen] of versions) expect(seen, streamId).toEqual(seen.map((_, i) => i + 1));
  });

  it("sends nothing new when a page is retried with the same replay id, and everything again under a new one", async () => {
    // Prepare
    const first = await replayPage(deps, { handler: "open-carts", replayId: "r2", generation: 1, maxObjects: 2 });
    const sent = await drain("open-carts-replay");

    // Act
    const retried = await replayPage(deps, { handler: "open-carts", replayId: "r2", generation: 1, maxObjects: 2 });
    const afterRetry = await drain("open-carts-replay");
    const renewed = await replayPage(deps, { handler: "open-carts", replayId: "r3", generation: 1, maxObjects: 2 });
    const afterRenewal = await drain("open-carts-replay");

    // Assess
    expect(first.eventsSent).toBeGreaterThan(0);
    expect(sent).toHaveLength(first.eventsSent);
    expect(retried).toEqual(first);
    expect(afterRetry).toEqual([]);
    expect(renewed).toEqual(first);
    expect(afterRenewal.map(bodyOf)).toEqual(sent.map(bodyOf));
  });

  it("selects by recordedAt exactly, including events in an object keyed by a later hour", async () => {
    // Prepare: c-a v2 was recorded at 13:59:59 but its batch reached Kinesis at 14:00:01
    await s3.send(new CreateBucketCommand({ Bucket: "replay-range" }));
    const at = (iso: string) => Date.parse(`2026-11-23T${iso}Z`);
    const [a1, a2, a3] = cartStream("c-a", [opened(), added("x", 1, 1), added("y", 1, 1)]);
    const [b1] = cartStream("c-b", [opened()]);
    const put = (shardId: string, seq: string, arrivedAt: number, events: EventRecord[]) =>
      archive(s3, "replay-range", { shardId, firstSequenceNumber: seq, lastSequenceNumber: seq, arrivedAt: new Date(arrivedAt), events });
    await put("shardId-000000000000", "101", at("13:59:58"), [{ ...a1!, recordedAt: at("13:59:50") }]);
    await put("shardId-000000000000", "102", at("14:00:01"), [{ ...a2!, recordedAt: at("13:59:59") }, { ...b1!, recordedAt: at("14:00:00") }]);
    await put("shardId-000000000000", "103", at("15:10:00"), [{ ...a3!, recordedAt: at("15:09:00") }]);

    // Act
    const wide = await replayAll("cart-summary", "range-1", { from: at("13:59:55"), to: at("14:00:00") }, "replay-range");
    const wideSent = await drain("cart-summary-replay");
    const narrow = await replayAll("cart-summary", "range-2", { to: at("13:59:59") + 999 }, "replay-range");
    const narrowSent = await drain("cart-summary-replay");

    // Assess
    expect(wideSent.map((m) => bodyOf(m).eventId)).toEqual(["cart:c-a#2", "cart:c-b#1"]);
    expect(wide.reduce((n, p) => n + p.eventsSent, 0)).toBe(2);
    expect(narrowSent.map((m) => bodyOf(m).eventId)).toEqual(["cart:c-a#1", "cart:c-a#2"]);
    expect(narrow.reduce((n, p) => n + p.objectsRead, 0)).toBe(2);
  });
});

/** An SQS event as the event source mapping builds it from received messages. */
const sqsEventOf = (messages: readonly Message[]): SQSEvent =>
  ({
    Records: messages.map((m) => ({ messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body!, attributes: { MessageGroupId: m.Attributes?.MessageGroupId } })),
  }) as unknown as SQSEvent;

/** Feeds a queue to the projector in batches of 10 until it is empty; deletes what succeeded. */
const consume = async (projection: AnyProjection, queue: QueueName) => {
  const handler = replayProjector(projection.name, store);
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: names.queueUrls[queue], MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["MessageGroupId"] }),
    );
    if (Messages.length === 0) return;
    const { batchItemFailures } = await handler(sqsEventOf(Messages));
    expect(batchItemFailures).toEqual([]);
    await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: names.queueUrls[queue], Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }),
    );
  }
};

const models = async (projection: AnyProjection) => (await queryReadModels(store, projection)).map(({ key, model, versions }) => ({ key, model, versions }));

describe("a rebuild job", () => {
  const jobDeps = (): ReplayJobDeps => ({ store, ...deps, clock: Date.now, timings: { retireAfterMs: 200, pollMs: 50, pageObjects: 4 } });

  it.each<AnyProjection>([cartSummary, openCarts])("builds $name's next generation from the archive, equal to the live one, and serves it", async (projection) => {
    // Prepare: the live path, Kinesis-sized batches of the log
    for (let i = 0; i < log.length; i += 7) expect((await project(store, projection, log.slice(i, i + 7))).failures).toEqual([]);
    const live = await models(projection);
    const route = makeStart({ ...jobDeps(), identityFromBody: true }, routeSpec("POST /admin/replays"));

    // Act: the job runs in turns while the projector takes its queue, as the stack's pollers would
    const answer = answerOf(await route(httpEvent({ method: "POST", path: "/admin/replays", body: { handler: projection.name, reset: true } })));
    const replayId = answer.body.replayId as string;
    let result;
    do {
      result = await runReplay(jobDeps(), replayId, { deadline: Date.now() + 300 });
      await consume(projection, `${projection.name}-replay` as QueueName);
    } while (result !== "ended");
    const job = await loadJob(store, replayId);
    const generations = await loadGenerations(store, projection.name);

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ statusUrl: `/admin/replays/${replayId}`, state: "running", reset: true });
    expect(job).toMatchObject({ state: "done", phase: "ended", objectsRead: objectCount, objectsTotal: objectCount, eventsSent: cartEventsInLog.length });
    expect(job!.eventsApplied).toBeGreaterThanOrEqual(cartEventsInLog.length);
    expect(live).toHaveLength(8);
    expect(generations).toMatchObject({ serving: { generation: job!.generation, version: 1 } });
    expect(generations?.building).toBeUndefined();
    expect(generations?.retiring).toBeUndefined();
    expect(await models({ ...projection, name: partitionOf(projection.name, job!.generation) })).toEqual(live);
    // The generation it replaced is deleted.
    expect(await models(projection)).toEqual([]);
  });

  it("reads the log for a rebuild only once every projector's copy of the generations item names the new generation", async () => {
    // Prepare: a rebuild just begun
    const job = await startReplay(jobDeps(), { handler: openCarts.name, reset: true });

    // Act: a turn that ends before GENERATIONS_TTL_MS has passed, then one after
    const early = await runReplay(jobDeps(), job.key, { deadline: job.createdAt + GENERATIONS_TTL_MS / 2 });
    const before = await loadJob(store, job.key);
    await runReplay(jobDeps(), job.key, { deadline: job.createdAt + GENERATIONS_TTL_MS + 500 });
    const after = await loadJob(store, job.key);
    await cancelReplay(jobDeps(), job.key);

    // Assess: a projector that read the item just before the rebuild began fed it nothing for up to
    // that long, so what it projected must be in the log the rebuild reads: no earlier look at it
    expect(early).toBe("continue");
    expect(before).toMatchObject({ phase: "waiting-for-archive", revision: job.revision });
    expect(after!.phase).not.toBe("waiting-for-archive");
  });

  it("answers 400 naming the projections for an unknown handler, and writes nothing", async () => {
    // Prepare
    const route = makeStart({ ...jobDeps(), identityFromBody: true }, routeSpec("POST /admin/replays"));
    const before = await models(cartSummary);

    // Act
    const answer = answerOf(await route(httpEvent({ method: "POST", path: "/admin/replays", body: { handler: "carts", reset: true } })));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toEqual([{ field: "handler", rule: "must be one of cart-summary, open-carts" }]);
    expect(await models(cartSummary)).toEqual(before);
  });
});

describe("redrive", () => {
  const park = async (queue: QueueName, entries: { body: string; group?: string }[]) =>
    sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: names.queueUrls[queue],
        Entries: entries.map((e, i) => ({
          Id: String(i),
          MessageBody: e.body,
          ...(e.group ? { MessageGroupId: e.group, MessageDeduplicationId: `parked-${i}-${e.body.length}` } : {}),
        })),
      }),
    );

  it("moves a replay dead-letter queue's messages back to the replay queue, groups and order kept", async () => {
    // Prepare: three parked messages of two groups
    const [a1, a2] = cartStream("dead-a", [opened(), added("x", 1, 1)]);
    const [b1] = cartStream("dead-b", [opened()]);
    await park("cart-summary-replay-dlq", [a1!, b1!, a2!].map((e) => ({ body: JSON.stringify({ replay: { id: "r-dead", generation: 1 }, event: e }), group: e.streamId })));

    // Act
    const result = await redrive(deps, { queue: "cart-summary-replay-dlq", redriveId: "d1" });
    const again = await redrive(deps, { queue: "cart-summary-replay-dlq", redriveId: "d2" });
    const moved = await drain("cart-summary-replay");

    // Assess
    expect(result).toEqual({ queue: "cart-summary-replay-dlq", to: "cart-summary-replay", moved: 3, done: true });
    expect(again).toMatchObject({ moved: 0, done: true });
    expect(await drain("cart-summary-replay-dlq")).toEqual([]);
    const byGroup = (group: string) => moved.filter((m) => m.Attributes?.MessageGroupId === group).map((m) => bodyOf(m).eventId);
    expect(byGroup("cart:dead-a")).toEqual(["cart:dead-a#1", "cart:dead-a#2"]);
    expect(byGroup("cart:dead-b")).toEqual(["cart:dead-b#1"]);
  });

  it("reports a redrive whose copies are refused, and leaves every message in the dead-letter queue for the next one", async () => {
    // Prepare: three parked messages, and an SQS that refuses every SendMessageBatch.
    const [a1, a2] = cartStream("stuck-a", [opened(), added("x", 1, 1)]);
    const [b1] = cartStream("stuck-b", [opened()]);
    await park("cart-summary-replay-dlq", [a1!, b1!, a2!].map((e) => ({ body: JSON.stringify({ replay: { id: "r-dead", generation: 1 }, event: e }), group: e.streamId })));
    const refusing = new SQSClient(fauxqsClientConfig(fauxqs.endpoint));
    refusing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "SendMessageBatchCommand") throw new Error("ServiceUnavailable: injected");
        return next(args);
      },
      { step: "initialize", name: "refuseSends" },
    );
    onTestFinished(() => refusing.destroy());

    // Act
    const failed = await redrive({ ...deps, sqs: refusing }, { queue: "cart-summary-replay-dlq", redriveId: "r1" }).then(
      () => undefined,
      (error: Error) => error.message,
    );

    // Assess
    expect(failed).toContain("redrive of cart-summary-replay-dlq stopped after 0 messages: sending to cart-summary-replay failed");
    expect(await drain("cart-summary-replay")).toEqual([]);
    const retried = await redrive(deps, { queue: "cart-summary-replay-dlq", redriveId: "r2" });
    expect(retried).toMatchObject({ moved: 3, done: true });
    expect((await drain("cart-summary-replay")).map((m) => bodyOf(m).eventId).sort()).toEqual(["cart:stuck-a#1", "cart:stuck-a#2", "cart:stuck-b#1"]);
  });

  it("counts a failure destination's parked batches, and the route refuses a queue it cannot redrive", async () => {
    // Prepare
    await park("cart-summary-failures", [{ body: "{}" }, { body: "{}" }]);
    const route = makeRedriveRoute({ ...deps, identityFromBody: true }, routeSpec("POST /admin/redrive"));
    const post = async (body: unknown) => answerOf(await route(httpEvent({ method: "POST", path: "/admin/redrive", body })));

    // Act
    const counted = await post({ queue: "cart-summary-failures" });
    const refused = await post({ queue: "cart-summary-replay" });

    // Assess
    expect(counted).toEqual({ status: 200, body: { queue: "cart-summary-failures", moved: 0, parked: 2, done: true, redriveId: expect.any(String) } });
    expect(refused.status).toBe(400);
    expect(refused.body.issues[0]).toEqual({ field: "queue", rule: expect.stringContaining("cart-summary-replay-dlq") });
  });
});
