// The command path against DynamoDB Local: seq allocation, and the sequencer's
// guarantees (gapless versions, one outcome per command, atomic commits) under
// redelivery, reused ids, lost races and failures only real DynamoDB produces.
import { InternalServerError, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { readSnapshot } from "../core/aggregates.js";
import { appendCommand } from "../core/commands.js";
import { prefixedTableNames, queryAll as queryItems, type Store } from "../core/dynamo.js";
import type { CommandEnvelope } from "../core/envelope.js";
import { requestKeyOf } from "../core/keys.js";
import { microservices, referenceApp } from "./support/app.js";
import type { CommandRecord, EventRecord, OutcomeRecord } from "../core/records.js";
import { sequence, snapshotCache, type SequencerDeps } from "../core/sequencer/sequencer.js";
import { logger } from "../functions/deps.js";
import { makeHandler } from "../functions/sequencer.js";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE } from "../functions/metrics.js";
import { startDynamo, type LocalDynamo } from "../local/dynamodb.js";
import { createTables } from "../local/tables.js";
import { commandRecord, commandsFor, RECEIVED_AT, streamEvent } from "./support/command-records.js";
import { interceptedStore, snapshotWrittenBy, type Intercept, type InterceptedStore } from "./support/intercepted-store.js";

const tables = prefixedTableNames("sequencer-int-");
const cart = microservices.cart!;
const NOW = RECEIVED_AT + 1_000;

let dynamo: LocalDynamo;
let store: Store;
const opened: InterceptedStore[] = [];

/** A store on a client of its own, seeing each command through `intercept`. */
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
  await createTables(connection.client, tables);
});

afterAll(async () => {
  for (const connection of opened) connection.destroy();
  await dynamo?.stop();
});

const depsWith = (over: Partial<SequencerDeps> = {}): SequencerDeps => ({ store, microservices, clock: () => NOW, ...over });

const newCart = () => `c-${ulid()}`;
const keyOf = (aggregateId: string) => `cart:${aggregateId}`;

const open = { command: "OpenCart" };
const add = (sku = "apple", quantity = 1, unitPrice = 100) => ({ command: "AddItem", payload: { sku, quantity, unitPrice } });
const close = { command: "CloseCart" };

/** Every item of `table` whose partition key `key` is `value`, consistently read. */
const queryAll = <T>(table: string, key: string, value: string): Promise<T[]> =>
  queryItems<T>(store, {
    TableName: table,
    KeyConditionExpression: "#k = :v",
    ExpressionAttributeNames: { "#k": key },
    ExpressionAttributeValues: { ":v": value },
    ConsistentRead: true,
  });

const eventsOf = (aggregateId: string) => queryAll<EventRecord>(tables.events, "streamId", keyOf(aggregateId));
const outcomesOf = (aggregateId: string) => queryAll<OutcomeRecord>(tables.outcomes, "key", keyOf(aggregateId));
const versionsOf = async (aggregateId: string) => (await eventsOf(aggregateId)).map((e) => e.version);
const seqsOf = async (aggregateId: string) => (await outcomesOf(aggregateId)).map((o) => o.seq);
const snapshotOf = (aggregateId: string) => readSnapshot(store, keyOf(aggregateId));
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

