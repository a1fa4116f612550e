// A warehouse at its LIMITS against DynamoDB Local, which enforces the 400 KB
// item limit: its snapshot is stored, the sequencer commits it, and
// GET /inventory/{warehouse} reads it.
import { DynamoDBServiceException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSnapshot } from "../core/aggregates.js";
import { appendCommand } from "../core/commands.js";
import { prefixedTableNames, type Store } from "../core/dynamo.js";
import { LIMITS } from "../core/inventory/index.js";
import { microservices, referenceApp, routeSpec } from "./support/app.js";
import type { CommandRecord, OutcomeRecord } from "../core/records.js";
import { sequence } from "../core/sequencer/sequencer.js";
import { makeHandler as makeView } from "../functions/view.js";
import { startDynamo, type LocalDynamo } from "../local/dynamodb.js";
import { createTables } from "../local/tables.js";
import { RECEIVED_AT } from "./support/command-records.js";
import { answerOf, httpEvent } from "./support/http-events.js";
import { interceptedStore, type InterceptedStore } from "./support/intercepted-store.js";
import {
  DYNAMODB_ITEM_LIMIT,
  fullWarehouse,
  MAX_LINE_QUANTITY,
  RESERVATION_ID_BYTES,
  SKU_BYTES,
  snapshotOf,
  textOf,
  utf8Bytes,
} from "./support/inventory-limits.js";

const tables = prefixedTableNames("inventory-int-");
const NOW = RECEIVED_AT + 1_000;

let dynamo: LocalDynamo;
let connection: InterceptedStore;
let store: Store;

beforeAll(async () => {
  dynamo = await startDynamo();
  connection = interceptedStore(dynamo.endpoint, tables);
  store = connection.store;
  await createTables(connection.client, tables);
});

afterAll(async () => {
  connection?.destroy();
  await dynamo?.stop();
});

const put = (item: object) => store.db.send(new PutCommand({ TableName: tables.snapshots, Item: item as Record<string, unknown> }));

/** Whether DynamoDB Local stores `item`: false when it is refused for its size. */
const fits = async (item: object): Promise<boolean> => {
  try {
    await put(item);
    return true;
  } catch (error) {
    if (error instanceof DynamoDBServiceException && /size/i.test(error.message)) return false;
    throw error;
  }
};

/**
 * The item's size as DynamoDB Local counts it: the longest string attribute
 * `pad` it can still take, subtracted from the limit (a binary search, about
 * 19 writes).
 */
const sizeAsCounted = async (item: object): Promise<number> => {
  let [low, high] = [0, DYNAMODB_ITEM_LIMIT];
  expect(await fits({ ...item, pad: "x" })).toBe(true);
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await fits({ ...item, pad: "x".repeat(middle) })) low = middle;
    else high = middle;
  }
  return DYNAMODB_ITEM_LIMIT - low - "pad".length;
};

const admin = { user: "stock-keeper", roles: ["admin"] };

const appendInventory = async (warehouse: string, command: string, payload: Record<string, unknown>): Promise<CommandRecord> => {
  const { key } = await appendCommand(store, microservices.inventory!, { type: "inventory", command, aggregateId: warehouse, id: ulid(), ...admin, payload }, RECEIVED_AT);
  return (await store.db.send(new GetCommand({ TableName: tables.commands, Key: { key }, ConsistentRead: true }))).Item as CommandRecord;
};

const outcomeOf = async (record: CommandRecord) =>
  (await store.db.send(new GetCommand({ TableName: tables.outcomes, Key: { key: record.key, seq: record.seq }, ConsistentRead: true }))).Item as OutcomeRecord;

