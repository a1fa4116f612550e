// The sequencer's planning on plain data: grouping a batch, deciding each
// aggregate's commands in order, and splitting the result into transactions.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Aggregate } from "../core/aggregates.js";
import { cart } from "../core/cart/index.js";
import { defineMicroservice, emit, type AnyMicroservice, type Message } from "../core/decider.js";
import { inventory } from "../core/inventory/index.js";
import { requestKeyOf } from "../core/keys.js";
import {
  chunkSteps,
  groupByStream,
  MAX_EVENTS_PER_COMMAND,
  MAX_SENDS_PER_COMMAND,
  MAX_TRANSACTION_ITEMS,
  planGroup,
  type Group,
  type PlanInput,
  type Step,
} from "../core/sequencer/plan.js";
import { commandRecord, commandsFor, RECEIVED_AT } from "./support/command-records.js";

const NOW = RECEIVED_AT + 5_000;
const cartService = cart as unknown as AnyMicroservice;

const outgoing = z.strictObject({ type: z.string(), command: z.string(), aggregateId: z.string(), payload: z.record(z.string(), z.unknown()) });

/**
 * Emits as many events as it is told to and sends whatever commands it is
 * given, unchecked: the shape of a command with a large effect, and of a
 * decider that sends a bad command.
 */
const burst = defineMicroservice({
  name: "burst",
  partitionBy: "aggregate",
  schemaVersion: 1,
  commands: { Emit: z.strictObject({ count: z.number().int().nonnegative(), sends: z.array(outgoing).default([]) }) },
  initialState: { emitted: 0 },
  decide: (command) =>
    emit(
      Array.from({ length: command.data.count }, (_, i): Message<"Emitted", { n: number }> => ({ type: "Emitted", data: { n: i } })),
      ...command.data.sends,
    ),
  evolve: (state: { emitted: number }) => ({ emitted: state.emitted + 1 }),
}) as unknown as AnyMicroservice;

const inventoryService = inventory as unknown as AnyMicroservice;
const everyService: Record<string, AnyMicroservice> = { cart: cartService, inventory: inventoryService, burst };

const groupOf = (records: Parameters<typeof groupByStream>[0]): Group => {
  const groups = groupByStream(records);
  expect(groups).toHaveLength(1);
  return groups[0]!;
};

const plan = (input: Partial<PlanInput> & Pick<PlanInput, "group">): Step[] =>
  planGroup({
    microservice: cartService,
    current: { state: cart.initialState, version: 0, lastSeq: 0 },
    taken: new Map(),
    now: NOW,
    ...input,
  });

const openCartWith = (items: number): Aggregate => ({
  state: { status: "open", owner: "u-1", items: [{ sku: "apple", quantity: items, unitPrice: 100, currency: "EUR" }] },
  version: 1 + items,
  lastSeq: 1 + items,
});

const addApple = { command: "AddItem", payload: { sku: "apple", quantity: 1, unitPrice: 100 } };

describe("groupByStream", () => {
  it("groups a batch by aggregate", () => {
    // Prepare
    const batch = [
      commandRecord({ aggregateId: "c-1", seq: 1, command: "OpenCart" }),
      commandRecord({ aggregateId: "c-2", seq: 1, command: "OpenCart" }),
      commandRecord({ aggregateId: "c-1", seq: 2, command: "CloseCart" }),
    ];

    // Act
    const groups = groupByStream(batch);

    // Assess
    expect(groups.map((g) => [g.streamId, g.microservice, g.aggregateId, g.commands.map((c) => c.seq)])).toEqual([
      ["cart:c-1", "cart", "c-1", [1, 2]],
      ["cart:c-2", "cart", "c-2", [1]],
    ]);
  });

  it("splits one microservice-wide key into its aggregates, each in seq order", () => {
    const batch = [1, 2, 3, 4, 5].map((seq) =>
      commandRecord({ type: "ledger", key: "ledger", aggregateId: seq % 2 ? "odd" : "even", seq, command: "Post" }),
    );

    const groups = groupByStream(batch);

    expect(groups.map((g) => [g.streamId, g.commands.map((c) => c.seq)])).toEqual([
      ["ledger:odd", [1, 3, 5]],
      ["ledger:even", [2, 4]],
    ]);
  });

  it("keeps each key's commands in seq order", () => {
    const [one, two, three] = commandsFor("c-1", [{ command: "OpenCart" }, addApple, addApple]);

    const group = groupOf([three!, one!, two!]);

    expect(group.commands.map((c) => c.seq)).toEqual([1, 2, 3]);
  });

  it("drops a record delivered twice", () => {
    const [one, two] = commandsFor("c-1", [{ command: "OpenCart" }, addApple]);

    const group = groupOf([one!, two!, one!, two!]);

    expect(group.commands).toEqual([one, two]);
  });

  it("returns no group for an empty batch", () => {
    expect(groupByStream([])).toEqual([]);
  });
});

