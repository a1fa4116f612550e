// Commands one microservice sends another, against DynamoDB Local: a cart's
// Checkout counts a ReserveStock under inventory's key in the transaction of
// its events, so the send happens exactly once — not again on a retried
// batch, not at all when the transaction fails — and the commands table's
// stream delivers it, with the chain it belongs to, like any other command.
import { InternalServerError, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSnapshot } from "../core/aggregates.js";
import type { Registry } from "../core/app.js";
import { createClient, direct } from "../core/client.js";
import { appendCommand } from "../core/commands.js";
import { prefixedTableNames, queryAll as queryItems, type Store } from "../core/dynamo.js";
import type { CommandEnvelope } from "../core/envelope.js";
import { microservices, referenceApp, routeSpec } from "./support/app.js";
import { checkout as checkoutManager } from "../core/checkout/checkout.js";
import { callerOf, runProcessManager } from "../core/process-managers/index.js";
import type { CommandRecord, EventRecord, OutcomeRecord } from "../core/records.js";
import { sequence, type SequencerDeps } from "../core/sequencer/sequencer.js";
import { makeHandler as makeView } from "../functions/view.js";
import { makeHandler as makeOutcomeRoute } from "../functions/outcome.js";
import { makeHandler as makeSequencer } from "../functions/sequencer.js";
import { newImages } from "../functions/stream-images.js";
import { dynamodbStreamSource } from "../local/dynamodb-stream-source.js";
import { localAwsConfig, startDynamo, type LocalDynamo } from "../local/dynamodb.js";
import { createTables } from "../local/tables.js";
import { RECEIVED_AT, streamEvent } from "./support/command-records.js";
import { answerOf, httpEvent } from "./support/http-events.js";
import { interceptedStore, snapshotWrittenBy, type Intercept, type InterceptedStore } from "./support/intercepted-store.js";

const tables = prefixedTableNames("sends-int-");
const NOW = RECEIVED_AT + 1_000;

let dynamo: LocalDynamo;
let store: Store;
let streams: DynamoDBStreamsClient;
let commandsStreamArn: string;
const opened: InterceptedStore[] = [];

/** A store on a client of its own, seeing each command through `intercept` before it is sent. */
const connect = (intercept?: Intercept): Store => {
  const connection = interceptedStore(dynamo.endpoint, tables, intercept);
  opened.push(connection);
  return connection.store;
};

beforeAll(async () => {
  dynamo = await startDynamo();
  const connection = interceptedStore(dynamo.endpoint, tables);
  opened.push(connection);
  store = connection.store;
  const arns = await createTables(connection.client, tables);
  commandsStreamArn = arns.commands!;
  streams = new DynamoDBStreamsClient(localAwsConfig(dynamo.endpoint));
});

afterAll(async () => {
  for (const connection of opened) connection.destroy();
  streams?.destroy();
  await dynamo?.stop();
});

const depsWith = (over: Partial<SequencerDeps> = {}): SequencerDeps => ({ store, microservices, clock: () => NOW, ...over });
const apiDeps = () => ({ store, app: referenceApp, clock: () => NOW, endpoints: {}, identityFromBody: true });
const makeInventoryRoute = (deps: ReturnType<typeof apiDeps>) => makeView(deps, routeSpec("GET /inventory/{warehouse}"));

const injected = () => new InternalServerError({ message: "injected", $metadata: {} });

type Sending = Pick<CommandEnvelope, "type" | "command" | "aggregateId"> & Partial<CommandEnvelope>;

/** Appends a command as the API does and returns it as the commands stream delivers it. */
const append = async (envelope: Sending): Promise<CommandRecord> => {
  const { key, seq } = await appendCommand(
    store,
    microservices[envelope.type]!,
    { id: ulid(), user: "alice", payload: {}, ...envelope },
    RECEIVED_AT,
  );
  const image = await store.db.send(new GetCommand({ TableName: tables.commands, Key: { key }, ConsistentRead: true }));
  expect(image.Item).toMatchObject({ key, seq });
  return image.Item as CommandRecord;
};

const admin = { user: "stock-keeper", roles: ["admin"] };
const restock = (warehouse: string, sku: string, quantity: number) =>
  append({ type: "inventory", command: "Restock", aggregateId: warehouse, payload: { sku, quantity }, ...admin });

