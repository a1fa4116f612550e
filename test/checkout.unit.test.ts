// The checkout process manager as a specification (an inventory event in,
// the cart's commands out), its runner on a recording transport, and its
// Kinesis handler on a stand-in commands table.
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { commands as cartCommands } from "../core/cart/decide.js";
import { createClient, type AnyRegistry, type OutgoingEnvelope, type Transport } from "../core/client.js";
import type { Store } from "../core/dynamo.js";
import type { InventoryEvent, Shortage } from "../core/inventory/index.js";
import { checkout, MAX_REASON_LENGTH } from "../core/checkout/checkout.js";
import { runProcessManager } from "../core/process-managers/index.js";
import type { EventRecord } from "../core/records.js";
import { logger } from "../functions/deps.js";
import { makeHandler } from "../functions/process-manager.js";
import { prefixedTableNames } from "../core/dynamo.js";
import { referenceApp, topology } from "./support/app.js";
import { kinesisEvent, streamEvents } from "./support/projection-records.js";

/** Inventory events of warehouse `main`, versions from `from` on. */
const inventoryEvents = (events: readonly InventoryEvent[], from = 1) => streamEvents("inventory", "main", events, { from, user: "service:cart" });
const inventoryEvent = (event: InventoryEvent, version = 1) => inventoryEvents([event], version)[0]!;

const reserved = (reservationId: string): InventoryEvent => ({ type: "StockReserved", data: { reservationId, lines: [{ sku: "SKU-1", quantity: 2 }] } });
const refused = (reservationId: string, shortages: readonly Shortage[]): InventoryEvent => ({
  type: "StockReservationRejected",
  data: { reservationId, reason: "InsufficientStock", shortages },
});

/** The checkout consumer as the stack runs it: the generic handler, told which manager by its topology entry. */
const makeCheckout = (deps: Parameters<typeof makeHandler>[0]) => makeHandler(deps, topology.kinesisConsumers.checkout!);

const reacting = (event: EventRecord) => ({
  sends: (expected: readonly unknown[]) => expect(checkout.react(event as never)).toEqual(expected),
});

