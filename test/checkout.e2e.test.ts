// Checkout end to end, as a shopper and a shop's admin run it with curl against
// `npm start` (open mode: the body says who calls): the cart asks inventory to
// reserve its lines, the checkout process manager answers the cart, and the
// read models follow. Then the same API through the typed client's HTTP
// transport.
import type { Registry } from "../core/app.js";
import { describe, expect, it } from "vitest";
import { createClient, http, OrdinalClientError, type AnyRegistry } from "../core/client.js";
import { parseCommandRef } from "../core/keys.js";
import type { Json } from "./support/api.js";
import { useChildStack } from "./support/local-stack.js";
import { eventually } from "./support/wait.js";

const { api, stack } = useChildStack();

/** A command as curl would post it, from `user`, waiting up to 10 s for its outcome. */
const send = (user: string, type: string, command: string, aggregateId: string, id: string, payload: Record<string, unknown> = {}, roles?: string[]) =>
  api.send({ type, command, aggregateId, id, user, ...(roles ? { roles } : {}), payload }, 10);

const restock = (sku: string, quantity: number, id: string) => send("ops", "inventory", "Restock", "main", id, { sku, quantity }, ["admin"]);

/** The warehouse's line for `sku`, and whether a reservation is still open for `reservationId`. */
const stockOf = async (sku: string, reservationId: string) => {
  const answer = await api.get("/inventory/main");
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return {
    sku: answer.body.skus.find((line: Json) => line.sku === sku),
    reserved: answer.body.reservations.some((r: Json) => r.reservationId === reservationId),
  };
};

const cartOf = async (cartId: string) => (await api.get(`/carts/${cartId}`)).body;

/** The cart as each read model has it: its cart-summary line, and whether open-carts lists it. */
const readModelsOf = async (user: string, cartId: string) => {
  const summary = await api.get(`/users/${user}/carts`);
  const open = await api.get("/carts?status=open");
  expect([summary.status, open.status]).toEqual([200, 200]);
  return {
    summary: summary.body.carts.find((c: Json) => c.cartId === cartId),
    listedOpen: open.body.carts.some((c: Json) => c.cartId === cartId),
  };
};

/** Every event of a stream the outcome of one command produced. */
const eventsOf = async (streamId: string, predicate: (event: Json) => boolean) => (await api.allEvents(streamId)).filter(predicate);