const countItems = async (table: string): Promise<number> => {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await store.db.send(
      new ScanCommand({ TableName: table, Select: "COUNT", ConsistentRead: true, ExclusiveStartKey: start }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
};

type Sending = Pick<CommandEnvelope, "command" | "aggregateId" | "id"> & Partial<CommandEnvelope>;

/** Appends a command through the API's write and returns it as the commands stream would deliver it. */
const append = async (envelope: Sending): Promise<CommandRecord> => {
  const { key } = await appendCommand(store, cart, { type: "cart", user: "u-1", payload: {}, ...envelope }, RECEIVED_AT);
  const image = await store.db.send(new GetCommand({ TableName: tables.commands, Key: { key }, ConsistentRead: true }));
  return image.Item as CommandRecord;
};

const conflict = () =>
  new TransactionCanceledException({
    message: "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
    $metadata: {},
    CancellationReasons: [{ Code: "None" }, { Code: "TransactionConflict", Message: "Transaction is ongoing for the item" }],
  });

describe("appendCommand", () => {
  it("gives 200 concurrent commands on one key seq 1..200, with no gap and no duplicate", async () => {
    // Prepare
    const aggregateId = newCart();
    const envelopes = oneTo(200).map(
      (n): CommandEnvelope => ({ type: "cart", command: "AddItem", aggregateId, id: `r-${n}`, user: "u-1", payload: add().payload }),
    );

    // Act
    const appended = await Promise.all(envelopes.map((envelope) => appendCommand(store, cart, envelope, RECEIVED_AT)));

    // Assess
    expect(appended.map((a) => a.seq).sort((a, b) => a - b)).toEqual(oneTo(200));
    expect(new Set(appended.map((a) => a.key))).toEqual(new Set([keyOf(aggregateId)]));
    const counter = await store.db.send(
      new GetCommand({ TableName: tables.commands, Key: { key: keyOf(aggregateId) }, ConsistentRead: true }),
    );
    expect(counter.Item?.seq).toBe(200);
  });

  it("stores the command whole, as the stream image the sequencer reads", async () => {
    // Prepare
    const aggregateId = newCart();

    // Act
    const record = await append({ ...add("pear", 2, 90), aggregateId, id: 7, timestamp: 1_600_000_000_000, roles: ["admin"], correlationId: "cart:c-0/1", causationId: "inventory:main#2" });
    const next = await append({ ...add("pear", 1, 90), aggregateId, id: 8 });

    // Assess
    expect(record).toEqual({
      key: keyOf(aggregateId),
      seq: 1,
      type: "cart",
      command: "AddItem",
      aggregateId,
      id: 7,
      user: "u-1",
      roles: ["admin"],
      correlationId: "cart:c-0/1",
      causationId: "inventory:main#2",
      occurredAt: 1_600_000_000_000,
      receivedAt: RECEIVED_AT,
      payload: { sku: "pear", quantity: 2, unitPrice: 90 },
    });
    // The item holds only the latest command: the chain of the one before must not linger on it.
    expect(next).toEqual({ ...record, seq: 2, id: 8, roles: [], correlationId: undefined, causationId: undefined, occurredAt: RECEIVED_AT, payload: { sku: "pear", quantity: 1, unitPrice: 90 } });
    expect(Object.keys(next)).not.toContain("correlationId");
  });
});

describe("sequencer", () => {
  it("commits a cart's commands as gapless events, one outcome each, and a snapshot", async () => {
    // Prepare
    const aggregateId = newCart();
    const records = [
      await append({ command: "OpenCart", aggregateId, id: "a" }),
      await append({ ...add("apple", 2, 150), aggregateId, id: "b" }),
      await append({ command: "RemoveItem", aggregateId, id: "c", payload: { sku: "plum" } }),
      await append({ command: "CloseCart", aggregateId, id: "d" }),
    ];

    // Act
    const result = await sequence(records, depsWith());

    // Assess
    expect(result).toEqual({ failedAt: undefined, errors: [], committed: 4 });
    expect((await eventsOf(aggregateId)).map((e) => [e.version, e.type, e.commandSeq])).toEqual([
      [1, "CartOpened", 1],
      [2, "ItemAdded", 2],
      [3, "CartClosed", 4],
    ]);
    expect((await outcomesOf(aggregateId)).map((o) => [o.seq, o.status, o.reason])).toEqual([
      [1, "accepted", undefined],
      [2, "accepted", undefined],
      [3, "rejected", "ItemNotInCart"],
      [4, "accepted", undefined],
    ]);
    expect(await snapshotOf(aggregateId)).toEqual({
      streamId: keyOf(aggregateId),
      version: 3,
      lastSeq: 4,
      schemaVersion: cart.schemaVersion,
      state: { status: "closed", owner: "u-1", items: [{ sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" }], total: 300 },
      updatedAt: NOW,
    });
    // As stored: ItemAdded at its current typeVersion with the currency the command defaulted; CartOpened unversioned.
    const [openedItem, addedItem] = await eventsOf(aggregateId);
    expect(openedItem).not.toHaveProperty("typeVersion");
    expect(addedItem).toMatchObject({ type: "ItemAdded", typeVersion: 2 });
    expect(addedItem!.data).toEqual({ sku: "apple", quantity: 2, unitPrice: 150, currency: "EUR" });
    expect(addedItem).not.toHaveProperty("storedTypeVersion");
  });

  it("counts the outcomes it commits by microservice and status, and the batch's size, in the metrics it publishes", async () => {
    // Prepare: metrics whose EMF documents are kept instead of printed.
    const docs: Record<string, any>[] = [];
    const keep = (m: Metrics) => vi.spyOn(m, "publishStoredMetrics").mockImplementation(() => (docs.push(m.serializeMetrics()), m.clearMetrics(), m));
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "ordinal" });
    keep(metrics);
    vi.spyOn(metrics, "singleMetric").mockImplementation(() => {
      const one = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "ordinal", singleMetric: true });
      keep(one);
      return one;
    });
    const [first, second] = [newCart(), newCart()];
    const records = [
      await append({ command: "OpenCart", aggregateId: first, id: "m1" }),
      await append({ command: "OpenCart", aggregateId: second, id: "m2" }),
      await append({ command: "CloseCart", aggregateId: second, id: "m3" }),
      await append({ command: "CloseCart", aggregateId: second, id: "m4" }),
    ];

    // Act
    expect(await makeHandler({ ...depsWith(), metrics })(streamEvent(records))).toEqual({ batchItemFailures: [] });

    // Assess: three accepted, the second CloseCart rejected; one document per dimension set.
    const outcomes = docs.filter((d) => "Outcomes" in d).map((d) => [d.microservice, d.status, d.Outcomes]);
    expect(outcomes.sort()).toEqual([["cart", "accepted", 3], ["cart", "rejected", 1]]);
    expect(docs.find((d) => "SequencerBatchSize" in d)).toMatchObject({ SequencerBatchSize: 4, SequencerBatchDuration: expect.any(Number) });
  });

  it("writes no new event and no new outcome when the same stream batch is delivered twice", async () => {
    // Prepare
    const [first, second] = [newCart(), newCart()];
    const records = [
      await append({ command: "OpenCart", aggregateId: first, id: "1" }),
      await append({ command: "OpenCart", aggregateId: second, id: "2" }),
      await append({ ...add(), aggregateId: first, id: "3" }),
      await append({ command: "CloseCart", aggregateId: second, id: "4" }),
      await append({ command: "CloseCart", aggregateId: second, id: "5" }),
    ];
    const handler = makeHandler(depsWith());
    expect(await handler(streamEvent(records))).toEqual({ batchItemFailures: [] });
    const before = {
      events: await countItems(tables.events),
      outcomes: await countItems(tables.outcomes),
      snapshot: await snapshotOf(first),
    };

    // Act
    const redelivered = await handler(streamEvent(records));

    // Assess
    expect(redelivered).toEqual({ batchItemFailures: [] });
    expect(await countItems(tables.events)).toBe(before.events);
    expect(await countItems(tables.outcomes)).toBe(before.outcomes);
    expect(await snapshotOf(first)).toEqual(before.snapshot);
    expect(await versionsOf(first)).toEqual([1, 2]);
    expect(await versionsOf(second)).toEqual([1, 2]);
    expect((await outcomesOf(second)).map((o) => o.status)).toEqual(["accepted", "accepted", "rejected"]);
  });

  describe("a reused client id", () => {
    it("gives a later command of the same aggregate the status duplicate, pointing at the original", async () => {
      // Prepare
      const aggregateId = newCart();
      const opening = await append({ command: "OpenCart", aggregateId, id: "open-1" });
      await sequence([opening], depsWith());
      const resent = [
        await append({ ...add(), aggregateId, id: "add-1" }),
        await append({ command: "OpenCart", aggregateId, id: "open-1" }),
        await append({ ...add(), aggregateId, id: "add-1" }),
      ];

      // Act
      const result = await sequence(resent, depsWith());

      // Assess
      expect(result.failedAt).toBeUndefined();
      const outcomes = await outcomesOf(aggregateId);
      expect(outcomes.map((o) => [o.seq, o.status, o.original])).toEqual([
        [1, "accepted", undefined],
        [2, "accepted", undefined],
        [3, "duplicate", { key: keyOf(aggregateId), seq: 1 }],
        [4, "duplicate", { key: keyOf(aggregateId), seq: 2 }],
      ]);
      expect(await versionsOf(aggregateId)).toEqual([1, 2]);
    });

    it("is a duplicate across two aggregates of the same user and microservice", async () => {
      // Prepare
      const [original, other] = [newCart(), newCart()];
      const id = `req-${ulid()}`;
      const first = await append({ command: "OpenCart", aggregateId: original, id });
      await sequence([first], depsWith());
      const again = await append({ command: "OpenCart", aggregateId: other, id });

      // Act
      await sequence([again], depsWith());

      // Assess
      expect(await outcomesOf(other)).toEqual([
        expect.objectContaining({ seq: 1, status: "duplicate", original: { key: keyOf(original), seq: 1 } }),
      ]);
      expect(await eventsOf(other)).toEqual([]);
    });

    it("gives exactly one of two aggregates in the same batch the id, and the other a duplicate of it", async () => {
      // Prepare
      const aggregates = [newCart(), newCart()];
      const id = `req-${ulid()}`;
      const records = [
        await append({ command: "OpenCart", aggregateId: aggregates[0]!, id }),
        await append({ command: "OpenCart", aggregateId: aggregates[1]!, id }),
      ];

      // Act
      const result = await sequence(records, depsWith());

      // Assess
      expect(result.failedAt).toBeUndefined();
      const outcomes = (await Promise.all(aggregates.map(outcomesOf))).flat();
      const accepted = outcomes.filter((o) => o.status === "accepted");
      const duplicates = outcomes.filter((o) => o.status === "duplicate");
      expect(accepted).toHaveLength(1);
      expect(duplicates).toHaveLength(1);
      expect(duplicates[0]!.original).toEqual({ key: accepted[0]!.key, seq: accepted[0]!.seq });
      expect((await Promise.all(aggregates.map(versionsOf))).flat()).toEqual([1]);
    });

    it("keeps the same id apart for different users", async () => {
      // Prepare
      const [mine, theirs] = [newCart(), newCart()];
      const id = `req-${ulid()}`;
      const records = [
        await append({ command: "OpenCart", aggregateId: mine, id, user: "alice" }),
        await append({ command: "OpenCart", aggregateId: theirs, id, user: "bob" }),
      ];

      // Act
      await sequence(records, depsWith());

      // Assess
      expect([...(await outcomesOf(mine)), ...(await outcomesOf(theirs))].map((o) => o.status)).toEqual(["accepted", "accepted"]);
    });
  });

  describe("lost races", () => {
    it.each([
      ["a new aggregate", 0],
      ["an aggregate with a snapshot", 1],
    ])("re-plans %s when a competing writer commits first", async (_, alreadyApplied) => {
      // Prepare
      const aggregateId = newCart();
      const records = commandsFor(aggregateId, [open, add("apple"), add("pear"), add("apple"), close]);
      if (alreadyApplied) await sequence(records.slice(0, alreadyApplied), depsWith());
      let transactions = 0;
      const racing = connect(async (sent) => {
        if (sent.name !== "TransactWriteItemsCommand" || transactions++ > 0) return;
        // Another delivery of the earlier commands gets in first.
        const competing = await sequence(records.slice(0, alreadyApplied + 2), depsWith());
        expect(competing.failedAt).toBeUndefined();
      });

      // Act
      const result = await sequence(records, depsWith({ store: racing }));

      // Assess
      expect(result).toMatchObject({ failedAt: undefined, errors: [] });
      expect(transactions).toBe(2);
      expect(await versionsOf(aggregateId)).toEqual(oneTo(5));
      expect((await outcomesOf(aggregateId)).map((o) => [o.seq, o.status])).toEqual(oneTo(5).map((seq) => [seq, "accepted"]));
      expect((await eventsOf(aggregateId)).at(-1)).toMatchObject({ type: "CartClosed", data: { total: 300 } });
      expect(await snapshotOf(aggregateId)).toMatchObject({ version: 5, lastSeq: 5, state: { status: "closed", total: 300 } });
    });

    it.each([
      ["an aggregate with a snapshot", [open, add("apple"), { command: "RemoveItem", payload: { sku: "apple" } }], ["CartOpened", "ItemAdded", "ItemRemoved"]],
      ["a new aggregate", [open, add("apple")], ["CartOpened", "ItemAdded"]],
    ] as const)("cancels a commit to %s when another writer moved its snapshot on without a colliding event, and re-plans on the new state", async (_, commands, types) => {
      // Prepare: the last command is planned against the aggregate as it was
      // before the one ahead of it, which commits in between. Nothing but the
      // snapshot's condition collides: the stale plan rejects the command and
      // writes no event, only an outcome and a snapshot.
      const aggregateId = newCart();
      const records = commandsFor(aggregateId, [...commands]);
      const last = records.length - 1;
      await sequence(records.slice(0, last - 1), depsWith());
      let transactions = 0;
      const racing = connect(async (sent) => {
        if (sent.name !== "TransactWriteItemsCommand" || transactions++ > 0) return;
        expect((await sequence(records.slice(last - 1, last), depsWith())).failedAt).toBeUndefined();
      });

      // Act
      const result = await sequence(records.slice(last), depsWith({ store: racing }));

      // Assess
      expect(result).toMatchObject({ failedAt: undefined, errors: [] });
      expect(transactions).toBe(2);
      expect((await outcomesOf(aggregateId)).map((o) => [o.seq, o.status])).toEqual(oneTo(records.length).map((seq) => [seq, "accepted"]));
      expect((await eventsOf(aggregateId)).map((e) => e.type)).toEqual(types);
      expect(await snapshotOf(aggregateId)).toMatchObject({ version: records.length, lastSeq: records.length, state: { status: "open" } });
    });

    it("never overwrites an event already at the version it would write, though the snapshot does not know of it", async () => {
      // Prepare: version 2 is in the log, written by a writer that left the snapshot at version 1.
      const aggregateId = newCart();
      const records = commandsFor(aggregateId, [open, add("apple")]);
      await sequence(records.slice(0, 1), depsWith());
      const foreign = { streamId: keyOf(aggregateId), version: 2, type: "ItemAdded", data: { sku: "pear", quantity: 9, unitPrice: 1 } };
      await store.db.send(new PutCommand({ TableName: tables.events, Item: foreign }));

      // Act
      const result = await sequence(records.slice(1), depsWith({ maxConflicts: 1 }));

      // Assess
      expect(result.failedAt).toBe(0);
      expect(result.errors).toEqual([expect.any(TransactionCanceledException)]);
      expect(await eventsOf(aggregateId)).toEqual([expect.objectContaining({ version: 1, type: "CartOpened" }), foreign]);
      expect(await seqsOf(aggregateId)).toEqual([1]);
      expect(await snapshotOf(aggregateId)).toMatchObject({ version: 1, lastSeq: 1 });
    });

    it("retries a transaction DynamoDB cancels for a TransactionConflict", async () => {
      // Prepare
      const aggregateId = newCart();
      const records = commandsFor(aggregateId, [open, add(), close]);
      const attempts: number[] = [];
      const conflicting = connect((sent) => {
        if (sent.name !== "TransactWriteItemsCommand") return;
        attempts.push(sent.input.TransactItems.length);
        if (attempts.length === 1) throw conflict();
      });

      // Act
      const result = await sequence(records, depsWith({ store: conflicting }));

      // Assess
      expect(result).toEqual({ failedAt: undefined, errors: [], committed: 3 });
      expect(attempts).toHaveLength(2);
      expect(await versionsOf(aggregateId)).toEqual([1, 2, 3]);
      expect(await seqsOf(aggregateId)).toEqual([1, 2, 3]);
    });

    it("fails the batch at the aggregate once conflicts outlast maxConflicts", async () => {
      // Prepare
      const aggregateId = newCart();
      const records = commandsFor(aggregateId, [open, add()]);
      let attempts = 0;
      const conflicting = connect((sent) => {
        if (sent.name !== "TransactWriteItemsCommand") return;
        attempts++;
        throw conflict();
      });

      // Act
      const result = await sequence(records, depsWith({ store: conflicting, maxConflicts: 2 }));

      // Assess
      expect(result.failedAt).toBe(0);
      expect(result.errors).toEqual([expect.any(TransactionCanceledException)]);
      expect(attempts).toBe(3);
      expect(await snapshotOf(aggregateId)).toBeUndefined();
      expect(await outcomesOf(aggregateId)).toEqual([]);
    });
  });

  describe("many aggregates in one transaction, planned from what it guesses", () => {
    /** Every call the sequencer makes, by name and the tables it names. */
    const counting = () => {
      const calls: { name: string; tables: string[]; consistent?: boolean; items?: number }[] = [];
      const counted = connect((sent) => {
        const batch = sent.input.RequestItems as Record<string, { ConsistentRead?: boolean }> | undefined;
        calls.push({
          name: sent.name.replace(/(Items?)?Command$/, ""),
          tables: batch ? Object.keys(batch) : [],
          consistent: batch ? Object.values(batch)[0]?.ConsistentRead : undefined,
          items: sent.input.TransactItems?.length,
        });
      });
      return { calls, counted };
    };

    it("commits a batch of 20 carts in two TransactWriteItems of up to 100 items, not 20, reading their snapshots eventually consistent and no request id", async () => {
      // Prepare
      const carts = Array.from({ length: 20 }, newCart);
      const records = carts.flatMap((id) => commandsFor(id, [open, add("apple")]));
      const { calls, counted } = counting();

      // Act
      const result = await sequence(records, depsWith({ store: counted }));

      // Assess
      expect(result).toEqual({ failedAt: undefined, errors: [], committed: 40 });
      expect(calls).toEqual([
        { name: "BatchGet", tables: [tables.snapshots], consistent: false, items: undefined },
        // Each cart: 2 events, 2 outcomes, 2 request ids, 1 snapshot; 14 carts fit in 100 items.
        { name: "TransactWrite", tables: [], consistent: undefined, items: 14 * 7 },
        { name: "TransactWrite", tables: [], consistent: undefined, items: 6 * 7 },
      ]);
      for (const id of carts) {
        expect(await versionsOf(id)).toEqual([1, 2]);
        expect(await seqsOf(id)).toEqual([1, 2]);
        expect(await snapshotOf(id)).toMatchObject({ version: 2, lastSeq: 2 });
      }
    });

    it("plans the next batch from the snapshots it committed, without reading them", async () => {
      // Prepare
      const carts = [newCart(), newCart()];
      const snapshots = snapshotCache();
      await sequence(carts.flatMap((id) => commandsFor(id, [open])), depsWith({ snapshots }));
      const { calls, counted } = counting();

      // Act
      const result = await sequence(carts.flatMap((id) => commandsFor(id, [add("pear")], 2)), depsWith({ store: counted, snapshots }));

      // Assess
      expect(result.errors).toEqual([]);
      expect(calls.map((c) => c.name)).toEqual(["TransactWrite"]);
      for (const id of carts) expect(await snapshotOf(id)).toMatchObject({ version: 2, lastSeq: 2, state: { items: [{ sku: "pear", quantity: 1 }] } });
    });

    it("when one cart's cached snapshot is stale, cancels the shared transaction, commits the others alone and re-plans that one from consistent reads", async () => {
      // Prepare: the cache holds the cart at seq 1; another sequencer (no cache) applies seq 2 behind its back.
      const stale = newCart();
      const others = [newCart(), newCart()];
      const snapshots = snapshotCache();
      const records = commandsFor(stale, [open, add("apple"), add("pear")]);
      await sequence(records.slice(0, 1), depsWith({ snapshots }));
      await sequence(records.slice(1, 2), depsWith());
      const { calls, counted } = counting();

      // Act
      const result = await sequence([records[2]!, ...others.flatMap((id) => commandsFor(id, [open]))], depsWith({ store: counted, snapshots }));

      // Assess
      expect(result).toEqual({ failedAt: undefined, errors: [], committed: 3 });
      expect(calls[1]).toMatchObject({ name: "TransactWrite", items: 3 * 4 }); // the shared one, cancelled: each cart's event, outcome, request id and snapshot
      expect(calls.filter((c) => c.name === "BatchGet" && c.consistent)).toHaveLength(2); // the stale cart's snapshot and request ids
      expect(await versionsOf(stale)).toEqual([1, 2, 3]);
      expect((await outcomesOf(stale)).map((o) => [o.seq, o.status])).toEqual([[1, "accepted"], [2, "accepted"], [3, "accepted"]]);
      expect(await snapshotOf(stale)).toMatchObject({ version: 3, lastSeq: 3, state: { items: [{ sku: "apple", quantity: 1 }, { sku: "pear", quantity: 1 }] } });
      for (const id of others) expect(await seqsOf(id)).toEqual([1]);
      expect(snapshots.get(keyOf(stale))).toMatchObject({ version: 3, lastSeq: 3 });
    });
  });

  it("reports a failed aggregate at its first record, and a redelivery from there completes it with nothing applied twice", async () => {
    // Prepare: the failing cart needs two transactions; the second one fails.
    const [before, failing, after] = [newCart(), newCart(), newCart()];
    const failingRecords = commandsFor(failing, [open, ...Array.from({ length: 60 }, (_, i) => add(`sku-${i % 7}`))]);
    const records = [
      ...commandsFor(before, [open, add()]),
      ...failingRecords.slice(0, 30),
      ...commandsFor(after, [open, add(), close]),
      ...failingRecords.slice(30),
    ];
    const firstOfFailing = records.indexOf(failingRecords[0]!);
    let failingTransactions = 0;
    const flaky = connect((sent) => {
      if (snapshotWrittenBy(sent, tables)?.streamId === keyOf(failing) && ++failingTransactions === 2)
        throw new InternalServerError({ message: "injected", $metadata: {} });
    });
    const logged = vi.spyOn(logger, "error").mockImplementation(() => {});
    onTestFinished(() => logged.mockRestore());

    // Act
    const failed = await makeHandler(depsWith({ store: flaky }))(streamEvent(records));
    const committedBeforeRedelivery = {
      failing: await versionsOf(failing),
      before: await versionsOf(before),
      after: await versionsOf(after),
    };
    const resumed = await makeHandler(depsWith())(streamEvent(records.slice(firstOfFailing)));

    // Assess
    const [firstFailing] = streamEvent([failingRecords[0]!]).Records;
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: firstFailing!.dynamodb!.SequenceNumber }]);
    expect(logged).toHaveBeenCalledExactlyOnceWith(expect.any(String), expect.objectContaining({ key: keyOf(failing), seq: 1 }));
    expect(committedBeforeRedelivery).toEqual({ failing: oneTo(33), before: [1, 2], after: [1, 2, 3] });
    expect(resumed).toEqual({ batchItemFailures: [] });
    expect(await versionsOf(failing)).toEqual(oneTo(61));
    expect(await seqsOf(failing)).toEqual(oneTo(61));
    expect(new Set((await eventsOf(failing)).map((e) => e.commandSeq)).size).toBe(61);
    expect(await versionsOf(before)).toEqual([1, 2]);
    expect(await versionsOf(after)).toEqual([1, 2, 3]);
    expect(await seqsOf(after)).toEqual([1, 2, 3]);
  });

  // Building the history takes most of this file's run time; the limit only guards a crowded machine.
  it("loads an aggregate of thousands of events from its snapshot, without reading them", { timeout: 180_000 }, async () => {
    // Prepare
    const aggregateId = newCart();
    const adds = Array.from({ length: 3_000 }, (_, i) => add(i % 2 ? "apple" : "pear", 1, 10));
    const history = commandsFor(aggregateId, [open, ...adds]);
    for (let at = 0; at < history.length; at += 100) {
      const result = await sequence(history.slice(at, at + 100), depsWith());
      expect(result.failedAt).toBeUndefined();
    }
    // Any call that reads the events table (Query, Scan, GetItem, BatchGetItem, TransactGetItems…): only the commit may name it.
    const eventQueries: string[] = [];
    const counting = connect((sent) => {
      if (sent.name !== "TransactWriteItemsCommand" && JSON.stringify(sent.input).includes(JSON.stringify(tables.events))) eventQueries.push(sent.name);
    });

    // Act
    const result = await sequence([commandRecord({ aggregateId, seq: 3_002, command: "CloseCart" })], depsWith({ store: counting }));

    // Assess
    expect(result).toMatchObject({ failedAt: undefined, committed: 1 });
    expect(eventQueries).toEqual([]);
    const closing = (await outcomesOf(aggregateId)).find((o) => o.seq === 3_002);
    expect(closing).toMatchObject({ status: "accepted", events: [{ version: 3_002, type: "CartClosed", data: { total: 30_000 } }] });
    expect((await eventsOf(aggregateId)).length).toBe(3_002);
  });

  it("rebuilds a snapshot of another schemaVersion by folding the stream", async () => {
    // Prepare
    const aggregateId = newCart();
    const removeOneApple = { command: "RemoveItem", payload: { sku: "apple", quantity: 1 } };
    await sequence(commandsFor(aggregateId, [open, add("apple", 2, 100), add("pear", 1, 50), removeOneApple]), depsWith());
    const garbage = { garbage: true, items: "not a list" };
    await store.db.send(
      new PutCommand({
        TableName: tables.snapshots,
        Item: { streamId: keyOf(aggregateId), version: 4, lastSeq: 4, schemaVersion: 0, state: garbage, updatedAt: 1 },
      }),
    );
    const eventQueries: string[] = [];
    const counting = connect((sent) => {
      if (sent.name === "QueryCommand" && sent.input.TableName === tables.events) eventQueries.push(sent.input.TableName);
    });

    // Act
    const result = await sequence([commandRecord({ aggregateId, seq: 5, command: "CloseCart" })], depsWith({ store: counting }));

    // Assess
    expect(result).toMatchObject({ failedAt: undefined, committed: 1 });
    expect(eventQueries.length).toBeGreaterThan(0);
    expect((await eventsOf(aggregateId)).at(-1)).toMatchObject({ version: 5, type: "CartClosed", data: { total: 150 } });
    expect(await snapshotOf(aggregateId)).toMatchObject({
      version: 5,
      lastSeq: 5,
      schemaVersion: cart.schemaVersion,
      state: {
        status: "closed",
        owner: "u-1",
        items: [
          { sku: "apple", quantity: 1, unitPrice: 100, currency: "EUR" },
          { sku: "pear", quantity: 1, unitPrice: 50, currency: "EUR" },
        ],
        total: 150,
      },
    });
  });

  it("commits a group of more than 100 items in one batch as several transactions, with gapless versions", async () => {
    // Prepare
    const aggregateId = newCart();
    const records = commandsFor(aggregateId, [open, ...Array.from({ length: 50 }, () => add()), close]);
    const transactionSizes: number[] = [];
    const counting = connect((sent) => {
      if (sent.name === "TransactWriteItemsCommand") transactionSizes.push(sent.input.TransactItems.length);
    });

    // Act
    const result = await sequence(records, depsWith({ store: counting }));

    // Assess
    expect(result).toEqual({ failedAt: undefined, errors: [], committed: 52 });
    expect(transactionSizes.length).toBeGreaterThan(1);
    for (const size of transactionSizes) expect(size).toBeLessThanOrEqual(100);
    expect(transactionSizes.reduce((a, b) => a + b)).toBe(52 * 3 + transactionSizes.length);
    expect(await versionsOf(aggregateId)).toEqual(oneTo(52));
    expect(await seqsOf(aggregateId)).toEqual(oneTo(52));
    expect(await snapshotOf(aggregateId)).toMatchObject({ version: 52, lastSeq: 52, state: { status: "closed", total: 5_000 } });
  });

  it("commits events, snapshot and outcomes of an aggregate atomically: one failed write leaves all unchanged", async () => {
    // Prepare: a foreign event already sits at the version the sequencer will write.
    const aggregateId = newCart();
    const records = commandsFor(aggregateId, [open, add("apple"), add("pear")]);
    await sequence(records.slice(0, 1), depsWith());
    const foreign = { streamId: keyOf(aggregateId), version: 2, type: "Foreign", data: {} };
    await store.db.send(new PutCommand({ TableName: tables.events, Item: foreign }));
    const snapshotBefore = await snapshotOf(aggregateId);

    // Act
    const result = await sequence(records.slice(1), depsWith({ maxConflicts: 0 }));

    // Assess
    expect(result.failedAt).toBe(0);
    expect(result.errors).toEqual([expect.any(TransactionCanceledException)]);
    expect(await snapshotOf(aggregateId)).toEqual(snapshotBefore);
    expect(await seqsOf(aggregateId)).toEqual([1]);
    expect(await eventsOf(aggregateId)).toEqual([expect.objectContaining({ version: 1, type: "CartOpened" }), foreign]);
    const requestOf = (r: CommandRecord) =>
      store.db.send(new GetCommand({ TableName: tables.requests, Key: { requestKey: requestKeyOf("cart", r.user, r.id) }, ConsistentRead: true }));
    const requests = await Promise.all(records.slice(1).map(requestOf));
    expect(requests.map((r) => r.Item)).toEqual([undefined, undefined]);
  });
});
