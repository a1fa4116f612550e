// Upcasting against DynamoDB Local and fauxqs's S3: a cart whose log was
// written before ItemAdded had a currency (v1 items, exactly as the sequencer
// wrote them then) reads the same as a cart of the same commands written by
// today's code — folded, at each version, over the events route, in the
// projections and from the archive — while its stored items stay as they were.
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { BatchWriteCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromSnapshot, readAggregate, readSnapshot } from "../core/aggregates.js";
import { app } from "../core/app.js";
import { expandApp } from "../core/app-definition.js";
import { cartSummary } from "../core/cart/cart-summary.js";
import { openCarts } from "../core/cart/open-carts.js";
import { prefixedTableNames, type Store } from "../core/dynamo.js";
import { readEvents, readLog } from "../core/events.js";
import { archive, readArchiveObject } from "../core/fanout/archiver.js";
import { stateAt, verifySnapshot } from "../core/history.js";
import { loadReadModel, project, type AnyProjection } from "../core/projections/index.js";
import type { EventRecord } from "../core/records.js";
import { sequence, type SequencerDeps } from "../core/sequencer/sequencer.js";
import { upcasterOf } from "../core/upcast.js";
import { makeHandler as makeEventsRoute } from "../functions/events.js";
import { startDynamo, type LocalDynamo } from "../local/dynamodb.js";
import { s3ClientConfig, startFauxqs, type LocalFauxqs } from "../local/fauxqs.js";
import { createTables } from "../local/tables.js";
import { commandsFor, RECEIVED_AT } from "./support/command-records.js";
import { answerOf, httpEvent } from "./support/http-events.js";
import { interceptedStore, type InterceptedStore } from "./support/intercepted-store.js";

const tables = prefixedTableNames("upcast-int-");
const expanded = expandApp(app);
const cart = expanded.microservices.cart!;
const NOW = RECEIVED_AT + 1_000;
const BUCKET = "upcast-archive";

let dynamo: LocalDynamo;
let fauxqs: LocalFauxqs;
let s3: S3Client;
let connection: InterceptedStore;
/** As deployed: reads upcast. */
let store: Store;
/** The same tables read as stored: what the events table's stream, Kinesis and the archive carry. */
let raw: Store;

const OLD = `old-${ulid()}`;
const NEW = `new-${ulid()}`;
const streamOf = (cartId: string) => `cart:${cartId}`;

// The same shopping, as commands (today) and as the v1 events the sequencer committed for them before.
const shopping = [
  { command: "OpenCart" },
  { command: "AddItem", payload: { sku: "apple", quantity: 2, unitPrice: 150 } },
  { command: "AddItem", payload: { sku: "pear", quantity: 1, unitPrice: 90 } },
  { command: "RemoveItem", payload: { sku: "apple", quantity: 1 } },
  { command: "AddItem", payload: { sku: "apple", quantity: 3, unitPrice: 120 } },
];
const v1Events: readonly Pick<EventRecord, "type" | "data">[] = [
  { type: "CartOpened", data: { owner: "u-1" } },
  { type: "ItemAdded", data: { sku: "apple", quantity: 2, unitPrice: 150 } },
  { type: "ItemAdded", data: { sku: "pear", quantity: 1, unitPrice: 90 } },
  { type: "ItemRemoved", data: { sku: "apple", quantity: 1 } },
  { type: "ItemAdded", data: { sku: "apple", quantity: 3, unitPrice: 120 } },
];

/** An events-table item exactly as the sequencer wrote it before upcasters: no typeVersion, no currency. */
const v1Item = (cartId: string, seq: number, { type, data }: Pick<EventRecord, "type" | "data">): EventRecord => ({
  streamId: streamOf(cartId),
  version: seq,
  type,
  data,
  eventId: `${streamOf(cartId)}#${seq}`,
  microservice: "cart",
  aggregateId: cartId,
  commandKey: streamOf(cartId),
  commandSeq: seq,
  commandId: `${cartId}/${seq}`,
  user: "u-1",
  correlationId: `${streamOf(cartId)}/${seq}`,
  causationId: `${streamOf(cartId)}/${seq}`,
  occurredAt: RECEIVED_AT,
  recordedAt: NOW,
});
const oldLog = v1Events.map((event, i) => v1Item(OLD, i + 1, event));

/** What differs between two carts' events only because they are two carts. */
const withoutIds = ({ streamId, aggregateId, eventId, commandKey, commandId, correlationId, causationId, ...rest }: EventRecord) => rest;
/** And the version an event was stored at, which is the one thing the read shows differently. */
const asRead = (event: EventRecord) => {
  const { storedTypeVersion, ...rest } = withoutIds(event);
  return rest;
};

const depsWith = (over: Partial<SequencerDeps> = {}): SequencerDeps => ({ store, microservices: expanded.microservices, clock: () => NOW, ...over });