/** Every command the commands table's stream holds, as the sequencer would receive it. */
const delivered = async (): Promise<CommandRecord[]> => {
  const source = dynamodbStreamSource(streams, commandsStreamArn);
  const records: CommandRecord[] = [];
  for (const shard of await source.listShards()) {
    let iterator = await source.iterator(shard.id);
    while (iterator) {
      const page = await source.read(shard.id, iterator, 1_000);
      records.push(...newImages<CommandRecord>({ Records: [...page.records] }).map((d) => d.item));
      if (page.records.length === 0) break;
      iterator = page.next;
    }
  }
  return records;
};

const sentBy = async (sender: CommandRecord) => (await delivered()).filter((r) => r.id === `${sender.key}/${sender.seq}>0`);

const counterOf = async (key: string): Promise<number> => {
  const item = await store.db.send(new GetCommand({ TableName: tables.commands, Key: { key }, ConsistentRead: true }));
  return Number(item.Item?.seq ?? 0);
};

/** Every item of `table` whose partition key `key` is `value`, consistently read. */
const queryAll = <T>(table: string, key: string, value: string): Promise<T[]> =>
  queryItems<T>(store, {
    TableName: table,
    KeyConditionExpression: "#k = :v",
    ExpressionAttributeNames: { "#k": key },
    ExpressionAttributeValues: { ":v": value },
    ConsistentRead: true,
  });
const eventsOf = (streamId: string) => queryAll<EventRecord>(tables.events, "streamId", streamId);
const outcomesOf = (key: string) => queryAll<OutcomeRecord>(tables.outcomes, "key", key);
const outcomeOf = async (record: Pick<CommandRecord, "key" | "seq">) => (await outcomesOf(record.key)).find((o) => o.seq === record.seq);
const oneTo = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

/** A stocked warehouse and an open cart holding two apples, sequenced; the cart's Checkout appended, not yet sequenced. */
const readyToCheckOut = async () => {
  const warehouse = `w-${ulid()}`;
  const cartId = `c-${ulid()}`;
  const setup = [
    await restock(warehouse, "apple", 5),
    await append({ type: "cart", command: "OpenCart", aggregateId: cartId }),
    await append({ type: "cart", command: "AddItem", aggregateId: cartId, payload: { sku: "apple", quantity: 2, unitPrice: 150 } }),
  ];
  expect(await sequence(setup, depsWith())).toMatchObject({ failedAt: undefined, committed: 3 });
  const checkout = await append({ type: "cart", command: "Checkout", aggregateId: cartId, payload: { warehouse } });
  return { warehouse, cartId, cartKey: `cart:${cartId}`, checkout, restocked: setup[0]!, inventoryBefore: await counterOf("inventory") };
};

