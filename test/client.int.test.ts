// The typed client's direct transport against the local stack in process
// (DynamoDB Local, the sequencer, the fan-out, the checkout process manager):
// outcomes as the API gives them, refusals with the API's own status and
// body, and the checkout answered exactly once when inventory's events are
// delivered twice to the process manager.
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from "aws-lambda";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, direct, OrdinalClientError, type AnyRegistry, type Client } from "../core/client.js";
import { waitForOutcome } from "../core/commands.js";
import { startStack, type LocalStack } from "../local/stack.js";
import { apiAt, type Api, type Json } from "./support/api.js";
import { stopLocalStack } from "./support/local-stack.js";
import { eventually } from "./support/wait.js";
import { microservices, referenceApp } from "./support/app.js";
import type { Registry } from "../core/app.js";

let stack: LocalStack;
let api: Api;
/** The checkout process manager's batches, each handed to it twice as a retried delivery would. */
const checkoutDeliveries: KinesisStreamEvent[] = [];

const redeliverTwice =
  (handler: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>) =>
  async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    checkoutDeliveries.push(event);
    const first = await handler(event);
    if (first.batchItemFailures.length) return first;
    return handler(event);
  };

beforeAll(async () => {
  stack = await startStack({
    app: referenceApp,
    port: 0,
    wrapKinesisHandler: (name, handler) => (name === "checkout" ? redeliverTwice(handler) : handler),
  });
  api = apiAt(stack.url);
});

afterAll(async () => {
  if (stack) await stopLocalStack(stack);
});

const shopper = (user = `u-${ulid()}`) => createClient<Registry>(direct({ store: stack.store, caller: { user, roles: [] }, microservices }));
const admin = () => createClient<Registry>(direct({ store: stack.store, caller: { user: "ops", roles: ["admin"] }, microservices }));
/** The same transport without the registry's types: to send what the types would never let through. */
const untyped = (user: string, roles: string[] = []) => createClient<AnyRegistry>(direct({ store: stack.store, caller: { user, roles }, microservices }));

const counterOf = async (key: string) =>
  Number((await stack.store.db.send(new GetCommand({ TableName: stack.store.tables.commands, Key: { key }, ConsistentRead: true }))).Item?.seq ?? 0);