const storedItems = async (cartId: string): Promise<EventRecord[]> =>
  ((await raw.db.send(new QueryCommand({ TableName: tables.events, KeyConditionExpression: "streamId = :s", ExpressionAttributeValues: { ":s": streamOf(cartId) }, ConsistentRead: true }))).Items ?? []) as EventRecord[];

beforeAll(async () => {
  [dynamo, fauxqs] = await Promise.all([startDynamo(), startFauxqs()]);
  connection = interceptedStore(dynamo.endpoint, tables);
  raw = connection.store;
  store = { ...raw, upcast: upcasterOf(expanded.microservices) };
  await createTables(connection.client, tables);
  s3 = new S3Client(s3ClientConfig(fauxqs.endpoint));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  // Prepare: the old cart's log and its snapshot, both as they were written under schemaVersion 1.
  await raw.db.send(new BatchWriteCommand({ RequestItems: { [tables.events]: oldLog.map((Item) => ({ PutRequest: { Item } })) } }));
  const oldState = { status: "open", owner: "u-1", items: [{ sku: "apple", quantity: 4, unitPrice: 120 }, { sku: "pear", quantity: 1, unitPrice: 90 }] };
  await raw.db.send(
    new PutCommand({ TableName: tables.snapshots, Item: { streamId: streamOf(OLD), version: 5, lastSeq: 5, schemaVersion: 1, state: oldState, updatedAt: NOW } }),
  );
  // The new cart: the same commands through today's sequencer.
  expect(await sequence(commandsFor(NEW, shopping), depsWith())).toMatchObject({ failedAt: undefined, committed: 5 });
});

afterAll(async () => {
  s3?.destroy();
  connection?.destroy();
  await Promise.all([dynamo?.stop(), fauxqs?.stop()]);
});

