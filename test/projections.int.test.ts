// Projections against DynamoDB Local: the runner's checkpoint and gap filling
// on the real tables, concurrent writers of one item, the projector handlers'
// partial batch failures, reset, and the query routes.
import { InternalServerError } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { prefixedTableNames, type Store } from "../core/dynamo.js";
import {
  loadReadModel,
  project,
  queryReadModels,
  readModelCache,
  resetProjection,
  type Projection,
} from "../core/projections/index.js";
import type { EventRecord } from "../core/records.js";
import { cartSummary } from "../core/cart/cart-summary.js";
import { openCarts } from "../core/cart/open-carts.js";
import { liveProjector, projectionRoute, replayProjector } from "./support/app.js";
import { startDynamo, type LocalDynamo } from "../local/dynamodb.js";
import { createTables } from "../local/tables.js";
import { interceptedStore, type Intercept, type Sent } from "./support/intercepted-store.js";
import { answerOf, httpEvent } from "./support/http-events.js";
import { added, cartStream, closed, kinesisEvent, MINUTE, opened, removed, shuffled, sqsEvent, T0 } from "./support/projection-records.js";
import { deliverBatches, logReader } from "./support/projection-spec.js";

const tables = prefixedTableNames("projections-int-");

let dynamo: LocalDynamo;
let store: Store;
/** What every command sent through `store` goes through first; tests swap it. */
let intercept: Intercept = () => {};
const sent: Sent[] = [];
let destroy: () => void;

beforeAll(async () => {
  dynamo = await startDynamo();
  const connection = interceptedStore(dynamo.endpoint, tables, async (s) => {
    sent.push(s);
    await intercept(s);
  });
  store = connection.store;
  destroy = connection.destroy;
  await createTables(connection.client, tables);
});

afterAll(async () => {
  destroy?.();
  await dynamo?.stop();
});

beforeEach(async () => {
  intercept = () => {};
  sent.length = 0;
  await resetProjection(store, cartSummary.name);
  await resetProjection(store, openCarts.name);
});