describe("checking a cart out", () => {
  it("reserves the lines, confirms the cart, takes the stock off the shelf, and keeps one chain throughout", async () => {
    // Prepare: stock in warehouse main, a cart with two lines
    expect((await restock("E2E-A", 5, "restock-a")).body).toMatchObject({ status: "accepted" });
    expect((await restock("E2E-B", 3, "restock-b")).body).toMatchObject({ status: "accepted" });
    const cartId = "c-e2e-1";
    expect((await send("u-1", "cart", "OpenCart", cartId, "e1-1")).status).toBe(200);
    expect((await send("u-1", "cart", "AddItem", cartId, "e1-2", { sku: "E2E-A", quantity: 2, unitPrice: 1299 })).status).toBe(200);
    expect((await send("u-1", "cart", "AddItem", cartId, "e1-3", { sku: "E2E-B", quantity: 1, unitPrice: 500 })).status).toBe(200);

    // Act
    const checkout = await send("u-1", "cart", "Checkout", cartId, "e1-4");

    // Assess: the cart waits for inventory, having asked it in the same transaction
    expect(checkout.status).toBe(200);
    expect(checkout.body).toMatchObject({
      status: "accepted",
      key: `cart:${cartId}`,
      seq: 4,
      correlationId: `cart:${cartId}/4`,
      events: [{ version: 4, type: "CheckoutStarted", data: { reservationId: `cart:${cartId}`, warehouse: "main", total: 3098 } }],
      sent: [{ type: "inventory", command: "ReserveStock", aggregateId: "main", key: "inventory" }],
    });
    const chain = checkout.body.correlationId;

    // … and the process manager's answer checks it out
    const cart = await eventually("the cart checked out", async () => {
      const body = await cartOf(cartId);
      expect(body.status).toBe("checked-out");
      return body;
    });
    expect(cart).toMatchObject({ cartId, owner: "u-1", status: "checked-out", total: 3098, version: 5 });

    // The goods left the warehouse: off the shelf, nothing left reserved
    const stock = await eventually("the reservation committed", async () => {
      const a = await stockOf("E2E-A", `cart:${cartId}`);
      expect(a.reserved).toBe(false);
      return { a, b: await stockOf("E2E-B", `cart:${cartId}`) };
    });
    expect(stock.a.sku).toEqual({ sku: "E2E-A", onHand: 3, reserved: 0, available: 3 });
    expect(stock.b.sku).toEqual({ sku: "E2E-B", onHand: 2, reserved: 0, available: 2 });

    // One correlation id from the shopper's Checkout to the goods leaving the shelf
    const inventory = await eventsOf("inventory:main", (e) => e.data?.reservationId === `cart:${cartId}`);
    expect(inventory.map((e: Json) => [e.type, e.correlationId])).toEqual([
      ["StockReserved", chain],
      ["StockCommitted", chain],
    ]);
    const [reserved] = inventory;
    const confirm = await api.get(`/commands/${encodeURIComponent(`cart:${cartId}`)}/5`);
    expect(confirm.body).toMatchObject({
      status: "accepted",
      command: "ConfirmCheckout",
      user: "service:checkout",
      correlationId: chain,
      causationId: reserved.eventId,
      events: [{ version: 5, type: "CheckoutConfirmed" }],
      sent: [{ type: "inventory", command: "CommitReservation", aggregateId: "main" }],
    });
    const confirmed = await eventsOf(`cart:${cartId}`, (e) => e.type === "CheckoutConfirmed");
    expect(confirmed.map((e: Json) => [e.correlationId, e.causationId])).toEqual([[chain, `cart:${cartId}/5`]]);
    // The CommitReservation the confirmation sent, as the StockCommitted event names it
    const commit = parseCommandRef(inventory[1].causationId)!;
    expect(commit.key).toBe("inventory");
    expect((await api.get(`/commands/inventory/${commit.seq}`)).body).toMatchObject({
      status: "accepted",
      command: "CommitReservation",
      user: "service:cart",
      correlationId: chain,
      causationId: `cart:${cartId}/5`,
    });

    // The read models follow the cart to checked-out
    await eventually("the read models caught up", async () =>
      expect(await readModelsOf("u-1", cartId)).toEqual({ summary: { cartId, status: "checked-out", itemCount: 3, total: 3098 }, listedOpen: false }),
    );
  });

  it("sends a cart whose stock is short back to open with the reason; the shopper changes it and checks out", async () => {
    // Prepare
    expect((await restock("E2E-C", 1, "restock-c")).body).toMatchObject({ status: "accepted" });
    const cartId = "c-e2e-2";
    expect((await send("u-2", "cart", "OpenCart", cartId, "e2-1")).status).toBe(200);
    expect((await send("u-2", "cart", "AddItem", cartId, "e2-2", { sku: "E2E-C", quantity: 3, unitPrice: 100 })).status).toBe(200);

    // Act
    const checkout = await send("u-2", "cart", "Checkout", cartId, "e2-3");

    // Assess: refused by inventory, the process manager fails the checkout with the shortage in words
    expect(checkout.body).toMatchObject({ status: "accepted", seq: 3, events: [{ type: "CheckoutStarted" }] });
    const failed = await eventually("the checkout failed", async () => {
      const [event] = await eventsOf(`cart:${cartId}`, (e) => e.type === "CheckoutFailed");
      expect(event).toBeDefined();
      return event;
    });
    expect(failed).toMatchObject({
      version: 4,
      data: { reservationId: `cart:${cartId}`, reason: "not enough stock in warehouse main: E2E-C (3 requested, 1 available)" },
      correlationId: checkout.body.correlationId,
      user: "service:checkout",
    });
    const [refused] = await eventsOf("inventory:main", (e) => e.type === "StockReservationRejected" && e.data.reservationId === `cart:${cartId}`);
    expect(refused).toMatchObject({ correlationId: checkout.body.correlationId, data: { reason: "InsufficientStock" } });
    const failCommand = await api.get(`/commands/${encodeURIComponent(`cart:${cartId}`)}/4`);
    expect(failCommand.body).toMatchObject({ status: "accepted", command: "FailCheckout", correlationId: checkout.body.correlationId, causationId: refused.eventId });
    expect(await cartOf(cartId)).toMatchObject({ status: "open", items: [{ sku: "E2E-C", quantity: 3 }] });
    expect(await stockOf("E2E-C", `cart:${cartId}`)).toEqual({ sku: { sku: "E2E-C", onHand: 1, reserved: 0, available: 1 }, reserved: false });
    await eventually("the read models show the cart open again", async () =>
      expect(await readModelsOf("u-2", cartId)).toEqual({ summary: { cartId, status: "open", itemCount: 3, total: 300 }, listedOpen: true }),
    );

    // Act: the shopper takes what there is and tries again
    expect((await send("u-2", "cart", "RemoveItem", cartId, "e2-4", { sku: "E2E-C", quantity: 2 })).body).toMatchObject({ status: "accepted" });
    expect((await send("u-2", "cart", "AddItem", cartId, "e2-5", { sku: "E2E-A", quantity: 1, unitPrice: 1299 })).body).toMatchObject({ status: "accepted" });
    const again = await send("u-2", "cart", "Checkout", cartId, "e2-6");

    // Assess
    expect(again.body).toMatchObject({ status: "accepted", correlationId: `cart:${cartId}/7` });
    await eventually("the second checkout confirmed", async () => expect((await cartOf(cartId)).status).toBe("checked-out"));
    expect(await cartOf(cartId)).toMatchObject({ status: "checked-out", total: 1399, items: [{ sku: "E2E-C", quantity: 1 }, { sku: "E2E-A", quantity: 1 }] });
    await eventually("the reservation committed", async () =>
      expect(await stockOf("E2E-C", `cart:${cartId}`)).toEqual({ sku: { sku: "E2E-C", onHand: 0, reserved: 0, available: 0 }, reserved: false }),
    );
    const committed = await eventsOf("inventory:main", (e) => e.type === "StockCommitted" && e.data.reservationId === `cart:${cartId}`);
    expect(committed.map((e: Json) => e.correlationId)).toEqual([`cart:${cartId}/7`]);
    await eventually("the read models show the cart checked out", async () =>
      expect(await readModelsOf("u-2", cartId)).toEqual({ summary: { cartId, status: "checked-out", itemCount: 2, total: 1399 }, listedOpen: false }),
    );
  });
});