describe("upcasting a log written before ItemAdded had a currency", () => {
  it("stores new events at the current version and leaves the old ones as they were", async () => {
    const [oldItems, newItems] = [await storedItems(OLD), await storedItems(NEW)];

    expect(oldItems).toEqual(oldLog);
    // Today's writer differs from yesterday's only by ItemAdded's typeVersion and currency.
    expect(newItems.map(withoutIds)).toEqual(
      oldLog.map((e) => withoutIds(e.type === "ItemAdded" ? { ...e, typeVersion: 2, data: { ...(e.data as object), currency: "EUR" } } : e)),
    );
  });

  it("reads the old log in the current shape, saying which version it was stored at", async () => {
    const [oldRead, newRead] = [await readLog(store, streamOf(OLD)), await readLog(store, streamOf(NEW))];

    expect(oldRead.map(asRead)).toEqual(newRead.map(asRead));
    expect(oldRead.map((e) => [e.type, e.typeVersion, e.storedTypeVersion])).toEqual([
      ["CartOpened", undefined, undefined],
      ["ItemAdded", 2, 1],
      ["ItemAdded", 2, 1],
      ["ItemRemoved", undefined, undefined],
      ["ItemAdded", 2, 1],
    ]);
    expect(oldRead[1]!.data).toEqual({ sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" });
    expect(newRead.map((e) => e.storedTypeVersion)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect((await readEvents(store, streamOf(OLD), 1, 1)).events.map(asRead)).toEqual((await readEvents(store, streamOf(NEW), 1, 1)).events.map(asRead));
  });

  it("answers GET /streams/{id}/events in the current shape, with typeVersion and storedTypeVersion", async () => {
    const route = makeEventsRoute({ store, app: expanded, clock: () => NOW, endpoints: {}, identityFromBody: false });
    const get = async (cartId: string) =>
      answerOf(await route(httpEvent({ path: `/streams/${streamOf(cartId)}/events`, pathParameters: { streamId: streamOf(cartId) } })));

    const [old, now] = [await get(OLD), await get(NEW)];

    expect(old.status).toBe(200);
    expect(old.body.events[1]).toEqual({
      version: 2,
      type: "ItemAdded",
      typeVersion: 2,
      storedTypeVersion: 1,
      data: { sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" },
      eventId: `${streamOf(OLD)}#2`,
      commandKey: streamOf(OLD),
      commandSeq: 2,
      commandId: `${OLD}/2`,
      user: "u-1",
      correlationId: `${streamOf(OLD)}/2`,
      causationId: `${streamOf(OLD)}/2`,
      occurredAt: new Date(RECEIVED_AT).toISOString(),
      recordedAt: new Date(NOW).toISOString(),
    });
    const shapes = (body: { events: Record<string, unknown>[] }) => body.events.map(({ type, typeVersion, data }) => ({ type, typeVersion, data }));
    expect(shapes(old.body)).toEqual(shapes(now.body));
    expect(now.body.events[1]).not.toHaveProperty("storedTypeVersion");
    expect(old.body.events[0]).not.toHaveProperty("typeVersion");
  });

  it("folds both logs to the same state, at every version", async () => {
    for (let version = 0; version <= 5; version++)
      expect((await stateAt(store, cart, streamOf(OLD), { version })).state).toEqual((await stateAt(store, cart, streamOf(NEW), { version })).state);
    expect((await stateAt(store, cart, streamOf(OLD), { at: NOW })).state).toEqual({
      status: "open",
      owner: "u-1",
      items: [
        { sku: "apple", quantity: 4, unitPrice: 120, currency: "EUR" },
        { sku: "pear", quantity: 1, unitPrice: 90, currency: "EUR" },
      ],
    });
  });

  it("rebuilds the schemaVersion 1 snapshot from the upcast log, and the sequencer goes on from it", async () => {
    const rebuilt = await fromSnapshot(store, cart, streamOf(OLD), await readSnapshot(store, streamOf(OLD)));

    const current = await readAggregate(store, cart, streamOf(NEW));
    expect(rebuilt).toEqual({ state: current.state, version: 5, lastSeq: 5 });
    expect(await verifySnapshot(store, cart, streamOf(OLD))).toMatchObject({ agrees: false, differences: [{ path: "schemaVersion", snapshot: 1, folded: 2 }] });
    expect(await verifySnapshot(store, cart, streamOf(NEW))).toMatchObject({ agrees: true });

    // Act: one more command for each cart, through today's sequencer.
    const more = [{ command: "AddItem", payload: { sku: "kiwi", quantity: 1, unitPrice: 80 } }];
    await sequence([...commandsFor(OLD, more, 6), ...commandsFor(NEW, more, 6)], depsWith());

    // Assess: the old cart's snapshot is rewritten at schemaVersion 2, equal to the new cart's.
    const [old, now] = [await readSnapshot(store, streamOf(OLD)), await readSnapshot(store, streamOf(NEW))];
    expect(old).toEqual({ ...now!, streamId: streamOf(OLD) });
    expect(old).toMatchObject({ version: 6, lastSeq: 6, schemaVersion: 2 });
    expect(await verifySnapshot(store, cart, streamOf(OLD))).toMatchObject({ agrees: true });
    // The old items stay v1; the new event is v2.
    expect((await storedItems(OLD)).map((e) => e.typeVersion)).toEqual([undefined, undefined, undefined, undefined, undefined, 2]);
  });

  it("projects both logs, delivered as stored, to the same read models", async () => {
    const [oldItems, newItems] = [await storedItems(OLD), await storedItems(NEW)];
    for (const projection of [cartSummary, openCarts] as AnyProjection[]) {
      // The batch as the stream carries it: items as stored, the old cart's v1.
      const result = await project(store, projection, [...oldItems, ...newItems]);
      expect(result).toMatchObject({ applied: 12, failures: [] });

      const [old, now] = [await loadReadModel(store, projection, OLD), await loadReadModel(store, projection, NEW)];
      expect(old?.model).toEqual(now?.model);
    }
    expect((await loadReadModel(store, cartSummary, OLD))?.model).toMatchObject({ items: expect.arrayContaining([expect.objectContaining({ currency: "EUR" })]) });
  });

  it("fills a projection's gap from the upcast log", async () => {
    // Deliver only each cart's last event to a fresh item: the rest comes from readLog.
    const fresh = { ...cartSummary, name: `cart-summary-gap-${ulid()}` };
    const [oldItems, newItems] = [await storedItems(OLD), await storedItems(NEW)];
    const result = await project(store, fresh, [oldItems.at(-1)!, newItems.at(-1)!]);

    expect(result).toMatchObject({ applied: 12, filled: 10, failures: [] });
    expect((await loadReadModel(store, fresh, OLD))?.model).toEqual((await loadReadModel(store, fresh, NEW))?.model);
    expect((await loadReadModel(store, fresh, OLD))?.model).toEqual((await readAggregate(store, cart, streamOf(OLD))).state);
  });

  it("reads the archive in the current shape when given the upcaster, and as stored without it", async () => {
    const [oldItems, newItems] = [await storedItems(OLD), await storedItems(NEW)];
    const keys = [
      await archive(s3, BUCKET, { shardId: "shardId-000000000000", firstSequenceNumber: "1", lastSequenceNumber: "6", arrivedAt: new Date(NOW), events: oldItems }),
      await archive(s3, BUCKET, { shardId: "shardId-000000000001", firstSequenceNumber: "1", lastSequenceNumber: "6", arrivedAt: new Date(NOW), events: newItems }),
    ];

    const [oldRead, newRead] = await Promise.all(keys.map((key) => readArchiveObject(s3, BUCKET, key, store.upcast)));

    expect(oldRead!.map(asRead)).toEqual(newRead!.map(asRead));
    expect(oldRead!.map((e) => e.storedTypeVersion)).toEqual([undefined, 1, 1, undefined, 1, undefined]);
    expect(await readArchiveObject(s3, BUCKET, keys[0]!)).toEqual(oldItems);
  });
});