describe("planGroup", () => {
  it("turns an accepted command into events, its outcome, its request id and the next state", () => {
    // Prepare
    const group = groupOf([commandRecord({ aggregateId: "c-1", seq: 1, command: "OpenCart", id: "req-1", user: "alice" })]);

    // Act
    const [step, ...rest] = plan({ group });

    // Assess
    expect(rest).toEqual([]);
    expect(step!.events).toEqual([
      {
        streamId: "cart:c-1",
        version: 1,
        type: "CartOpened",
        data: { owner: "alice" },
        eventId: "cart:c-1#1",
        microservice: "cart",
        aggregateId: "c-1",
        commandKey: "cart:c-1",
        commandSeq: 1,
        commandId: "req-1",
        user: "alice",
        correlationId: "cart:c-1/1",
        causationId: "cart:c-1/1",
        occurredAt: RECEIVED_AT,
        recordedAt: NOW,
      },
    ]);
    expect(step!.outcome).toEqual({
      key: "cart:c-1",
      seq: 1,
      status: "accepted",
      streamId: "cart:c-1",
      commandId: "req-1",
      command: "OpenCart",
      user: "alice",
      correlationId: "cart:c-1/1",
      events: [{ version: 1, type: "CartOpened", data: { owner: "alice" } }],
      recordedAt: NOW,
    });
    expect(step!.request).toEqual({ requestKey: requestKeyOf("cart", "alice", "req-1"), key: "cart:c-1", seq: 1 });
    expect(step!.after).toEqual({ state: { status: "open", owner: "alice", items: [] }, version: 1, lastSeq: 1 });
  });

  it("writes the current typeVersion on events of a type with upcasters, and only on those", () => {
    // Prepare
    const group = groupOf([commandRecord({ aggregateId: "c-1", seq: 3, command: "AddItem", id: "req-3", user: "u-1", payload: addApple.payload })]);

    // Act
    const [step] = plan({ group, current: openCartWith(1) });

    // Assess: CartOpened above has none; ItemAdded is at version 2, its currency defaulted by the command's schema.
    expect(step!.events).toEqual([
      {
        streamId: "cart:c-1",
        version: 3,
        type: "ItemAdded",
        typeVersion: 2,
        data: { sku: "apple", quantity: 1, unitPrice: 100, currency: "EUR" },
        eventId: "cart:c-1#3",
        microservice: "cart",
        aggregateId: "c-1",
        commandKey: "cart:c-1",
        commandSeq: 3,
        commandId: "req-3",
        user: "u-1",
        correlationId: "cart:c-1/3",
        causationId: "cart:c-1/3",
        occurredAt: RECEIVED_AT,
        recordedAt: NOW,
      },
    ]);
    expect(step!.after.state).toEqual({ status: "open", owner: "u-1", items: [{ sku: "apple", quantity: 2, unitPrice: 100, currency: "EUR" }] });
  });

  it("decides with the command's time, user, roles and aggregate", () => {
    const seen: unknown[] = [];
    const spy = { ...cartService, decide: (command: Message, state: unknown, context: unknown) => (seen.push(context), []) };
    const group = groupOf([
      commandRecord({ aggregateId: "c-9", seq: 1, command: "OpenCart", user: "bob", occurredAt: 42 }),
      commandRecord({ aggregateId: "c-9", seq: 2, command: "OpenCart", user: "bob", occurredAt: 43, roles: ["admin"] }),
    ]);

    plan({ group, microservice: spy as AnyMicroservice });

    expect(seen).toEqual([
      { now: 42, user: "bob", roles: [], aggregateId: "c-9" },
      { now: 43, user: "bob", roles: ["admin"], aggregateId: "c-9" },
    ]);
  });

  it("skips commands at or below the aggregate's last applied seq", () => {
    const group = groupOf(commandsFor("c-1", [{ command: "OpenCart" }, addApple, addApple, addApple]));

    const steps = plan({ group, current: openCartWith(2) });

    expect(steps.map((s) => s.command.seq)).toEqual([4]);
  });

  it("plans nothing when every command was applied already", () => {
    const group = groupOf(commandsFor("c-1", [{ command: "OpenCart" }, addApple, addApple]));

    expect(plan({ group, current: openCartWith(2) })).toEqual([]);
  });

  it("continues versions from the aggregate's current version, with no gap", () => {
    const group = groupOf(commandsFor("c-1", [addApple, addApple, { command: "RemoveItem", payload: { sku: "apple" } }], 4));

    const steps = plan({ group, current: openCartWith(2) });

    expect(steps.flatMap((s) => s.events.map((e) => [e.version, e.eventId, e.commandSeq]))).toEqual([
      [4, "cart:c-1#4", 4],
      [5, "cart:c-1#5", 5],
      [6, "cart:c-1#6", 6],
    ]);
    expect(steps.at(-1)!.after).toMatchObject({ version: 6, lastSeq: 6, state: { status: "open", items: [] } });
  });

  it("advances lastSeq but not the version on a rejection", () => {
    // Prepare
    const group = groupOf(
      commandsFor("c-1", [{ command: "RemoveItem", payload: { sku: "pear" } }, { command: "OpenCart" }, addApple], 4),
    );

    // Act
    const [rejected, reopened, added] = plan({ group, current: openCartWith(2) });

    // Assess
    expect(rejected!.outcome).toMatchObject({ status: "rejected", reason: "ItemNotInCart", message: expect.any(String) });
    expect(rejected!.events).toEqual([]);
    expect(rejected!.after).toMatchObject({ version: 3, lastSeq: 4 });
    expect(reopened!.outcome).toMatchObject({ status: "rejected", reason: "CartAlreadyOpened" });
    expect(reopened!.after).toMatchObject({ version: 3, lastSeq: 5 });
    expect(added!.events.map((e) => e.version)).toEqual([4]);
    expect(added!.after).toMatchObject({ version: 4, lastSeq: 6 });
  });

  it("takes the request id of a rejected command, so a resend gets the same answer", () => {
    const group = groupOf([
      commandRecord({ aggregateId: "c-1", seq: 1, command: "CloseCart", id: "req-1" }),
      commandRecord({ aggregateId: "c-1", seq: 2, command: "CloseCart", id: "req-1" }),
    ]);

    const [rejected, resent] = plan({ group });

    expect(rejected!.request).toEqual({ requestKey: requestKeyOf("cart", "u-1", "req-1"), key: "cart:c-1", seq: 1 });
    expect(resent!.outcome).toMatchObject({ status: "duplicate", original: { key: "cart:c-1", seq: 1 } });
  });

  it("answers a request id already taken in the store with a duplicate pointing at the original", () => {
    // Prepare
    const group = groupOf([commandRecord({ aggregateId: "c-1", seq: 3, command: "CloseCart", id: "req-7" })]);
    const taken = new Map([[requestKeyOf("cart", "u-1", "req-7"), { key: "cart:c-other", seq: 12 }]]);

    // Act
    const [step] = plan({ group, current: openCartWith(1), taken });

    // Assess
    expect(step!.outcome).toEqual({
      key: "cart:c-1",
      seq: 3,
      status: "duplicate",
      streamId: "cart:c-1",
      commandId: "req-7",
      command: "CloseCart",
      user: "u-1",
      correlationId: "cart:c-1/3",
      original: { key: "cart:c-other", seq: 12 },
      recordedAt: NOW,
    });
    expect(step!.events).toEqual([]);
    expect(step!.request).toBeUndefined();
    expect(step!.after).toMatchObject({ version: 2, lastSeq: 3, state: openCartWith(1).state });
  });

  it("answers a request id reused within the same batch with a duplicate of the first", () => {
    const group = groupOf([
      commandRecord({ aggregateId: "c-1", seq: 1, command: "OpenCart", id: 17 }),
      commandRecord({ aggregateId: "c-1", seq: 2, ...addApple, id: 17 }),
      commandRecord({ aggregateId: "c-1", seq: 3, ...addApple, id: "17" }),
    ]);

    const steps = plan({ group });

    expect(steps.map((s) => s.outcome.status)).toEqual(["accepted", "duplicate", "accepted"]);
    expect(steps[1]!.outcome.original).toEqual({ key: "cart:c-1", seq: 1 });
    expect(steps.flatMap((s) => s.events.map((e) => e.version))).toEqual([1, 2]);
  });

  it("keeps request ids apart per user", () => {
    // In one batch: bob's command is judged on its own (the cart is alice's), not taken for a resend of hers.
    const group = groupOf([
      commandRecord({ aggregateId: "c-1", seq: 1, command: "OpenCart", id: "req-1", user: "alice" }),
      commandRecord({ aggregateId: "c-1", seq: 2, ...addApple, id: "req-1", user: "bob" }),
    ]);
    const [alices, bobs] = plan({ group });
    expect(alices!.outcome.status).toBe("accepted");
    expect(bobs!.outcome).toMatchObject({ status: "rejected", reason: "Forbidden" });
    expect(bobs!.request).toEqual({ requestKey: requestKeyOf("cart", "bob", "req-1"), key: "cart:c-1", seq: 2 });

    // Against the store: alice's id taken elsewhere does not make bob's command a duplicate.
    const bobOpens = groupOf([commandRecord({ aggregateId: "c-2", seq: 1, command: "OpenCart", id: "req-1", user: "bob" })]);
    const taken = new Map([[requestKeyOf("cart", "alice", "req-1"), { key: "cart:c-1", seq: 1 }]]);
    expect(plan({ group: bobOpens, taken }).map((s) => s.outcome.status)).toEqual(["accepted"]);
  });

  it("rejects a command for an unknown microservice", () => {
    const group = groupOf([commandRecord({ type: "order", aggregateId: "o-1", seq: 1, command: "Place" })]);

    const [step] = plan({ group, microservice: undefined, current: { state: undefined, version: 0, lastSeq: 0 } });

    expect(step!.outcome).toMatchObject({ status: "rejected", reason: "UnknownMicroservice", streamId: "order:o-1" });
    expect(step!.after).toEqual({ state: undefined, version: 0, lastSeq: 1 });
  });

  it("rejects an unknown command", () => {
    const group = groupOf([commandRecord({ aggregateId: "c-1", seq: 1, command: "Teleport" })]);

    expect(plan({ group })[0]!.outcome).toMatchObject({ status: "rejected", reason: "UnknownCommand" });
  });

  it("rejects an invalid payload, naming the field", () => {
    const payload = { sku: "apple", quantity: 0, unitPrice: 1 };
    const group = groupOf([commandRecord({ aggregateId: "c-1", seq: 2, command: "AddItem", payload })]);

    const [step] = plan({ group, current: openCartWith(0) });

    expect(step!.outcome).toMatchObject({
      status: "rejected",
      reason: "InvalidCommand",
      message: expect.stringContaining("payload.quantity"),
    });
    expect(step!.events).toEqual([]);
  });

  it(`rejects a command producing more than ${MAX_EVENTS_PER_COMMAND} events, and accepts one producing exactly that many`, () => {
    const group = groupOf([
      commandRecord({ type: "burst", aggregateId: "b-1", seq: 1, command: "Emit", payload: { count: MAX_EVENTS_PER_COMMAND + 1 } }),
      commandRecord({ type: "burst", aggregateId: "b-1", seq: 2, command: "Emit", payload: { count: MAX_EVENTS_PER_COMMAND } }),
    ]);

    const [tooMany, most] = plan({ group, microservice: burst, current: { state: burst.initialState, version: 0, lastSeq: 0 } });

    expect(tooMany!.outcome).toMatchObject({ status: "rejected", reason: "TooManyEvents" });
    expect(most!.events.map((e) => e.version)).toEqual(Array.from({ length: MAX_EVENTS_PER_COMMAND }, (_, i) => i + 1));
  });
});