describe("a command sent by a decider", () => {
  it("is counted under its target's key once, in the transaction of the events that sent it, and delivered with its chain", async () => {
    // Prepare
    const { warehouse, cartId, cartKey, checkout, restocked, inventoryBefore } = await readyToCheckOut();
    const chainOf = `${cartKey}/${checkout.seq}`;

    // Act
    const result = await sequence([checkout], depsWith());

    // Assess: the counter went up by one, and the stream holds that one ReserveStock.
    expect(result).toEqual({ failedAt: undefined, errors: [], committed: 1 });
    expect(await counterOf("inventory")).toBe(inventoryBefore + 1);
    const sent = await sentBy(checkout);
    expect(sent).toEqual([
      {
        key: "inventory",
        seq: inventoryBefore + 1,
        type: "inventory",
        command: "ReserveStock",
        aggregateId: warehouse,
        id: `${chainOf}>0`,
        user: "service:cart",
        roles: ["service"],
        correlationId: chainOf,
        causationId: chainOf,
        occurredAt: RECEIVED_AT,
        receivedAt: NOW,
        payload: { reservationId: `cart:${cartId}`, lines: [{ sku: "apple", quantity: 2 }] },
      },
    ]);
    expect(await outcomeOf(checkout)).toMatchObject({
      status: "accepted",
      correlationId: chainOf,
      events: [{ version: 3, type: "CheckoutStarted" }],
      sent: [{ type: "inventory", command: "ReserveStock", aggregateId: warehouse, key: "inventory", id: `${chainOf}>0` }],
    });

    // Act: inventory's sequencer takes it from the stream.
    const reserved = await sequence(sent, depsWith());

    // Assess: reserved, in the same chain, caused by the ReserveStock.
    expect(reserved).toMatchObject({ failedAt: undefined, committed: 1 });
    expect(await outcomeOf(sent[0]!)).toMatchObject({ status: "accepted", streamId: `inventory:${warehouse}`, user: "service:cart", correlationId: chainOf, causationId: chainOf });
    expect((await eventsOf(`inventory:${warehouse}`)).map((e) => [e.version, e.type, e.correlationId, e.causationId])).toEqual([
      [1, "StockRestocked", `inventory/${restocked.seq}`, `inventory/${restocked.seq}`],
      [2, "StockReserved", chainOf, `inventory/${inventoryBefore + 1}`],
    ]);
    const stock = answerOf(await makeInventoryRoute(apiDeps())(httpEvent({ path: `/inventory/${warehouse}`, pathParameters: { warehouse } })));
    expect(stock).toEqual({
      status: 200,
      body: {
        warehouse,
        version: 2,
        skus: [{ sku: "apple", onHand: 5, reserved: 2, available: 3 }],
        reservations: [{ reservationId: `cart:${cartId}`, lines: [{ sku: "apple", quantity: 2 }] }],
      },
    });
  });

  it("is not sent again when the batch is delivered again", async () => {
    // Prepare
    const { cartKey, checkout, inventoryBefore } = await readyToCheckOut();
    const sequencer = makeSequencer(depsWith());
    expect(await sequencer(streamEvent([checkout]))).toEqual({ batchItemFailures: [] });
    const outcomes = await outcomesOf(cartKey);

    // Act: the same record, alone and with the commands before it.
    const again = await sequencer(streamEvent([checkout]));
    const wider = await sequence([...(await delivered()).filter((r) => r.key === cartKey)], depsWith());

    // Assess
    expect(again).toEqual({ batchItemFailures: [] });
    expect(wider).toMatchObject({ failedAt: undefined, committed: 0 });
    expect(await counterOf("inventory")).toBe(inventoryBefore + 1);
    expect(await sentBy(checkout)).toHaveLength(1);
    expect(await outcomesOf(cartKey)).toEqual(outcomes);
  });

  it("is not sent again when the batch fails after its transaction committed", async () => {
    // Prepare: the commit succeeds, then the call fails (a lost response, a timeout, the process dying).
    const { cartKey, checkout, inventoryBefore } = await readyToCheckOut();
    const lostResponse = connect();
    let failures = 0;
    lostResponse.db.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === "TransactWriteItemsCommand" && failures++ === 0) throw injected();
        return result;
      },
      { step: "initialize", name: "loseTheResponse" },
    );

    // Act
    const failed = await sequence([checkout], depsWith({ store: lostResponse }));
    const committed = { counter: await counterOf("inventory"), sent: (await sentBy(checkout)).length };
    const redelivered = await sequence([checkout], depsWith());

    // Assess
    expect(failed).toMatchObject({ failedAt: 0, errors: [expect.any(InternalServerError)] });
    expect(committed).toEqual({ counter: inventoryBefore + 1, sent: 1 });
    expect(redelivered).toEqual({ failedAt: undefined, errors: [], committed: 0 });
    expect(await counterOf("inventory")).toBe(inventoryBefore + 1);
    expect(await sentBy(checkout)).toHaveLength(1);
    expect((await outcomesOf(cartKey)).map((o) => o.seq)).toEqual([1, 2, 3]);
  });

  it("is not sent at all when the transaction fails, and once when it is retried", async () => {
    // Prepare
    const { cartId, cartKey, checkout, inventoryBefore } = await readyToCheckOut();
    const failing = connect((sent) => {
      if (snapshotWrittenBy(sent, tables)?.streamId === cartKey) throw injected();
    });

    // Act
    const failed = await sequence([checkout], depsWith({ store: failing }));
    const afterFailure = {
      counter: await counterOf("inventory"),
      sent: await sentBy(checkout),
      outcome: await outcomeOf(checkout),
      cart: (await readSnapshot(store, cartKey))?.state,
    };
    const retried = await sequence([checkout], depsWith());

    // Assess
    expect(failed).toMatchObject({ failedAt: 0, errors: [expect.any(InternalServerError)] });
    expect(afterFailure).toEqual({
      counter: inventoryBefore,
      sent: [],
      outcome: undefined,
      cart: { status: "open", owner: "alice", items: [{ sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" }] },
    });
    expect(retried).toMatchObject({ failedAt: undefined, committed: 1 });
    expect(await counterOf("inventory")).toBe(inventoryBefore + 1);
    expect(await sentBy(checkout)).toHaveLength(1);
    expect((await readSnapshot(store, cartKey))?.state).toMatchObject({ status: "checking-out", reservationId: `cart:${cartId}` });
  });

  it("is not counted when DynamoDB cancels the transaction: the counter's update is one of its items", async () => {
    // Prepare: a foreign event sits at the version the checkout would write, so DynamoDB Local itself refuses.
    const { cartKey, checkout, inventoryBefore } = await readyToCheckOut();
    await store.db.send(new PutCommand({ TableName: tables.events, Item: { streamId: cartKey, version: 3, type: "Foreign", data: {} } }));

    // Act
    const failed = await sequence([checkout], depsWith({ maxConflicts: 0 }));

    // Assess
    expect(failed).toMatchObject({ failedAt: 0, errors: [expect.any(TransactionCanceledException)] });
    const reasons = (failed.errors[0] as TransactionCanceledException).CancellationReasons ?? [];
    expect(reasons.map((r) => r.Code)).toContain("ConditionalCheckFailed");
    expect(await counterOf("inventory")).toBe(inventoryBefore);
    expect(await sentBy(checkout)).toEqual([]);
    expect(await outcomeOf(checkout)).toBeUndefined();
  });
});

describe("both ways of keying commands, side by side", () => {
  it("keeps seq gapless per key and versions 1..n per stream, with inventory's two warehouses under one key among per-cart keys", async () => {
    // Prepare: inventory commands for two warehouses interleaved with two carts' commands.
    const [north, south] = [`n-${ulid()}`, `s-${ulid()}`];
    const [first, second] = [`c-${ulid()}`, `c-${ulid()}`];
    const inventoryBefore = await counterOf("inventory");
    const add = (cartId: string, sku: string, quantity: number) =>
      append({ type: "cart", command: "AddItem", aggregateId: cartId, payload: { sku, quantity, unitPrice: 10 } });
    const batch = [
      await restock(north, "apple", 10),
      await append({ type: "cart", command: "OpenCart", aggregateId: first }),
      await restock(south, "pear", 10),
      await append({ type: "cart", command: "OpenCart", aggregateId: second }),
      await add(first, "apple", 3),
      await restock(north, "plum", 3),
      await add(second, "pear", 4),
      await restock(south, "apple", 1),
      await append({ type: "cart", command: "Checkout", aggregateId: first, payload: { warehouse: north } }),
      await append({ type: "cart", command: "Checkout", aggregateId: second, payload: { warehouse: south } }),
    ];

    // Act: the batch, while more restocks race the checkouts' sends for inventory's counter; then what the stream delivers for inventory.
    const [result] = await Promise.all([
      sequence(batch, depsWith()),
      ...oneTo(10).map((n) =>
        appendCommand(store, microservices.inventory!, { type: "inventory", command: "Restock", aggregateId: n % 2 ? north : south, id: ulid(), ...admin, payload: { sku: `extra-${n}`, quantity: n } }, RECEIVED_AT),
      ),
    ]);
    const forInventory = (await delivered()).filter((r) => r.key === "inventory" && r.seq > inventoryBefore);
    const inventoryResult = await sequence(forInventory, depsWith());

    // Assess: every seq of the inventory key once, with no gap: 4 restocks, 10 racing ones, 2 sent ReserveStocks
    // (the stream redelivers the batch's 4 restocks; their snapshots' checkpoints skip them).
    expect(result).toMatchObject({ failedAt: undefined, committed: batch.length });
    expect(inventoryResult).toMatchObject({ failedAt: undefined, committed: 12 });
    expect(forInventory.map((r) => r.seq).sort((a, b) => a - b)).toEqual(oneTo(16, inventoryBefore + 1));
    const inventoryOutcomes = (await outcomesOf("inventory")).filter((o) => o.seq > inventoryBefore);
    expect(inventoryOutcomes.map((o) => o.seq)).toEqual(oneTo(16, inventoryBefore + 1));
    expect(inventoryOutcomes.every((o) => o.status === "accepted")).toBe(true);
    expect(inventoryOutcomes.filter((o) => o.command === "ReserveStock").map((o) => o.streamId).sort()).toEqual([`inventory:${north}`, `inventory:${south}`].sort());
    // Per stream: versions 1..n, whichever key counted the commands.
    for (const [streamId, count] of [
      [`inventory:${north}`, 2 + 5 + 1],
      [`inventory:${south}`, 2 + 5 + 1],
      [`cart:${first}`, 3],
      [`cart:${second}`, 3],
    ] as const)
      expect((await eventsOf(streamId)).map((e) => e.version), streamId).toEqual(oneTo(count));
    // Per cart key: seq 1..3, one outcome each.
    for (const cartId of [first, second]) expect((await outcomesOf(`cart:${cartId}`)).map((o) => o.seq)).toEqual([1, 2, 3]);
    // The racing restocks may be counted before or after a ReserveStock: find it, wherever it landed.
    const reservations = async (streamId: string) =>
      (await eventsOf(streamId)).filter((e) => e.type === "StockReserved").map((e) => e.correlationId);
    expect(await reservations(`inventory:${north}`)).toEqual([`cart:${first}/3`]);
    expect(await reservations(`inventory:${south}`)).toEqual([`cart:${second}/3`]);
  });
});

describe("GET /commands/{key}/{seq}", () => {
  it("shows the chain a command belongs to, back to the command that started it", async () => {
    // Prepare: checkout → ReserveStock → StockReserved → (process manager) ConfirmCheckout → CommitReservation.
    const { warehouse, cartKey, checkout } = await readyToCheckOut();
    await sequence([checkout], depsWith());
    const [reserveStock] = await sentBy(checkout);
    await sequence([reserveStock!], depsWith());
    const reservedEvent = (await eventsOf(`inventory:${warehouse}`)).at(-1)!;
    const client = createClient<Registry>(direct({ store, caller: callerOf(checkoutManager), microservices, clock: () => RECEIVED_AT }));
    expect(await runProcessManager(checkoutManager, client, [reservedEvent])).toEqual({});
    const confirm = (await delivered()).find((r) => r.key === cartKey && r.command === "ConfirmCheckout")!;
    await sequence([confirm], depsWith());
    const [commit] = await sentBy(confirm);
    await sequence([commit!], depsWith());
    const route = makeOutcomeRoute(apiDeps());
    const get = async (key: string, seq: number) =>
      answerOf(await route(httpEvent({ path: `/commands/${encodeURIComponent(key)}/${seq}`, pathParameters: { key, seq: String(seq) } })));

    // Act
    const last = await get("inventory", commit!.seq);
    const start = await get(cartKey, checkout.seq);

    // Assess
    const chainOf = `${cartKey}/${checkout.seq}`;
    expect(last.status).toBe(200);
    expect(last.body).toMatchObject({ status: "accepted", command: "CommitReservation", correlationId: chainOf, causationId: `${cartKey}/${confirm.seq}` });
    expect(last.body.chain).toEqual([
      { kind: "command", ref: `${cartKey}/${confirm.seq}`, key: cartKey, seq: confirm.seq, status: "accepted", command: "ConfirmCheckout", microservice: "cart", streamId: cartKey, user: "service:checkout" },
      { kind: "event", ref: reservedEvent.eventId, eventId: reservedEvent.eventId, type: "StockReserved", streamId: `inventory:${warehouse}`, version: reservedEvent.version },
      { kind: "command", ref: `inventory/${reserveStock!.seq}`, key: "inventory", seq: reserveStock!.seq, status: "accepted", command: "ReserveStock", microservice: "inventory", streamId: `inventory:${warehouse}`, user: "service:cart" },
      { kind: "command", ref: chainOf, key: cartKey, seq: checkout.seq, status: "accepted", command: "Checkout", microservice: "cart", streamId: cartKey, user: "alice" },
    ]);
    expect(start.body).toMatchObject({ status: "accepted", command: "Checkout", correlationId: chainOf, chain: [] });
    expect(start.body.causationId).toBeUndefined();
    expect((await readSnapshot(store, cartKey))?.state).toMatchObject({ status: "checked-out" });
  });

  it("shows a pending command's chain, and a cause no one wrote as missing", async () => {
    // Prepare: a caller names a cause that does not exist.
    const cartId = `c-${ulid()}`;
    const opening = await append({ type: "cart", command: "OpenCart", aggregateId: cartId, correlationId: "cart:nowhere/1", causationId: "inventory:nowhere#4" });
    const route = makeOutcomeRoute(apiDeps());

    // Act
    const pending = answerOf(await route(httpEvent({ path: `/commands/cart:${cartId}/1`, pathParameters: { key: `cart:${cartId}`, seq: "1" } })));

    // Assess
    expect(pending).toEqual({
      status: 200,
      body: {
        status: "pending",
        key: opening.key,
        seq: 1,
        correlationId: "cart:nowhere/1",
        causationId: "inventory:nowhere#4",
        outcomeUrl: `/commands/${encodeURIComponent(opening.key)}/1`,
        chain: [{ kind: "missing", ref: "inventory:nowhere#4", reason: "no event 4 in stream 'inventory:nowhere'" }],
      },
    });
  });
});