/** Writes events to the events table, as the sequencer would have. */
const logEvents = async (events: readonly EventRecord[]) => {
  for (let i = 0; i < events.length; i += 25)
    await store.db.send(
      new BatchWriteCommand({ RequestItems: { [tables.events]: events.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }),
    );
};

/** The model each item folds to from its events delivered once, in order. */
const expectedModels = async <M>(projection: Projection<M>, log: readonly EventRecord[]) => {
  const keys = [...new Set(log.map((e) => projection.keyOf(e)))];
  return Object.fromEntries(
    await Promise.all(
      keys.map(async (key) => [key, (await deliverBatches(projection, key, [log.filter((e) => projection.keyOf(e) === key)], logReader(log))).model] as const),
    ),
  );
};

const storedModels = async <M>(projection: Projection<M>) =>
  Object.fromEntries((await queryReadModels(store, projection)).map((item) => [item.key, item.model]));

const failing = (error: () => Error, when: (s: Sent) => boolean): Intercept => (s) => {
  if (when(s)) throw error();
};
const writesTo = (key: string) => (s: Sent) => s.name === "PutItemCommand" && s.input.TableName === tables.projections && s.input.Item?.key === key;
const serverError = () => new InternalServerError({ message: "injected", $metadata: {} });

describe("project", () => {
  it("ends with the in-order read models however often and in whatever order batches deliver the events", async () => {
    // Prepare: three carts, every event delivered twice, shuffled, in batches of 4
    const log = [
      ...cartStream("dup-1", [opened("ann"), added("a", 1, 10), added("b", 2, 20), removed("a", 1)]),
      ...cartStream("dup-2", [opened("bob"), added("c", 3, 30), closed(90)]),
      ...cartStream("dup-3", [opened("ann"), added("d", 1, 5)]),
    ];
    await logEvents(log);
    const deliveries = shuffled(log.flatMap((e) => [e, e]), 7);

    // Act
    const results = [];
    for (let i = 0; i < deliveries.length; i += 4) results.push(await project(store, cartSummary, deliveries.slice(i, i + 4)));
    const replayed = await project(store, cartSummary, log);

    // Assess
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    expect(await storedModels(cartSummary)).toEqual(await expectedModels(cartSummary, log));
    expect(replayed).toMatchObject({ applied: 0, skipped: log.length, written: 0 });
    const item = await loadReadModel(store, cartSummary, "dup-1");
    expect(item?.versions).toEqual({ "cart:dup-1": 4 });
  });

  it("keeping the items it wrote, reads none again: a later batch of the same carts is writes only", async () => {
    // Prepare
    const log = [...cartStream("cache-1", [opened("ann"), added("apple", 1, 100)]), ...cartStream("cache-2", [opened("bob"), added("pear", 2, 50)])];
    const cache = readModelCache();
    await project(store, cartSummary, log.filter((e) => e.version === 1), { cache });
    sent.length = 0;

    // Act
    const result = await project(store, cartSummary, log.filter((e) => e.version === 2), { cache });

    // Assess
    expect(result).toMatchObject({ applied: 2, written: 2, failures: [] });
    expect(sent.map((s) => s.name)).toEqual(["PutItemCommand", "PutItemCommand"]);
    expect(await storedModels(cartSummary)).toEqual(await expectedModels(cartSummary, log));
  });

  it("fills a gap from the events table with consistent reads, in one query", async () => {
    // Prepare: the log holds v1..v5; only v5 is delivered
    const log = cartStream("gap-1", [opened("cy"), added("a", 1, 10), added("b", 1, 20), added("c", 1, 30), closed(60)]);
    await logEvents(log);
    sent.length = 0;

    // Act
    const result = await project(store, cartSummary, [log[4]!]);

    // Assess
    expect(result).toMatchObject({ applied: 5, filled: 4, written: 1, failures: [] });
    expect((await loadReadModel(store, cartSummary, "gap-1"))?.model).toEqual((await expectedModels(cartSummary, log))["gap-1"]);
    const reads = sent.filter((s) => s.name === "QueryCommand" && s.input.TableName === tables.events);
    expect(reads).toHaveLength(1);
    expect(reads[0]!.input.ConsistentRead).toBe(true);
  });

  it("takes a gap's events from the batch itself when it holds them, without reading the table", async () => {
    // Prepare: nothing in the table; the batch holds v1..v3 in reverse
    const log = cartStream("gap-2", [opened("di"), added("a", 1, 10), added("b", 1, 20)]);
    sent.length = 0;

    // Act
    const result = await project(store, cartSummary, [...log].reverse());

    // Assess
    expect(result).toMatchObject({ applied: 3, skipped: 2, filled: 2, failures: [] });
    expect(sent.filter((s) => s.name === "QueryCommand")).toEqual([]);
  });

  it("fails only the item whose gap the table cannot fill, writing nothing for it", async () => {
    // Prepare: gap-3's v1 and v2 were never written; gap-4 is complete
    const broken = cartStream("gap-3", [opened("ed"), added("a", 1, 10), added("b", 1, 20)]);
    const fine = cartStream("gap-4", [opened("fay")]);

    // Act
    const result = await project(store, cartSummary, [broken[2]!, fine[0]!]);

    // Assess
    expect(result.failures).toEqual([{ key: "gap-3", eventIds: ["cart:gap-3#3"], error: expect.objectContaining({ name: "Error" }) }]);
    expect(String(result.failures[0]!.error)).toContain("needs versions 1..2 before 3");
    expect(await loadReadModel(store, cartSummary, "gap-3")).toBeUndefined();
    expect(await loadReadModel(store, cartSummary, "gap-4")).toMatchObject({ revision: 1, versions: { "cart:gap-4": 1 } });
  });

  it.each([
    ["reading the item each batch", false],
    ["each writer keeping the items it wrote last", true],
  ])("ends correct when a replay and live traffic write the same item at once, losing races along the way, %s", async (_, cached) => {
    // Prepare: 12 events of one cart; every writer's first read waits for all the others', so their first writes collide
    const log = cartStream("race-1", [opened("gus"), ...Array.from({ length: 10 }, (_, i) => added(`sku-${i % 4}`, 1 + (i % 3), 10 * (i + 1))), closed(0)]);
    await logEvents(log);
    const writers = 4;
    let arrived = 0;
    let release!: () => void;
    const allArrived = new Promise<void>((r) => (release = r));
    intercept = async (s) => {
      if (s.name !== "GetItemCommand" || arrived >= writers) return;
      if (++arrived === writers) release();
      await allArrived;
    };
    const live = async () => {
      const cache = cached ? readModelCache() : undefined;
      const results = [];
      for (let i = 0; i < log.length; i += 2) results.push(await project(store, cartSummary, log.slice(i, i + 2), { cache }));
      return results;
    };
    const replay = async (seed: number) => {
      const cache = cached ? readModelCache() : undefined;
      const results = [];
      const order = shuffled(log, seed);
      for (let i = 0; i < order.length; i += 3) results.push(await project(store, cartSummary, order.slice(i, i + 3), { cache }));
      return results;
    };

    // Act
    const results = (await Promise.all([live(), replay(1), replay(2), live()])).flat();

    // Assess
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    const item = await loadReadModel(store, cartSummary, "race-1");
    expect(item?.model).toEqual((await expectedModels(cartSummary, log))["race-1"]);
    expect(item?.versions).toEqual({ "cart:race-1": 12 });
    const attempts = sent.filter(writesTo("race-1")).length;
    const written = results.reduce((n, r) => n + r.written, 0);
    expect(attempts, "some writes lost the race and were redone").toBeGreaterThan(written);
    expect(item?.revision).toBe(written);
  });
});

describe("projector on Kinesis", () => {
  it("reports the first record of a failing item; the rest of the batch is applied, and the retry from there completes it", async () => {
    // Prepare: three carts interleaved; writes of k-bad fail during the first delivery
    const a = cartStream("k-good", [opened("ann"), added("a", 1, 10)]);
    const bad = cartStream("k-bad", [opened("bob"), added("b", 2, 20)]);
    const c = cartStream("k-late", [opened("cy")]);
    const batch = [a[0]!, bad[0]!, a[1]!, c[0]!, bad[1]!];
    const handler = liveProjector(cartSummary.name, store);
    const event = kinesisEvent(batch);
    intercept = failing(serverError, writesTo("k-bad"));

    // Act
    const first = await handler(event);
    intercept = () => {};
    const resumeAt = event.Records.findIndex((r) => r.kinesis.sequenceNumber === first.batchItemFailures[0]?.itemIdentifier);
    const retry = await handler({ Records: event.Records.slice(resumeAt) });

    // Assess
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }]);
    expect(retry.batchItemFailures).toEqual([]);
    expect(await storedModels(cartSummary)).toEqual(await expectedModels(cartSummary, [...a, ...bad, ...c]));
  });

  it("reports a record that is not an event and applies only what came before it", async () => {
    // Prepare
    const a = cartStream("k-poison", [opened("dee"), added("a", 1, 10)]);
    const event = kinesisEvent([a[0]!, { raw: "{not json" }, a[1]!]);

    // Act
    const response = await liveProjector(cartSummary.name, store)(event);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }]);
    expect((await loadReadModel(store, cartSummary, "k-poison"))?.versions).toEqual({ "cart:k-poison": 1 });
  });

  it("changes nothing when a batch is delivered again", async () => {
    // Prepare
    const log = cartStream("k-again", [opened("eve"), added("a", 1, 10), closed(10)]);
    const handler = liveProjector(openCarts.name, store);
    expect(await handler(kinesisEvent(log))).toEqual({ batchItemFailures: [] });
    const before = await loadReadModel(store, openCarts, "k-again");
    // The first delivery wrote the item: a projector that wrote nothing would change nothing the second time either.
    expect(before).toMatchObject({ revision: 1, versions: { "cart:k-again": 3 }, model: { status: "closed", owner: "eve" } });
    sent.length = 0;

    // Act
    const again = await handler(kinesisEvent(log));

    // Assess
    expect(again.batchItemFailures).toEqual([]);
    expect(await loadReadModel(store, openCarts, "k-again")).toEqual(before);
    expect(sent.filter((s) => s.name === "PutItemCommand")).toEqual([]);
  });
  it("after a reset deleted the items it wrote, brings an item back whole on its next event", async () => {
    // Prepare: the projector wrote the cart (and keeps it); a reset deletes it behind its back.
    const log = cartStream("k-reset", [opened("fay"), added("a", 1, 10), added("b", 2, 5)]);
    await logEvents(log);
    const handler = liveProjector(cartSummary.name, store);
    expect(await handler(kinesisEvent(log.slice(0, 2)))).toEqual({ batchItemFailures: [] });
    await resetProjection(store, cartSummary.name);

    // Act
    expect(await handler(kinesisEvent(log.slice(2)))).toEqual({ batchItemFailures: [] });

    // Assess: folded from the log, not from what the projector remembered.
    expect(await storedModels(cartSummary)).toEqual(await expectedModels(cartSummary, log));
    expect((await queryReadModels(store, cartSummary)).map((item) => item.versions)).toEqual([{ "cart:k-reset": 3 }]);
  });
});