describe("planGroup: commands sent to other microservices", () => {
  const inventoryAt = (stock: Record<string, number>, lastSeq = 0): Aggregate => ({
    state: { skus: Object.fromEntries(Object.entries(stock).map(([sku, onHand]) => [sku, { onHand, reserved: 0 }])), reservations: {} },
    version: Object.keys(stock).length,
    lastSeq,
  });
  const emitting = (sends: readonly Record<string, unknown>[], count = 1) =>
    groupOf([commandRecord({ type: "burst", aggregateId: "b-1", seq: 1, command: "Emit", payload: { count, sends } })]);
  const planBurst = (group: Group) =>
    plan({ group, microservice: burst, microservices: everyService, current: { state: burst.initialState, version: 0, lastSeq: 0 } });
  const restock = (warehouse: string, quantity = 1) => ({ type: "inventory", command: "Restock", aggregateId: warehouse, payload: { sku: "apple", quantity } });
  const openCart = (cartId: string) => ({ type: "cart", command: "OpenCart", aggregateId: cartId, payload: {} });

  it("writes a command's sends with it, named after it and sent as its microservice with the service role", () => {
    // Prepare: c-1 holds two apples; its 4th command checks it out.
    const group = groupOf([commandRecord({ aggregateId: "c-1", seq: 4, command: "Checkout", id: "req-4" })]);

    // Act
    const [step] = plan({ group, microservices: everyService, current: openCartWith(2) });

    // Assess
    expect(step!.sends).toEqual([
      {
        key: "inventory",
        type: "inventory",
        command: "ReserveStock",
        aggregateId: "main",
        id: "cart:c-1/4>0",
        user: "service:cart",
        roles: ["service"],
        correlationId: "cart:c-1/4",
        causationId: "cart:c-1/4",
        occurredAt: RECEIVED_AT,
        receivedAt: NOW,
        payload: { reservationId: "cart:c-1", lines: [{ sku: "apple", quantity: 2 }] },
      },
    ]);
    expect(step!.outcome).toMatchObject({
      status: "accepted",
      correlationId: "cart:c-1/4",
      events: [{ version: 4, type: "CheckoutStarted" }],
      sent: [{ type: "inventory", command: "ReserveStock", aggregateId: "main", key: "inventory", id: "cart:c-1/4>0" }],
    });
    expect(step!.events.map((e) => [e.correlationId, e.causationId])).toEqual([["cart:c-1/4", "cart:c-1/4"]]);
    // A retried batch plans the very same writes: nothing new to send.
    expect(plan({ group, microservices: everyService, current: openCartWith(2) })[0]!.sends).toEqual(step!.sends);
  });

  it("carries a chain on: what a command sends keeps its correlationId and names that command as its cause", () => {
    // Prepare: the process manager confirms c-1's checkout, caused by inventory's StockReserved event.
    const checkingOut: Aggregate = {
      state: { status: "checking-out", owner: "u-1", items: [{ sku: "apple", quantity: 2, unitPrice: 100, currency: "EUR" }], reservationId: "cart:c-1", warehouse: "north" },
      version: 4,
      lastSeq: 4,
    };
    const group = groupOf([
      commandRecord({
        aggregateId: "c-1",
        seq: 5,
        command: "ConfirmCheckout",
        user: "service:checkout",
        roles: ["service"],
        correlationId: "cart:c-1/4",
        causationId: "inventory:north#2",
        payload: { reservationId: "cart:c-1" },
      }),
    ]);

    // Act
    const [step] = plan({ group, microservices: everyService, current: checkingOut });

    // Assess
    expect(step!.outcome).toMatchObject({ status: "accepted", correlationId: "cart:c-1/4", causationId: "inventory:north#2" });
    expect(step!.events.map((e) => [e.type, e.correlationId, e.causationId])).toEqual([["CheckoutConfirmed", "cart:c-1/4", "cart:c-1/5"]]);
    expect(step!.sends).toEqual([
      expect.objectContaining({
        key: "inventory",
        command: "CommitReservation",
        aggregateId: "north",
        id: "cart:c-1/5>0",
        correlationId: "cart:c-1/4",
        causationId: "cart:c-1/5",
      }),
    ]);
  });

  it("is accepted by its target as the API would accept it: the service role passes, the chain goes on", () => {
    // Prepare: the ReserveStock c-1's checkout sent, as inventory's counter gives it seq 9.
    const [checkout] = plan({
      group: groupOf([commandRecord({ aggregateId: "c-1", seq: 4, command: "Checkout" })]),
      microservices: everyService,
      current: openCartWith(2),
    });
    const received = { ...checkout!.sends[0]!, seq: 9 };

    // Act
    const [step] = plan({ group: groupOf([received]), microservice: inventoryService, microservices: everyService, current: inventoryAt({ apple: 5 }, 8) });

    // Assess
    expect(step!.outcome).toMatchObject({ key: "inventory", seq: 9, status: "accepted", streamId: "inventory:main", correlationId: "cart:c-1/4", causationId: "cart:c-1/4" });
    expect(step!.events.map((e) => [e.type, e.correlationId, e.causationId])).toEqual([["StockReserved", "cart:c-1/4", "inventory/9"]]);
    expect(step!.request).toEqual({ requestKey: requestKeyOf("inventory", "service:cart", "cart:c-1/4>0"), key: "inventory", seq: 9 });
  });

  it.each([
    ["an unknown microservice", { type: "order", command: "Place", aggregateId: "o-1", payload: {} }, "unknown microservice 'order'"],
    ["an unknown command", { type: "cart", command: "Teleport", aggregateId: "c-9", payload: {} }, "cart has no command 'Teleport'"],
    ["an invalid payload", { type: "inventory", command: "Restock", aggregateId: "main", payload: { sku: "apple", quantity: 0 } }, "payload.quantity"],
  ])("rejects the sending command InvalidCommandSent when it sends to %s: no event, no send", (_, send, message) => {
    const [step] = planBurst(emitting([openCart("c-ok"), send], 3));

    expect(step!.outcome).toMatchObject({ status: "rejected", reason: "InvalidCommandSent", message: expect.stringContaining(message) });
    expect(step!.outcome.message).toContain("sent command 1");
    expect([step!.events, step!.sends, step!.outcome.sent]).toEqual([[], [], undefined]);
    expect(step!.after).toEqual({ state: burst.initialState, version: 0, lastSeq: 1 });
    expect(step!.request).toBeDefined();
  });

  it("sends at most one command per command key: two to one key are TooManyCommands", () => {
    // Inventory is keyed per microservice: two warehouses share one counter.
    const [twoWarehouses] = planBurst(emitting([restock("north"), restock("south")]));
    const [oneCartTwice] = planBurst(emitting([openCart("c-7"), openCart("c-7")]));
    const [twoCarts] = planBurst(emitting([openCart("c-7"), openCart("c-8"), restock("north")]));

    expect(twoWarehouses!.outcome).toMatchObject({ status: "rejected", reason: "TooManyCommands", message: expect.stringContaining("'inventory'") });
    expect(oneCartTwice!.outcome).toMatchObject({ status: "rejected", reason: "TooManyCommands", message: expect.stringContaining("'cart:c-7'") });
    expect(twoCarts!.sends.map((send) => send.key)).toEqual(["cart:c-7", "cart:c-8", "inventory"]);
    expect(twoCarts!.sends.map((send) => send.id)).toEqual(["burst:b-1/1>0", "burst:b-1/1>1", "burst:b-1/1>2"]);
  });

  it(`sends at most ${MAX_SENDS_PER_COMMAND} commands: more are TooManyCommands`, () => {
    const carts = (n: number) => Array.from({ length: n }, (_, i) => openCart(`c-${i}`));

    expect(planBurst(emitting(carts(MAX_SENDS_PER_COMMAND + 1)))[0]!.outcome).toMatchObject({ status: "rejected", reason: "TooManyCommands" });
    expect(planBurst(emitting(carts(MAX_SENDS_PER_COMMAND)))[0]!.sends).toHaveLength(MAX_SENDS_PER_COMMAND);
  });

  it("checks the sender's roles before deciding: Forbidden", () => {
    const restockBy = (seq: number, roles?: string[]) =>
      commandRecord({ type: "inventory", key: "inventory", aggregateId: "main", seq, command: "Restock", payload: { sku: "apple", quantity: 1 }, ...(roles ? { roles } : {}) });
    const group = groupOf([restockBy(1), restockBy(2, ["shopper"]), restockBy(3, ["admin"]), restockBy(4, ["service"])]);

    const steps = plan({ group, microservice: inventoryService, microservices: everyService, current: inventoryAt({}) });

    expect(steps.map((s) => [s.outcome.status, s.outcome.reason])).toEqual([
      ["rejected", "Forbidden"],
      ["rejected", "Forbidden"],
      ["accepted", undefined],
      ["accepted", undefined],
    ]);
    expect(steps[0]!.outcome.message).toContain("'service' or 'admin'");
    expect(steps.flatMap((s) => s.events.map((e) => e.version))).toEqual([1, 2]);

    // A cart's owner cannot answer its own checkout: only services may.
    const confirming = groupOf([commandRecord({ aggregateId: "c-1", seq: 4, command: "ConfirmCheckout", payload: { reservationId: "cart:c-1" } })]);
    expect(plan({ group: confirming, current: openCartWith(2) })[0]!.outcome).toMatchObject({ status: "rejected", reason: "Forbidden" });
  });
});