/** What the API answers to the same body, sent by the same user on the open local stack. */
const overHttp = (body: Record<string, unknown>, user: string, roles?: string[]) => api.send({ ...body, user, ...(roles ? { roles } : {}) });

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    (value) => {
      throw new Error(`expected a refusal, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(OrdinalClientError);
      return error as OrdinalClientError;
    },
  );

describe("the direct transport", () => {
  it("appends the command as the caller and answers the sequencer's outcome when asked to wait", async () => {
    // Prepare
    const ordinal = shopper("alice");
    const cartId = `c-${ulid()}`;

    // Act
    const opened = await ordinal.send("cart", "OpenCart", cartId, {}, { id: `${cartId}-open`, wait: 5 });
    const added = await ordinal.send("cart", "AddItem", cartId, { sku: "SKU-1", quantity: 2, unitPrice: 1299 }, { wait: 5 });

    // Assess
    expect(opened).toMatchObject({
      status: "accepted",
      key: `cart:${cartId}`,
      seq: 1,
      user: "alice",
      commandId: `${cartId}-open`,
      correlationId: `cart:${cartId}/1`,
      events: [{ version: 1, type: "CartOpened", data: { owner: "alice" } }],
    });
    expect(added).toMatchObject({ status: "accepted", seq: 2, commandId: expect.stringMatching(/^[0-9A-Z]{26}$/), events: [{ version: 2, type: "ItemAdded" }] });
    expect((await api.get(`/carts/${cartId}`)).body).toMatchObject({ owner: "alice", items: [{ sku: "SKU-1", quantity: 2, unitPrice: 1299 }] });
  });

  it("answers pending without a wait, with the chain the command will have, and the outcome comes later", async () => {
    const ordinal = shopper();
    const cartId = `c-${ulid()}`;

    const pending = await ordinal.send("cart", "OpenCart", cartId, {});
    const chained = await ordinal.send("cart", "Checkout", cartId, {}, { correlationId: "order:o-1/1", causationId: "order:o-1#4" });

    expect(pending).toEqual({ status: "pending", key: `cart:${cartId}`, seq: 1, correlationId: `cart:${cartId}/1` });
    expect(chained).toEqual({ status: "pending", key: `cart:${cartId}`, seq: 2, correlationId: "order:o-1/1", causationId: "order:o-1#4" });
    expect(await waitForOutcome(stack.store, pending.key, pending.seq, 10_000)).toMatchObject({ status: "accepted", correlationId: pending.correlationId });
    expect(await waitForOutcome(stack.store, chained.key, chained.seq, 10_000)).toMatchObject({
      status: "rejected",
      reason: "CartEmpty",
      correlationId: "order:o-1/1",
      causationId: "order:o-1#4",
    });
  });

  it("answers a rule violation as a rejected outcome, not an error", async () => {
    const outcome = await shopper().send("cart", "AddItem", `c-${ulid()}`, { sku: "SKU-1", quantity: 1, unitPrice: 1 }, { wait: 5 });
    expect(outcome).toMatchObject({ status: "rejected", reason: "CartNotOpened", message: "the cart has not been opened" });
  });

  it("answers a resent id as a duplicate of the original", async () => {
    const ordinal = shopper();
    const cartId = `c-${ulid()}`;
    const first = await ordinal.send("cart", "OpenCart", cartId, {}, { id: "same", wait: 5 });
    const again = await ordinal.send("cart", "OpenCart", cartId, {}, { id: "same", wait: 5 });
    expect(first).toMatchObject({ status: "accepted", seq: 1 });
    expect(again).toMatchObject({ status: "duplicate", seq: 2, original: { key: `cart:${cartId}`, seq: 1 } });
  });

  it("refuses what the API refuses, with the same status and body, and writes nothing", async () => {
    const cartId = `c-${ulid()}`;
    const cases: { name: string; client: Client<AnyRegistry>; body: Record<string, unknown>; user: string; roles?: string[]; status: number }[] = [
      {
        name: "an invalid payload",
        client: untyped("bob"),
        body: { type: "cart", command: "AddItem", aggregateId: cartId, id: "bad-1", payload: { sku: "SKU-1", quantity: 0, unitPrice: 1 } },
        user: "bob",
        status: 400,
      },
      {
        name: "an unknown command",
        client: untyped("bob"),
        body: { type: "cart", command: "Teleport", aggregateId: cartId, id: "bad-2", payload: {} },
        user: "bob",
        status: 400,
      },
      {
        name: "an unknown microservice",
        client: untyped("bob"),
        body: { type: "carts", command: "OpenCart", aggregateId: cartId, id: "bad-3", payload: {} },
        user: "bob",
        status: 400,
      },
      {
        name: "an aggregate id that cannot be one",
        client: untyped("bob"),
        body: { type: "cart", command: "OpenCart", aggregateId: "c 1/2", id: "bad-4", payload: {} },
        user: "bob",
        status: 400,
      },
      {
        name: "a command the caller's roles may not send",
        client: untyped("bob"),
        body: { type: "cart", command: "ConfirmCheckout", aggregateId: cartId, id: "bad-5", payload: { reservationId: `cart:${cartId}` } },
        user: "bob",
        status: 403,
      },
      {
        name: "a restock by a shopper",
        client: untyped("bob", ["shopper"]),
        body: { type: "inventory", command: "Restock", aggregateId: "main", id: "bad-6", payload: { sku: "SKU-1", quantity: 1 } },
        user: "bob",
        roles: ["shopper"],
        status: 403,
      },
    ];
    const inventoryBefore = await counterOf("inventory");
    for (const { name, client, body, user, roles, status } of cases) {
      const { type, command, aggregateId, payload, id } = body as Json;
      const error = await refusal(client.send(type, command, aggregateId, payload, { id }));
      const answer = await overHttp(body, user, roles);
      expect({ name, status: error.status }).toEqual({ name, status });
      expect({ name, status: answer.status, body: answer.body }).toEqual({ name, status, body: error.body });
    }
    expect(await counterOf(`cart:${cartId}`)).toBe(0);
    expect(await counterOf("inventory")).toBe(inventoryBefore);
  });
});

describe("the checkout process manager in the stack", () => {
  it("confirms a checkout exactly once, though every batch of inventory's events reaches it twice", async () => {
    // Prepare
    const sku = `SKU-${ulid()}`;
    const cartId = `c-${ulid()}`;
    const ordinal = shopper("carol");
    expect(await admin().send("inventory", "Restock", "main", { sku, quantity: 3 }, { wait: 5 })).toMatchObject({ status: "accepted" });
    await ordinal.send("cart", "OpenCart", cartId, {}, { wait: 5 });
    await ordinal.send("cart", "AddItem", cartId, { sku, quantity: 2, unitPrice: 500 }, { wait: 5 });

    // Act
    const checkout = await ordinal.send("cart", "Checkout", cartId, {}, { wait: 5 });

    // Assess
    expect(checkout).toMatchObject({ status: "accepted", sent: [{ type: "inventory", command: "ReserveStock", aggregateId: "main" }] });
    const cart = await eventually("the cart checked out", async () => {
      const answer = await api.get(`/carts/${cartId}`);
      expect(answer.body.status).toBe("checked-out");
      return answer.body;
    });
    expect(cart).toMatchObject({ status: "checked-out", total: 1000 });
    // The confirmation went out twice, once per delivery, under one id: the second is a duplicate.
    const confirmations = await Promise.all([4, 5].map((seq) => waitForOutcome(stack.store, `cart:${cartId}`, seq, 10_000)));
    expect(confirmations).toEqual([
      expect.objectContaining({ status: "accepted", command: "ConfirmCheckout", user: "service:checkout", correlationId: checkout.correlationId }),
      expect.objectContaining({ status: "duplicate", command: "ConfirmCheckout", original: { key: `cart:${cartId}`, seq: 4 } }),
    ]);
    const events = (await api.allEvents(`cart:${cartId}`)).map((e: Json) => e.type);
    expect(events).toEqual(["CartOpened", "ItemAdded", "CheckoutStarted", "CheckoutConfirmed"]);
    const delivered = checkoutDeliveries.flatMap((batch) => batch.Records.map((r) => JSON.parse(Buffer.from(r.kinesis.data, "base64").toString("utf8")) as Json));
    expect(delivered).toContainEqual(expect.objectContaining({ type: "StockReserved", data: expect.objectContaining({ reservationId: `cart:${cartId}` }) }));
  });
});