describe("projector on SQS FIFO", () => {
  it("reports every message of a failing group from its first failure on, and lets other groups through", async () => {
    // Prepare: groups (streams) q-bad and q-good interleaved, then a message that is no event in q-good's group
    const bad = cartStream("q-bad", [opened("fay"), added("a", 1, 10), added("b", 1, 10)]);
    const good = cartStream("q-good", [opened("gil"), added("c", 1, 10)]);
    const event = sqsEvent([bad[0]!, good[0]!, bad[1]!, good[1]!, bad[2]!, { raw: "[]", group: "cart:q-good" }]);
    intercept = failing(serverError, writesTo("q-bad"));

    // Act
    const response = await replayProjector(cartSummary.name, store)(event);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-0" }, { itemIdentifier: "m-2" }, { itemIdentifier: "m-4" }, { itemIdentifier: "m-5" }]);
    expect(await loadReadModel(store, cartSummary, "q-bad")).toBeUndefined();
    expect((await loadReadModel(store, cartSummary, "q-good"))?.versions).toEqual({ "cart:q-good": 2 });
  });
  it("rebuilds every item of a replay after a reset, though the same projector replayed them before", async () => {
    // Prepare: a first replay built the cart; a reset deletes it before the second.
    const log = cartStream("q-again", [opened("gil"), added("a", 1, 10), closed(10)]);
    await logEvents(log);
    const handler = replayProjector(cartSummary.name, store);
    expect(await handler(sqsEvent(log))).toEqual({ batchItemFailures: [] });
    await resetProjection(store, cartSummary.name);

    // Act
    expect(await handler(sqsEvent(log))).toEqual({ batchItemFailures: [] });

    // Assess
    expect(await storedModels(cartSummary)).toEqual(await expectedModels(cartSummary, log));
  });
});