describe("chunkSteps", () => {
  /** Items one transaction writes for `chunk`: its events, sent commands, outcomes and request ids, and one snapshot. */
  const itemsIn = (chunk: readonly Step[]) =>
    1 + chunk.reduce((sum, step) => sum + step.events.length + step.sends.length + 1 + (step.request ? 1 : 0), 0);

  const addingApples = (count: number) =>
    plan({ group: groupOf(commandsFor("c-1", Array.from({ length: count }, () => addApple), 2)), current: openCartWith(0) });

  /** Burst commands: a count of events, or events and the carts each opens by a sent command. */
  const emitting = (emits: readonly (number | { count: number; opens: readonly string[] })[]) =>
    planGroup({
      group: groupOf(
        emits.map((e, i) => {
          const { count, opens } = typeof e === "number" ? { count: e, opens: [] } : e;
          const sends = opens.map((cartId) => ({ type: "cart", command: "OpenCart", aggregateId: cartId, payload: {} }));
          return commandRecord({ type: "burst", aggregateId: "b-1", seq: i + 1, command: "Emit", payload: { count, sends } });
        }),
      ),
      microservice: burst,
      microservices: everyService,
      current: { state: burst.initialState, version: 0, lastSeq: 0 },
      taken: new Map(),
      now: NOW,
    });

  it("splits a group of 150 items into transactions of at most 100, in order", () => {
    // Prepare: each AddItem writes an event, an outcome and a request id.
    const steps = addingApples(50);

    // Act
    const chunks = chunkSteps(steps);

    // Assess
    expect(chunks.length).toBe(2);
    for (const chunk of chunks) expect(itemsIn(chunk)).toBeLessThanOrEqual(MAX_TRANSACTION_ITEMS);
    expect(chunks.flat()).toEqual(steps);
  });

  it("fills a transaction up to exactly 100 items before starting another", () => {
    expect(chunkSteps(addingApples(33)).map(itemsIn)).toEqual([100]);
    expect(chunkSteps(addingApples(34)).map(itemsIn)).toEqual([100, 4]);
  });

  it("counts a duplicate as its outcome alone, and the snapshot in every transaction", () => {
    const group = groupOf(
      Array.from({ length: 98 }, (_, i) => commandRecord({ aggregateId: "c-1", seq: i + 2, ...addApple, id: "same" })),
    );
    const steps = plan({ group, current: openCartWith(0) });

    const chunks = chunkSteps(steps);

    expect(steps.filter((s) => s.outcome.status === "duplicate")).toHaveLength(97);
    expect(chunks.map(itemsIn)).toEqual([1 + 3 + 96, 1 + 1]);
  });

  it("gives a command with the most events and the most sends a transaction of its own", () => {
    const opening = (prefix: string) => Array.from({ length: MAX_SENDS_PER_COMMAND }, (_, i) => `${prefix}-${i}`);
    const steps = emitting([
      { count: MAX_EVENTS_PER_COMMAND, opens: opening("a") },
      1,
      { count: MAX_EVENTS_PER_COMMAND, opens: opening("b") },
    ]);

    const chunks = chunkSteps(steps);

    expect(chunks.map((c) => c.map((s) => s.command.seq))).toEqual([[1], [2], [3]]);
    expect(chunks.map(itemsIn)).toEqual([100, 4, 100]);
  });

  it("never exceeds the limit, whatever the mix", () => {
    const opens = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    const steps = emitting([5, 40, 0, { count: 60, opens: opens(3, "a") }, MAX_EVENTS_PER_COMMAND, 12, 1, 33, { count: 80, opens: opens(7, "b") }, 2, 2, 2]);

    const chunks = chunkSteps(steps);

    expect(steps.map((s) => s.outcome.status)).toEqual(steps.map(() => "accepted"));
    for (const chunk of chunks) expect(itemsIn(chunk)).toBeLessThanOrEqual(MAX_TRANSACTION_ITEMS);
    expect(chunks.flat()).toEqual(steps);
    expect(chunks.flat().flatMap((s) => s.events.map((e) => e.version))).toEqual(
      Array.from({ length: 5 + 40 + 60 + MAX_EVENTS_PER_COMMAND + 12 + 1 + 33 + 80 + 6 }, (_, i) => i + 1),
    );
  });

  it("honours a smaller limit", () => {
    const chunks = chunkSteps(addingApples(10), 10);

    expect(chunks.map(itemsIn)).toEqual([10, 10, 10, 4]);
  });

  it("never puts two sends to one command key in one transaction: DynamoDB refuses two writes to one item", () => {
    // Prepare: commands 1, 2 and 5 each send to the inventory counter; 3 and 4 to two carts.
    const restock = (warehouse: string) => ({ type: "inventory", command: "Restock", aggregateId: warehouse, payload: { sku: "apple", quantity: 1 } });
    const openCart = (cartId: string) => ({ type: "cart", command: "OpenCart", aggregateId: cartId, payload: {} });
    const sends = [[restock("north")], [restock("south")], [openCart("c-x")], [openCart("c-y"), openCart("c-z")], [restock("north")]];
    const steps = planGroup({
      group: groupOf(sends.map((s, i) => commandRecord({ type: "burst", aggregateId: "b-1", seq: i + 1, command: "Emit", payload: { count: 1, sends: s } }))),
      microservice: burst,
      microservices: everyService,
      current: { state: burst.initialState, version: 0, lastSeq: 0 },
      taken: new Map(),
      now: NOW,
    });

    // Act
    const chunks = chunkSteps(steps);

    // Assess
    expect(chunks.map((c) => c.map((s) => s.command.seq))).toEqual([[1], [2, 3, 4], [5]]);
    for (const chunk of chunks) {
      const keys = chunk.flatMap((step) => step.sends.map((send) => send.key));
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(chunks.flat()).toEqual(steps);
  });

  it("makes no transaction for no steps", () => {
    expect(chunkSteps([])).toEqual([]);
  });
});