describe("a warehouse at its LIMITS", () => {
  it("is refused by DynamoDB Local once an item passes 400 KB: the limit these tests lean on is enforced", async () => {
    expect(await fits({ streamId: "inventory:too-big", pad: "x".repeat(DYNAMODB_ITEM_LIMIT) })).toBe(false);
    expect(await fits({ streamId: "inventory:big", pad: "x".repeat(DYNAMODB_ITEM_LIMIT - 1_000) })).toBe(true);
  });

  it("is stored as one snapshot item, well under the limit", async () => {
    // Prepare
    const snapshot = snapshotOf(fullWarehouse());

    // Act
    const counted = await sizeAsCounted(snapshot);
    await put(snapshot);

    // Assess
    const json = utf8Bytes(snapshot);
    console.log(
      `inventory snapshot at LIMITS (${LIMITS.skus} skus of ${SKU_BYTES} bytes, ${LIMITS.reservations} reservations of ${RESERVATION_ID_BYTES} bytes, ` +
        `${LIMITS.reservedLines} lines): DynamoDB Local counts ${counted} bytes (${((counted / DYNAMODB_ITEM_LIMIT) * 100).toFixed(1)}% of 400 KB); ${json} bytes as JSON`,
    );
    expect(counted).toBeLessThanOrEqual(300 * 1024);
    expect(await readSnapshot(store, snapshot.streamId)).toEqual(snapshot);
  });

  it("is committed by the sequencer, and grows no further: WarehouseFull, TooManyReservations", async () => {
    // Prepare: one sku and one reservation short of the limits, written directly (folding 1,249 commands would show nothing more).
    const warehouse = textOf(7, 128);
    const almost = snapshotOf(fullWarehouse({ skus: LIMITS.skus - 1, reservations: LIMITS.reservations - 1 }), warehouse);
    await put({ ...almost, version: 1_248, lastSeq: 0 });
    const lastSku = textOf(LIMITS.skus - 1, SKU_BYTES);
    const lastLines = [LIMITS.skus - 4, LIMITS.skus - 3, LIMITS.skus - 2, LIMITS.skus - 1].map((n) => ({ sku: textOf(n, SKU_BYTES), quantity: MAX_LINE_QUANTITY }));
    const filling = [
      await appendInventory(warehouse, "Restock", { sku: lastSku, quantity: MAX_LINE_QUANTITY }),
      await appendInventory(warehouse, "ReserveStock", { reservationId: textOf(LIMITS.reservations - 1, RESERVATION_ID_BYTES), lines: lastLines }),
    ];
    const beyond = [
      await appendInventory(warehouse, "Restock", { sku: textOf(LIMITS.skus, SKU_BYTES), quantity: 1 }),
      await appendInventory(warehouse, "ReserveStock", { reservationId: textOf(LIMITS.reservations, RESERVATION_ID_BYTES), lines: [{ sku: lastSku, quantity: 1 }] }),
    ];

    // Act
    const filled = await sequence(filling, { store, microservices, clock: () => NOW });
    const full = await readSnapshot(store, almost.streamId);
    const refused = await sequence(beyond, { store, microservices, clock: () => NOW });

    // Assess: the sequencer wrote the full warehouse (its last sku has only what one restock brings).
    expect(filled).toEqual({ failedAt: undefined, errors: [], committed: 2 });
    const expected = fullWarehouse();
    expect(full).toMatchObject({ version: 1_250, lastSeq: filling[1]!.seq });
    expect(full!.state).toEqual({ ...expected, skus: { ...expected.skus, [lastSku]: { onHand: MAX_LINE_QUANTITY, reserved: MAX_LINE_QUANTITY } } });
    expect(refused).toEqual({ failedAt: undefined, errors: [], committed: 2 });
    expect(await outcomeOf(beyond[0]!)).toMatchObject({ status: "rejected", reason: "WarehouseFull" });
    expect(await outcomeOf(beyond[1]!)).toMatchObject({ status: "accepted", events: [{ type: "StockReservationRejected", data: { reason: "TooManyReservations" } }] });
    expect((await readSnapshot(store, almost.streamId))!.state).toEqual(full!.state);
  });

  it("is what GET /inventory/{warehouse} answers, and a warehouse with no events is 404", async () => {
    // Prepare
    const warehouse = "answered";
    await put(snapshotOf(fullWarehouse(), warehouse));
    const route = makeView({ store, app: referenceApp }, routeSpec("GET /inventory/{warehouse}"));
    const get = async (name: string) => answerOf(await route(httpEvent({ path: `/inventory/${name}`, pathParameters: { warehouse: name } })));

    // Act
    const [found, missing] = [await get(warehouse), await get("nowhere")];

    // Assess
    expect(found.status).toBe(200);
    expect(found.body.skus).toHaveLength(LIMITS.skus);
    expect(found.body.reservations).toHaveLength(LIMITS.reservations);
    expect(found.body.skus[0]).toEqual({ sku: textOf(0, SKU_BYTES), onHand: Number.MAX_SAFE_INTEGER, reserved: MAX_LINE_QUANTITY, available: Number.MAX_SAFE_INTEGER - MAX_LINE_QUANTITY });
    expect(missing).toEqual({ status: 404, body: { error: "NotFound", message: "no warehouse 'nowhere'" } });
  });
});
