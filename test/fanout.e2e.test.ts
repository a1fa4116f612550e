// The fan-out end to end: `npm start` in a child process, a few hundred cart
// commands over HTTP, then every place the events fan out to is read back with
// the AWS SDK at the endpoints GET /health gives (Kinesis, S3, SQS) and compared
// with the event log itself. Then the read models are rebuilt from the archive
// and must come out identical, and records delivered a second time by hand
// must change nothing.
import { checkHistory, type Acknowledged } from "./support/history.js";
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from "@aws-sdk/client-sqs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listArchive, readArchiveObject } from "../core/fanout/archiver.js";
import type { EventRecord } from "../core/records.js";
import { buckets, kinesisStreams } from "../core/topology.js";
import { topology } from "./support/app.js";
import { localAwsConfig } from "../local/dynamodb.js";
import { fauxqsClientConfig, s3ClientConfig } from "../local/fauxqs.js";
import { kinesisClientConfig } from "../local/kinesis.js";
import { TABLE_PREFIX } from "../local/stack.js";
import { cartCommand, type Json } from "./support/api.js";
import { decode, readStream } from "./support/kinesis.js";
import { useChildStack } from "./support/local-stack.js";
import { readModelItems, tablesAt, type Tables } from "./support/tables.js";
import { eventually, sleep } from "./support/wait.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const STREAM = `${TABLE_PREFIX}${kinesisStreams.allEvents.name}`;
const BUCKET = `${TABLE_PREFIX}${buckets.archive.name}`;
const queueName = (name: string) => `${TABLE_PREFIX}${topology.queues[name]!.name}`;

const USERS = ["u-ana", "u-ben", "u-cho", "u-dev", "u-eli"];
const CARTS = 40;
const cartIdOf = (i: number) => `c-${String(i).padStart(2, "0")}`;
const ownerOf = (i: number) => USERS[i % USERS.length]!;

// --- the commands ---------------------------------------------------------

interface Step {
  readonly command: string;
  readonly payload?: Record<string, unknown>;
  /** undefined: accepted, with one event; else the reason it is rejected. */
  readonly rejectedWith?: string;
}

/** Each cart's commands: opened, filled, some emptied a little, a third closed, some refused. */
const planFor = (i: number): Step[] => {
  const skuA = { sku: "SKU-A", quantity: 1 + (i % 3), unitPrice: 100 + i };
  const steps: Step[] = [
    { command: "OpenCart" },
    { command: "AddItem", payload: skuA },
    { command: "AddItem", payload: { sku: "SKU-B", quantity: 2, unitPrice: 250 } },
  ];
  if (i % 4 === 1) steps.push({ command: "RemoveItem", payload: { sku: "SKU-A" } });
  if (i % 4 === 2) steps.push({ command: "RemoveItem", payload: { sku: "SKU-Z" }, rejectedWith: "ItemNotInCart" });
  if (i % 4 === 3) steps.push({ command: "RemoveItem", payload: { sku: "SKU-B", quantity: 1 } });
  steps.push({ command: "AddItem", payload: { sku: "SKU-C", quantity: 1, unitPrice: 999 } });
  if (i % 3 === 0) steps.push({ command: "CloseCart" }, { command: "AddItem", payload: skuA, rejectedWith: "CartClosed" });
  else if (i % 5 === 4) steps.push({ command: "OpenCart", rejectedWith: "CartAlreadyOpened" });
  else steps.push({ command: "AddItem", payload: { ...skuA, quantity: 1 } });
  return steps;
};

const PLANS = Array.from({ length: CARTS }, (_, i) => planFor(i));

/** Runs `work` over `items`, at most `width` at a time. */
const pool = async <T>(items: readonly T[], width: number, work: (item: T) => Promise<void>) => {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
};

// --- what the events say ----------------------------------------------------

/** Map.groupBy, which Node 20 lacks. */
const groupBy = <T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> => {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
};