describe("checkout: reacting to inventory's answer", () => {
  it("confirms the cart's checkout when its stock is reserved", () => {
    reacting(inventoryEvent(reserved("cart:c-1"))).sends([
      { type: "cart", command: "ConfirmCheckout", aggregateId: "c-1", payload: { reservationId: "cart:c-1" } },
    ]);
  });

  it("fails the cart's checkout with the shortages, in words, when the reservation is refused", () => {
    const event = inventoryEvent(refused("cart:c-1", [{ sku: "SKU-1", requested: 3, available: 1 }, { sku: "SKU-2", requested: 1, available: 0 }]));
    reacting(event).sends([
      {
        type: "cart",
        command: "FailCheckout",
        aggregateId: "c-1",
        payload: { reservationId: "cart:c-1", reason: "not enough stock in warehouse main: SKU-1 (3 requested, 1 available), SKU-2 (1 requested, 0 available)" },
      },
    ]);
  });

  it.each([
    ["already holds a reservation under the cart's id, so the cart is not left checking out", "ReservationExists", "warehouse main already holds a reservation for this cart"],
    ["takes no more reservations", "TooManyReservations", "warehouse main is holding as many reservations as it can; try again later"],
  ] as const)("fails the checkout, saying so, when the warehouse %s", (_, reason, words) => {
    const event = inventoryEvent({ type: "StockReservationRejected", data: { reservationId: "cart:c-1", reason, shortages: [] } });
    reacting(event).sends([{ type: "cart", command: "FailCheckout", aggregateId: "c-1", payload: { reservationId: "cart:c-1", reason: words } }]);
  });

  it("keeps a reason for a hundred short skus within what FailCheckout accepts, saying how many it left out", () => {
    const shortages = Array.from({ length: 100 }, (_, i) => ({ sku: `SKU-${"x".repeat(50)}-${i}`, requested: 1_000_000, available: 999_999 }));
    const [fail] = checkout.react(inventoryEvent(refused("cart:c-1", shortages)) as never);
    const reason = String(fail?.payload.reason);
    expect(reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(reason).toMatch(/^not enough stock in warehouse main: SKU-x+-0 \(1000000 requested, 999999 available\), .* and \d+ more$/);
    const shown = reason.split("), ").length;
    expect(reason.endsWith(` and ${100 - shown} more`)).toBe(true);
    expect(cartCommands.FailCheckout.safeParse(fail?.payload).success).toBe(true);
  });

  it("leaves alone reservations that are not a cart's", () => {
    for (const reservationId of ["order-7", "cart:", "cart:not a cart id", "basket:c-1"]) {
      reacting(inventoryEvent(reserved(reservationId))).sends([]);
      reacting(inventoryEvent(refused(reservationId, [{ sku: "SKU-1", requested: 1, available: 0 }]))).sends([]);
    }
    // The same events for a cart's reservation are answered: silence above is the id's doing, not the event's.
    expect(checkout.react(inventoryEvent(reserved("cart:c-1")) as never)).toHaveLength(1);
    expect(checkout.react(inventoryEvent(refused("cart:c-1", [{ sku: "SKU-1", requested: 1, available: 0 }])) as never)).toHaveLength(1);
  });
});

/** A transport that records what it is asked to send, and fails the sends `fail` picks. */
const recording = (fail: (envelope: OutgoingEnvelope) => boolean = () => false) => {
  const sent: OutgoingEnvelope[] = [];
  const transport: Transport = {
    send: async (envelope) => {
      if (fail(envelope)) throw new Error(`cannot send ${envelope.id}`);
      sent.push(envelope);
      return { status: "pending", key: `cart:${envelope.aggregateId}`, seq: sent.length, correlationId: envelope.correlationId ?? "" };
    },
  };
  return { sent, client: createClient<AnyRegistry>(transport) };
};

describe("checkout: the runner", () => {
  // Prepare: inventory's events as the fan-out delivers them, among other microservices' events.
  const [restocked, forC1, forC2, committed] = inventoryEvents([
    { type: "StockRestocked", data: { sku: "SKU-1", quantity: 5 } },
    reserved("cart:c-1"),
    refused("cart:c-2", [{ sku: "SKU-1", requested: 9, available: 3 }]),
    { type: "StockCommitted", data: { reservationId: "cart:c-1", lines: [{ sku: "SKU-1", quantity: 2 }] } },
  ]);
  // A cart event that happens to share a type name with inventory's: not the checkout's business.
  const lookalike = streamEvents("cart", "c-9", [{ type: "StockReserved", data: { reservationId: "cart:c-9" } }])[0]!;
  const batch = [restocked!, lookalike, forC1!, forC2!, committed!];

  it("sends each reaction named after its event, in the event's chain, and nothing for other events", async () => {
    const { sent, client } = recording();

    const result = await runProcessManager(checkout, client, batch);

    expect(result).toEqual({});
    expect(sent).toEqual([
      expect.objectContaining({ type: "cart", command: "ConfirmCheckout", aggregateId: "c-1", id: "inventory:main#2>0", correlationId: forC1!.correlationId, causationId: "inventory:main#2" }),
      expect.objectContaining({ type: "cart", command: "FailCheckout", aggregateId: "c-2", id: "inventory:main#3>0", correlationId: forC2!.correlationId, causationId: "inventory:main#3" }),
    ]);
  });

  it("sends the same ids when the events come again, so the sequencer answers them duplicate", async () => {
    const first = recording();
    const again = recording();
    await runProcessManager(checkout, first.client, batch);
    await runProcessManager(checkout, again.client, batch);
    expect(first.sent.map((e) => e.id)).toEqual(["inventory:main#2>0", "inventory:main#3>0"]);
    expect(again.sent.map((e) => e.id)).toEqual(first.sent.map((e) => e.id));
  });

  it("stops at the first event whose reaction cannot be sent, and says which", async () => {
    const { sent, client } = recording((envelope) => envelope.aggregateId === "c-1");

    const result = await runProcessManager(checkout, client, batch);

    expect(result.failed?.index).toBe(batch.indexOf(forC1!));
    expect((result.failed?.error as Error).message).toBe("cannot send inventory:main#2>0");
    expect(sent).toEqual([]);
  });
});

/**
 * A commands table that counts seqs per key like the counter item does, and
 * refuses the keys `fail` names, as DynamoDB would refuse a throttled write.
 */
const commandsTable = (fail: (key: string) => boolean = () => false) => {
  const seqs = new Map<string, number>();
  const written: Record<string, any>[] = [];
  const db = {
    send: async (command: unknown) => {
      if (!(command instanceof UpdateCommand)) throw new Error("the process manager only appends commands");
      const key = String(command.input.Key?.key);
      if (fail(key)) throw new Error(`write to ${key} throttled`);
      const seq = (seqs.get(key) ?? 0) + 1;
      seqs.set(key, seq);
      written.push({ key, seq, ...command.input.ExpressionAttributeValues });
      return { Attributes: { seq } };
    },
  };
  const store = { db, tables: prefixedTableNames("unit-") } as unknown as Store;
  return { store, written };
};

/** The logger's errors during one test, kept off the console. */
const loggedErrors = () => {
  const spy = vi.spyOn(logger, "error").mockImplementation(() => {});
  onTestFinished(() => spy.mockRestore());
  return () => spy.mock.calls.map(([message]) => message);
};

describe("checkout: the Kinesis handler", () => {
  const [forC1, forC2] = inventoryEvents([reserved("cart:c-1"), refused("cart:c-2", [{ sku: "SKU-1", requested: 9, available: 3 }])]);

  it("appends each reaction as the checkout service, and reports no failure", async () => {
    const { store, written } = commandsTable();
    const handler = makeCheckout({ store, app: referenceApp, clock: () => 1_795_440_000_000 });

    const response = await handler(kinesisEvent([forC1!, forC2!]));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(written).toEqual([
      expect.objectContaining({ key: "cart:c-1", seq: 1, ":command": "ConfirmCheckout", ":id": "inventory:main#1>0", ":user": "service:checkout", ":roles": ["service"], ":causationId": "inventory:main#1" }),
      expect.objectContaining({ key: "cart:c-2", seq: 1, ":command": "FailCheckout", ":id": "inventory:main#2>0", ":user": "service:checkout", ":roles": ["service"] }),
    ]);
  });

  it("reports the first record it could not act on, so the batch resumes there", async () => {
    const errors = loggedErrors();
    const { store, written } = commandsTable((key) => key === "cart:c-2");
    const handler = makeCheckout({ store, app: referenceApp, clock: () => 1_795_440_000_000 });
    const event = kinesisEvent([forC1!, forC2!]);

    const response = await handler(event);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
    expect(written.map((w) => w.key)).toEqual(["cart:c-1"]);
    expect(errors()).toEqual(["a process manager could not send its commands; the record will be delivered again"]);
  });

  it("reports a record that is not an event record, after acting on those before it", async () => {
    const errors = loggedErrors();
    const { store, written } = commandsTable();
    const handler = makeCheckout({ store, app: referenceApp, clock: () => 1_795_440_000_000 });
    const event = kinesisEvent([forC1!, { raw: "not json" }, forC2!]);

    const response = await handler(event);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }] });
    expect(written.map((w) => w.key)).toEqual(["cart:c-1"]);
    expect(errors()).toEqual(["a Kinesis record is not an event record"]);
  });
});