describe("the typed client over HTTP", () => {
  const as = (user: string, roles?: string[]) => createClient<Registry>(http({ url: stack().url, user, ...(roles ? { roles } : {}) }));

  it("sends commands and answers their outcomes: accepted, rejected, duplicate, pending", async () => {
    const ordinal = as("u-3");
    const cartId = "c-e2e-client";

    const opened = await ordinal.send("cart", "OpenCart", cartId, {}, { id: "cl-1", wait: 10 });
    const notThere = await ordinal.send("cart", "RemoveItem", cartId, { sku: "E2E-Z" }, { wait: 10 });
    const again = await ordinal.send("cart", "OpenCart", cartId, {}, { id: "cl-1", wait: 10 });
    const pending = await ordinal.send("cart", "AddItem", cartId, { sku: "E2E-A", quantity: 1, unitPrice: 1299 }, { correlationId: "order:o-9/1" });

    expect(opened).toMatchObject({ status: "accepted", key: `cart:${cartId}`, seq: 1, user: "u-3", correlationId: `cart:${cartId}/1`, events: [{ type: "CartOpened" }] });
    expect(opened).not.toHaveProperty("outcomeUrl");
    expect(notThere).toMatchObject({ status: "rejected", seq: 2, reason: "ItemNotInCart", message: "E2E-Z is not in the cart" });
    expect(again).toMatchObject({ status: "duplicate", seq: 3, original: { key: `cart:${cartId}`, seq: 1 } });
    expect(pending).toEqual({ status: "pending", key: `cart:${cartId}`, seq: 4, correlationId: "order:o-9/1" });
    expect(await api.settle(`/commands/${encodeURIComponent(pending.key)}/4`)).toMatchObject({ status: "accepted", correlationId: "order:o-9/1" });
  });

  it("throws the API's refusals as OrdinalClientError with their status and body", async () => {
    const invalid = await createClient<AnyRegistry>(http({ url: stack().url, user: "u-3" }))
      .send("cart", "AddItem", "c-e2e-client", { sku: "E2E-A", quantity: 0, unitPrice: 1 })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(OrdinalClientError);
    expect(invalid).toMatchObject({ status: 400, body: { error: "ValidationError", issues: [{ field: "payload.quantity" }] } });

    const forbidden = await as("u-3").send("inventory", "Restock", "main", { sku: "E2E-A", quantity: 1 }).catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ status: 403, body: { error: "Forbidden" } });
  });

  it("checks a cart out, with an admin's restock, and the process manager's answer", async () => {
    const cartId = "c-e2e-client-2";
    const shopper = as("u-4");
    expect(await as("ops", ["admin"]).send("inventory", "Restock", "main", { sku: "E2E-D", quantity: 2 }, { wait: 10 })).toMatchObject({ status: "accepted" });
    await shopper.send("cart", "OpenCart", cartId, {}, { wait: 10 });
    await shopper.send("cart", "AddItem", cartId, { sku: "E2E-D", quantity: 2, unitPrice: 250 }, { wait: 10 });

    const checkout = await shopper.send("cart", "Checkout", cartId, { warehouse: "main" }, { wait: 10 });

    expect(checkout).toMatchObject({ status: "accepted", sent: [{ command: "ReserveStock" }] });
    await eventually("the cart checked out", async () => expect((await cartOf(cartId)).status).toBe("checked-out"));
    const confirm = await api.get(`/commands/${encodeURIComponent(`cart:${cartId}`)}/4`);
    expect(confirm.body).toMatchObject({ command: "ConfirmCheckout", correlationId: checkout.correlationId });
  });

  it("signs a service's requests (SigV4, execute-api) to /service/command: the caller is the IAM principal, with the service role", async () => {
    const service = (secretAccessKey: string) =>
      createClient<Registry>(http({ url: stack().url, credentials: { accessKeyId: "local", secretAccessKey }, region: "local" }));

    const restocked = await service("local").send("inventory", "Restock", "main", { sku: "E2E-S", quantity: 4 }, { id: "signed-1", wait: 10 });
    const badlySigned = await service("not-the-secret").send("inventory", "Restock", "main", { sku: "E2E-S", quantity: 4 }).catch((e: unknown) => e);

    expect(restocked).toMatchObject({ status: "accepted", key: "inventory", user: "arn:aws:iam::000000000000:user/local", commandId: "signed-1" });
    expect(badlySigned).toBeInstanceOf(OrdinalClientError);
    expect(badlySigned).toMatchObject({ status: 401, body: { error: "Unauthorized" } });
    expect((await stockOf("E2E-S", "none")).sku).toEqual({ sku: "E2E-S", onHand: 4, reserved: 0, available: 4 });
  });
});