/** An event as GET /streams/{id}/events answers it, with its stream. */
interface LoggedEvent {
  readonly streamId: string;
  readonly cartId: string;
  readonly version: number;
  readonly type: string;
  readonly data: Json;
  readonly eventId: string;
  readonly user: string;
  readonly occurredAt: string;
}

/** cart-summary's item for a cart, folded from its events here, independently of the projection. */
const summaryFrom = (cartId: string, events: readonly LoggedEvent[]) => {
  const lines = new Map<string, { quantity: number; unitPrice: number }>();
  let status = "empty";
  let closedTotal = 0;
  for (const e of events) {
    if (e.type === "CartOpened") status = "open";
    if (e.type === "ItemAdded") lines.set(e.data.sku, { quantity: (lines.get(e.data.sku)?.quantity ?? 0) + e.data.quantity, unitPrice: e.data.unitPrice });
    if (e.type === "ItemRemoved") {
      const left = lines.get(e.data.sku)!.quantity - e.data.quantity;
      if (left > 0) lines.set(e.data.sku, { ...lines.get(e.data.sku)!, quantity: left });
      else lines.delete(e.data.sku);
    }
    if (e.type === "CartClosed") [status, closedTotal] = ["closed", e.data.total];
  }
  const itemCount = [...lines.values()].reduce((sum, l) => sum + l.quantity, 0);
  const total = status === "closed" ? closedTotal : [...lines.values()].reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
  return { cartId, status, itemCount, total };
};

/** What GET /users/{u}/carts and GET /carts?status=open&idleFor=PT0S should answer, from the events. */
const expectedReadModels = (events: readonly LoggedEvent[]) => {
  const byCart = groupBy(events, (e) => e.cartId);
  const cartIds = [...byCart.keys()].sort();
  const ownerOfCart = (cartId: string) => byCart.get(cartId)!.find((e) => e.type === "CartOpened")!.data.owner as string;
  const summaries = Object.fromEntries(
    USERS.map((user) => [user, { user, carts: cartIds.filter((c) => ownerOfCart(c) === user).map((c) => summaryFrom(c, byCart.get(c)!)) }]),
  );
  const open = cartIds
    .filter((c) => !byCart.get(c)!.some((e) => e.type === "CartClosed"))
    .map((c) => ({ cartId: c, owner: ownerOfCart(c), last: Math.max(...byCart.get(c)!.map((e) => Date.parse(e.occurredAt))) }))
    .sort((a, b) => a.last - b.last || (a.cartId < b.cartId ? -1 : 1))
    .map(({ cartId, owner, last }) => ({ cartId, owner, lastActivityAt: new Date(last).toISOString() }));
  return { summaries, open: { carts: open } };
};

// --- the stack and clients --------------------------------------------------

const { stack, api } = useChildStack();
let kinesis: KinesisClient;
let sqs: SQSClient;
let s3: S3Client;
let dynamo: DynamoDBClient;
let db: DynamoDBDocumentClient;
let tables: Tables;
const queueUrls: Record<string, string> = {};

beforeAll(async () => {
  const health = await api.get("/health");
  expect(health.status).toBe(200);
  const { endpoints } = health.body;
  kinesis = new KinesisClient(kinesisClientConfig(endpoints.kinesis));
  sqs = new SQSClient(fauxqsClientConfig(endpoints.sqs));
  s3 = new S3Client(s3ClientConfig(endpoints.s3));
  dynamo = new DynamoDBClient(localAwsConfig(endpoints.dynamodb));
  db = DynamoDBDocumentClient.from(dynamo);
  tables = tablesAt(endpoints.dynamodb);
  for (const name of ["cart-closed-subscriber", "cart-summary-replay", "open-carts-replay", "cart-summary-replay-dlq", "open-carts-replay-dlq"] as const)
    queueUrls[name] = (await sqs.send(new GetQueueUrlCommand({ QueueName: queueName(name) }))).QueueUrl!;
});

afterAll(async () => {
  for (const client of [kinesis, sqs, s3, dynamo]) client?.destroy();
  tables?.close();
});