describe("resetProjection", () => {
  it("deletes every item of one projection, page after page, and leaves the others", async () => {
    // Prepare: 60 carts in cart-summary (more than one BatchWrite), 3 in open-carts
    const log = Array.from({ length: 60 }, (_, i) => cartStream(`reset-${String(i).padStart(2, "0")}`, [opened("hal")])).flat();
    expect((await project(store, cartSummary, log)).written).toBe(60);
    expect((await project(store, openCarts, log.slice(0, 3))).written).toBe(3);

    // Act
    const deleted = await resetProjection(store, cartSummary.name);

    // Assess
    expect(deleted).toBe(60);
    expect(await queryReadModels(store, cartSummary)).toEqual([]);
    expect(await queryReadModels(store, openCarts)).toHaveLength(3);
  });
});

describe("query routes", () => {
  const NOW = T0 + 20 * 86_400_000;
  const log = [
    ...cartStream("u-1", [opened("ann"), added("apple", 2, 100), added("pear", 1, 250)], { at: T0 }),
    ...cartStream("u-2", [opened("ann"), added("fig", 1, 40), closed(40)], { at: T0 }),
    ...cartStream("u-3", [opened("bob"), added("kiwi", 3, 10)], { at: NOW - 2 * 86_400_000 }),
    ...cartStream("u-4", [opened("cy")], { at: NOW - 30 * MINUTE }),
  ];

  beforeEach(async () => {
    await project(store, cartSummary, log);
    await project(store, openCarts, log);
  });

  it("GET /users/{user}/carts answers the user's carts and no one else's", async () => {
    // Act
    const route = projectionRoute("GET /users/{user}/carts", store);
    const ann = answerOf(await route(httpEvent({ path: "/users/ann/carts", pathParameters: { user: "ann" } })));
    const nobody = answerOf(await route(httpEvent({ path: "/users/zed/carts", pathParameters: { user: "zed" } })));

    // Assess
    expect(ann).toEqual({
      status: 200,
      body: {
        user: "ann",
        carts: [
          { cartId: "u-1", status: "open", itemCount: 3, total: 450 },
          { cartId: "u-2", status: "closed", itemCount: 1, total: 40 },
        ],
      },
    });
    expect(nobody).toEqual({ status: 200, body: { user: "zed", carts: [] } });
  });

  it("GET /carts?status=open&idleFor= answers open carts idle at least that long, longest idle first", async () => {
    // Prepare
    const route = projectionRoute("GET /carts", store, () => NOW);
    const get = async (query: Record<string, string>) => answerOf(await route(httpEvent({ path: "/carts", query })));
    const iso = (ms: number) => new Date(ms).toISOString();

    // Act
    const twoWeeks = await get({ status: "open", idleFor: "P14D" });
    const oneHour = await get({ status: "open", idleFor: "PT1H" });
    const all = await get({ status: "open" });

    // Assess
    expect(twoWeeks).toEqual({ status: 200, body: { carts: [{ cartId: "u-1", owner: "ann", lastActivityAt: iso(T0 + 2 * MINUTE) }] } });
    expect(oneHour.body.carts.map((c: { cartId: string }) => c.cartId)).toEqual(["u-1", "u-3"]);
    expect(all.body.carts.map((c: { cartId: string }) => c.cartId)).toEqual(["u-1", "u-3", "u-4"]);
  });

  it("GET /carts answers 400 naming the parameter for a missing or unsupported status and a bad idleFor", async () => {
    // Prepare
    const route = projectionRoute("GET /carts", store, () => NOW);
    const get = async (query?: Record<string, string>) => answerOf(await route(httpEvent({ path: "/carts", query })));

    // Act
    const answers = await Promise.all([
      get(),
      get({ status: "closed" }),
      get({ status: "open", idleFor: "14 days" }),
      get({ status: "open", idleFor: "P1M" }),
      get({ status: "open", idlefor: "P1D" }),
    ]);

    // Assess
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400, 400]);
    expect(answers.map((a) => a.body.issues[0].field)).toEqual(["status", "status", "idleFor", "idleFor", "idlefor"]);
    expect(answers[2]!.body.message).toContain("ISO 8601 duration");
  });
});