/** Every record of every shard of the "all events" stream, from the start, in each shard's order. */
const readKinesis = () => readStream(kinesis, STREAM);

/** Every archive object under events/, with its events, in key order. */
const readArchive = async (): Promise<{ key: string; events: EventRecord[] }[]> => {
  const keys: string[] = [];
  let startAfter: string | undefined;
  do {
    const page = await listArchive(s3, BUCKET, { startAfter });
    keys.push(...page.keys);
    startAfter = page.next;
  } while (startAfter);
  return Promise.all(keys.map(async (key) => ({ key, events: await readArchiveObject(s3, BUCKET, key) })));
};

const countBy = (ids: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
};

const readModels = async () => {
  const summaries: Record<string, Json> = {};
  for (const user of USERS) {
    const answer = await api.get(`/users/${user}/carts`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    summaries[user] = answer.body;
  }
  const open = await api.get("/carts?status=open&idleFor=PT0S");
  expect(open.status, JSON.stringify(open.body)).toBe(200);
  return { summaries, open: open.body };
};

const projectionItems = (options: { withRevision: boolean }) => readModelItems(tables, options);

const queueDepth = async (queue: string) => {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrls[queue], AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
};

const parkedBatches = async () => (await db.send(new ScanCommand({ TableName: `${TABLE_PREFIX}failures`, ConsistentRead: true }))).Items ?? [];

describe("the fan-out, end to end on npm start", () => {
  let events: LoggedEvent[];
  let expected: ReturnType<typeof expectedReadModels>;
  let kinesisRecords: EventRecord[];
  let archiveObjects: number;
  let before: Awaited<ReturnType<typeof readModels>>;
  const acknowledged: Acknowledged[] = [];

  it("takes a few hundred commands over many carts and users: accepted and rejected as planned", { timeout: 120_000 }, async () => {
    // Act
    const outcomes = new Map<string, Json[]>();
    await pool(PLANS.map((steps, i) => ({ steps, i })), 20, async ({ steps, i }) => {
      const cartId = cartIdOf(i);
      const answers: Json[] = [];
      for (const [n, step] of steps.entries()) {
        const answer = await api.send(cartCommand(step.command, cartId, `${cartId}-${n}`, step.payload, { user: ownerOf(i) }), 10);
        expect([200, 202, 409], JSON.stringify(answer.body)).toContain(answer.status);
        acknowledged.push({ key: answer.body.key, seq: answer.body.seq, type: "cart", user: ownerOf(i), id: `${cartId}-${n}` });
        answers.push(answer.status === 202 ? await api.settle(answer.body.outcomeUrl) : answer.body);
      }
      outcomes.set(cartId, answers);
    });
    events = [];
    for (let i = 0; i < CARTS; i++) {
      const streamId = `cart:${cartIdOf(i)}`;
      for (const e of await api.allEvents(streamId)) events.push({ streamId, cartId: cartIdOf(i), ...e });
    }

    // Assess
    const commands = PLANS.flat();
    expect(commands.length).toBeGreaterThanOrEqual(200);
    for (let i = 0; i < CARTS; i++) {
      const answers = outcomes.get(cartIdOf(i))!;
      expect(answers.map((a) => (a.status === "rejected" ? a.reason : a.status)), cartIdOf(i)).toEqual(
        PLANS[i]!.map((s) => s.rejectedWith ?? "accepted"),
      );
      // One event per accepted command, versions 1..n.
      const cartEvents = events.filter((e) => e.cartId === cartIdOf(i));
      expect(cartEvents.map((e) => e.version)).toEqual(PLANS[i]!.filter((s) => !s.rejectedWith).map((_, v) => v + 1));
    }
    expect(events.length).toBe(commands.filter((s) => !s.rejectedWith).length);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    expected = expectedReadModels(events);
  });

  it("puts every event in Kinesis once, in version order per stream", async () => {
    // Act
    const shards = await eventually("every event in Kinesis", async () => {
      const read = await readKinesis();
      const seen = new Set(read.flatMap((s) => s.records.map((r) => decode(r).eventId)));
      const missing = events.filter((e) => !seen.has(e.eventId));
      expect(missing.map((e) => e.eventId)).toEqual([]);
      return read;
    });

    // Assess
    kinesisRecords = shards.flatMap((s) => s.records.map(decode));
    expect([...countBy(kinesisRecords.map((e) => e.eventId)).values()].filter((n) => n !== 1)).toEqual([]);
    expect(kinesisRecords).toHaveLength(events.length);
    for (const { shardId, records } of shards) {
      const byStream = groupBy(records.map(decode), (e) => e.streamId);
      for (const [streamId, inShard] of byStream) {
        expect(inShard.map((e) => e.version), `${streamId} on ${shardId}`).toEqual(events.filter((e) => e.streamId === streamId).map((e) => e.version));
        // Partition key = stream id.
        expect(new Set(records.filter((r) => decode(r).streamId === streamId).map((r) => r.PartitionKey))).toEqual(new Set([streamId]));
      }
    }
    // Each stream on one shard only.
    const shardsOf = groupBy(shards.flatMap((s) => s.records.map((r) => ({ shard: s.shardId, streamId: decode(r).streamId }))), (x) => x.streamId);
    expect([...shardsOf.values()].filter((xs) => new Set(xs.map((x) => x.shard)).size > 1)).toEqual([]);
    // What Kinesis carries is the log's event, field for field.
    for (const e of events) {
      const carried = kinesisRecords.find((k) => k.eventId === e.eventId)!;
      expect({ ...carried, occurredAt: new Date(carried.occurredAt).toISOString() }).toMatchObject({
        streamId: e.streamId, version: e.version, type: e.type, data: e.data, user: e.user, occurredAt: e.occurredAt, microservice: "cart", aggregateId: e.cartId,
      });
    }
  });

  it("puts every event in the archive once", async () => {
    // Act
    const objects = await eventually("every event in the archive", async () => {
      const read = await readArchive();
      const seen = new Set(read.flatMap((o) => o.events.map((e) => e.eventId)));
      expect(events.filter((e) => !seen.has(e.eventId)).map((e) => e.eventId)).toEqual([]);
      return read;
    });

    // Assess
    const archived = objects.flatMap((o) => o.events);
    expect([...countBy(archived.map((e) => e.eventId)).values()].filter((n) => n !== 1)).toEqual([]);
    expect(archived).toHaveLength(events.length);
    expect(new Set(archived.map((e) => e.eventId))).toEqual(new Set(events.map((e) => e.eventId)));
    expect(objects.every((o) => /^events\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/[^/]+\.jsonl\.gz$/.test(o.key))).toBe(true);
    // Read in key order, each stream's events come in version order.
    for (const [streamId, inArchive] of groupBy(archived, (e) => e.streamId))
      expect(inArchive.map((e) => e.version), streamId).toEqual(events.filter((e) => e.streamId === streamId).map((e) => e.version));
    archiveObjects = objects.length;
  });

  it("delivers exactly the CartClosed events to the SNS subscriber queue", async () => {
    // Prepare
    const closed = events.filter((e) => e.type === "CartClosed").map((e) => e.eventId).sort();
    const received: Message[] = [];
    const receive = async (waitSeconds: number) => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrls["cart-closed-subscriber"], MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, MessageAttributeNames: ["All"] }),
      );
      if (Messages.length > 0)
        await sqs.send(
          new DeleteMessageBatchCommand({ QueueUrl: queueUrls["cart-closed-subscriber"], Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }),
        );
      received.push(...Messages);
      return Messages.length;
    };

    // Act: until every expected one came, then until the queue answers empty.
    await eventually("every CartClosed in the subscriber queue", async () => {
      while ((await receive(0)) > 0);
      const ids = new Set(received.map((m) => (JSON.parse(m.Body!) as EventRecord).eventId));
      expect(closed.filter((id) => !ids.has(id))).toEqual([]);
    });
    while ((await receive(1)) > 0);

    // Assess: raw delivery, so each body is the event itself.
    const bodies = received.map((m) => JSON.parse(m.Body!) as EventRecord);
    expect(closed.length).toBe(PLANS.filter((steps) => steps.some((s) => s.command === "CloseCart")).length);
    expect(bodies.map((e) => e.eventId).sort()).toEqual(closed);
    expect(bodies.every((e) => e.type === "CartClosed" && e.microservice === "cart")).toBe(true);
    expect(received.map((m) => [m.MessageAttributes?.microservice?.StringValue, m.MessageAttributes?.type?.StringValue])).toEqual(
      closed.map(() => ["cart", "CartClosed"]),
    );
  });

  it("builds cart-summary and open-carts as the events say", async () => {
    // Act
    before = await eventually("the read models caught up", async () => {
      const models = await readModels();
      expect(models).toEqual(expected);
      return models;
    });

    // Assess
    expect(Object.values(before.summaries).flatMap((s: Json) => s.carts)).toHaveLength(CARTS);
    expect(before.open.carts.length).toBe(CARTS - PLANS.filter((steps) => steps.some((s) => s.command === "CloseCart")).length);
    expect(await parkedBatches()).toEqual([]);
  });

  it("rebuilds identical read models from the archive: POST /admin/replays for cart-summary, npm run replay for open-carts", { timeout: 120_000 }, async () => {
    // Prepare
    const itemsBefore = await projectionItems({ withRevision: false });
    expect(itemsBefore).toHaveLength(2 * CARTS);

    // Act
    const started = await api.post("/admin/replays", { handler: "cart-summary", reset: true });
    const statuses: Json[] = [];
    for (let status = started.body; ; ) {
      statuses.push(status);
      if (status.state !== "running") break;
      await sleep(100);
      status = (await api.get(started.body.statusUrl)).body;
    }
    const cli = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile("npm", ["run", "replay", "--", "--handler", "open-carts", "--reset", "--url", stack().url], { cwd: ROOT, timeout: 90_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      ),
    );
    const rebuilt = await eventually("the read models rebuilt", async () => {
      const models = await readModels();
      expect(models).toEqual(before);
      expect(await projectionItems({ withRevision: false })).toEqual(itemsBefore);
      return models;
    });

    // Assess
    expect(started.status).toBe(202);
    expect(statuses.at(-1)).toMatchObject({ handler: "cart-summary", state: "done", objectsRead: archiveObjects, objectsTotal: archiveObjects, eventsSent: events.length });
    expect(statuses.at(-1).eventsApplied).toBeGreaterThanOrEqual(events.length);
    expect(cli.code, `${cli.stdout}\n${cli.stderr}`).toBe(0);
    expect(cli.stdout).toMatch(/replay \S+ of open-carts started \(a rebuild/);
    expect(cli.stdout).toMatch(new RegExp(`replay \\S+ of open-carts: done, ended \\| ${archiveObjects}/${archiveObjects} objects \\| (\\d+)/\\1 events applied`));
    // Not a terminal: the progress bar prints a line now and then on stderr.
    expect(cli.stderr).toMatch(/open-carts \[[=-]+\] \d+%/);
    expect(rebuilt).toEqual(before);
    expect(await eventually("the replay queues drained", async () => {
      const depths = await Promise.all(["cart-summary-replay", "open-carts-replay", "cart-summary-replay-dlq", "open-carts-replay-dlq"].map(queueDepth));
      expect(depths).toEqual([0, 0, 0, 0]);
      return depths;
    })).toEqual([0, 0, 0, 0]);
  });

  it("changes nothing when a Kinesis batch and an SQS batch are delivered again by hand", async () => {
    // Prepare: some carts' events, closed carts and emptied lines among them, as Kinesis carried them.
    const again = new Set([0, 1, 2, 3, 4, 5].map((i) => `cart:${cartIdOf(i)}`));
    const redelivered = kinesisRecords.filter((e) => again.has(e.streamId));
    const itemsBefore = await projectionItems({ withRevision: true });

    // Act
    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName: STREAM, Records: redelivered.map((e) => ({ PartitionKey: e.streamId, Data: Buffer.from(JSON.stringify(e)) })) }),
    );
    expect(put.FailedRecordCount ?? 0).toBe(0);
    for (const queue of ["cart-summary-replay", "open-carts-replay"]) {
      for (let i = 0; i < redelivered.length; i += 10) {
        const { Failed = [] } = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrls[queue],
            Entries: redelivered.slice(i, i + 10).map((e, n) => ({
              Id: String(n),
              MessageBody: JSON.stringify(e),
              MessageGroupId: e.streamId,
              MessageDeduplicationId: `again:${e.eventId}`,
            })),
          }),
        );
        expect(Failed).toEqual([]);
      }
    }
    // Handled: each Kinesis consumer's checkpoint is at or past the last record put on each shard, and the queues are empty.
    const lastPut = new Map<string, bigint>();
    for (const r of put.Records ?? []) lastPut.set(r.ShardId!, [lastPut.get(r.ShardId!) ?? 0n, BigInt(r.SequenceNumber!)].reduce((a, b) => (a > b ? a : b)));
    await eventually("the redelivered records handled", async () => {
      const checkpoints = (await db.send(new ScanCommand({ TableName: `${TABLE_PREFIX}checkpoints`, ConsistentRead: true }))).Items ?? [];
      for (const consumer of ["archiver", "cart-summary", "open-carts"])
        for (const [shardId, last] of lastPut) {
          const at = checkpoints.find((c) => String(c.consumer).startsWith(`${consumer}@`) && c.shardId === shardId)?.sequenceNumber;
          expect(at !== undefined && BigInt(at) >= last, `${consumer} on ${shardId} at ${at}, put ${last}`).toBe(true);
        }
      expect(await Promise.all(["cart-summary-replay", "open-carts-replay"].map(queueDepth))).toEqual([0, 0]);
    });

    // Assess: duplicates are skipped, so not even an item's revision moved.
    expect(redelivered.length).toBeGreaterThan(20);
    expect(await readModels()).toEqual(before);
    expect(await projectionItems({ withRevision: true })).toEqual(itemsBefore);
    expect(await Promise.all(["cart-summary-replay-dlq", "open-carts-replay-dlq"].map(queueDepth))).toEqual([0, 0]);
    expect(await parkedBatches()).toEqual([]);
  });

  it("npm run redrive and npm run replay work against the running stack, and exit non-zero when the stack refuses", { timeout: 120_000 }, async () => {
    // Prepare
    const run = (script: string, ...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile("npm", ["run", "--silent", script, "--", ...args, "--url", stack().url], { cwd: ROOT, timeout: 90_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        ),
      );

    // Act
    const dlq = await run("redrive", "--queue", "cart-summary-replay-dlq");
    const parked = await run("redrive", "--queue", "cart-summary-failures");
    const unknownQueue = await run("redrive", "--queue", "no-such-queue");
    const unknownHandler = await run("replay", "--handler", "no-such-projection");

    // Assess
    expect(dlq.code, dlq.stderr).toBe(0);
    expect(dlq.stdout).toContain("redrive of cart-summary-replay-dlq done: 0 messages moved");
    expect(parked.code, parked.stderr).toBe(0);
    expect(parked.stdout).toContain("cart-summary-failures: 0 parked batches handed back to cart-summary; 0 still parked");
    expect(unknownQueue.code).not.toBe(0);
    expect(unknownQueue.stderr).toContain("queue");
    expect(unknownHandler.code).not.toBe(0);
    expect(unknownHandler.stderr).toContain("handler");
  });

  it("keeps every invariant over the whole run, redeliveries and rebuilds included (the history checker)", async () => {
    const { endpoints } = (await api.get("/health")).body;
    expect(await checkHistory(endpoints, acknowledged)).toEqual([]);
  });
});
