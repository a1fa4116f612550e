// End to end over HTTP: `npm start` in a child process, driven with fetch the
// way the README drives it with curl. Every answer must be JSON (api.ts checks).
import { describe, expect, it } from "vitest";
import { cartCommand, type Json } from "./support/api.js";
import { useChildStack } from "./support/local-stack.js";
import { tablesAt } from "./support/tables.js";

const { api, stack } = useChildStack();

const versionsOf = (events: readonly Json[]) => events.map((e) => e.version);

describe("the README's curl session, step by step", () => {
  const KEY = "cart:c-42";
  const cmd = (command: string, id: string, payload?: Record<string, unknown>) => cartCommand(command, "c-42", id, payload);

  it("opens a cart: ?wait=5 answers 200 with the accepted outcome and its event", async () => {
    // Act
    const opened = await api.send(cmd("OpenCart", "req-1"), 5);

    // Assess
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({
      status: "accepted",
      key: KEY,
      seq: 1,
      streamId: KEY,
      commandId: "req-1",
      outcomeUrl: "/commands/cart%3Ac-42/1",
      events: [{ version: 1, type: "CartOpened", data: { owner: "u-1" } }],
    });
  });

  it("adds an item with ?wait=5", async () => {
    // Act
    const added = await api.send(cmd("AddItem", "req-2", { sku: "SKU-1", quantity: 2, unitPrice: 1299 }), 5);

    // Assess
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({
      status: "accepted",
      seq: 2,
      events: [{ version: 2, type: "ItemAdded", data: { sku: "SKU-1", quantity: 2, unitPrice: 1299, currency: "EUR" } }],
    });
  });

  it("without ?wait answers 202 pending at once; the outcome URL reads 200, pending and then accepted", async () => {
    // Act
    const sent = await api.send(cmd("AddItem", "req-3", { sku: "SKU-2", quantity: 1, unitPrice: 500 }));
    const soon = await api.get("/commands/cart:c-42/3");

    // Assess
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ key: KEY, seq: 3, status: "pending", correlationId: "cart:c-42/3", outcomeUrl: "/commands/cart%3Ac-42/3" });
    expect(soon.status).toBe(200);
    expect(["pending", "accepted"]).toContain(soon.body.status);
    expect(await api.settle(sent.body.outcomeUrl)).toMatchObject({ status: "accepted", seq: 3, events: [{ version: 3, type: "ItemAdded" }] });
  });

  it("the same client id again: 200 duplicate pointing at the original command, and no new event", async () => {
    // Act
    const again = await api.send(cmd("AddItem", "req-2", { sku: "SKU-1", quantity: 2, unitPrice: 1299 }), 5);

    // Assess
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: "duplicate", key: KEY, seq: 4, original: { key: KEY, seq: 2 } });
    expect(again.body.events ?? []).toEqual([]);
    expect(versionsOf(await api.allEvents(KEY))).toEqual([1, 2, 3]);
  });

  it("a rule violation: 409 rejected with a reason code and a message", async () => {
    // Act
    const refused = await api.send(cmd("RemoveItem", "req-5", { sku: "SKU-9" }), 5);

    // Assess
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ status: "rejected", key: KEY, seq: 5, reason: "ItemNotInCart", message: "SKU-9 is not in the cart" });
    const outcome = await api.get("/commands/cart:c-42/5");
    expect(outcome.status).toBe(200);
    expect(outcome.body).toMatchObject({ status: "rejected", reason: "ItemNotInCart" });
  });

  it("bad input: 400 naming the field, and no seq taken", async () => {
    // Act
    const bad = await api.send(cmd("AddItem", "req-6", { sku: "SKU-1", quantity: 0, unitPrice: 1299 }));

    // Assess
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: "ValidationError", message: expect.stringMatching(/^payload\.quantity: Too small/) });
    expect((await api.get("/commands/cart:c-42/6")).status).toBe(404);
  });

  it("closes the cart, recording its total", async () => {
    // Act
    const closed = await api.send(cmd("CloseCart", "req-7"), 5);

    // Assess
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: "accepted", seq: 6, events: [{ version: 4, type: "CartClosed", data: { total: 3098 } }] });
  });

  it("GET /carts/c-42 answers the cart from its snapshot", async () => {
    // Act
    const cart = await api.get("/carts/c-42");

    // Assess
    expect(cart.status).toBe(200);
    expect(cart.body).toEqual({
      cartId: "c-42",
      status: "closed",
      owner: "u-1",
      items: [
        { sku: "SKU-1", quantity: 2, unitPrice: 1299, currency: "EUR" },
        { sku: "SKU-2", quantity: 1, unitPrice: 500, currency: "EUR" },
      ],
      total: 3098,
      version: 4,
    });
  });

  it("GET /streams/cart:c-42/events?after=0&limit=10 answers the log in version order, each event with its command and times", async () => {
    // Act
    const page = await api.get("/streams/cart:c-42/events?after=0&limit=10");

    // Assess
    expect(page.status).toBe(200);
    expect(page.body.next).toBeUndefined();
    const events: Json[] = page.body.events;
    expect(events.map((e) => [e.version, e.type, e.commandKey, e.commandSeq, e.commandId])).toEqual([
      [1, "CartOpened", KEY, 1, "req-1"],
      [2, "ItemAdded", KEY, 2, "req-2"],
      [3, "ItemAdded", KEY, 3, "req-3"],
      [4, "CartClosed", KEY, 6, "req-7"],
    ]);
    expect(events.map((e) => e.data)).toEqual([
      { owner: "u-1" },
      { sku: "SKU-1", quantity: 2, unitPrice: 1299, currency: "EUR" },
      { sku: "SKU-2", quantity: 1, unitPrice: 500, currency: "EUR" },
      { total: 3098 },
    ]);
    // Written at ItemAdded's current version, so not upcast: no storedTypeVersion.
    expect(events.map((e) => [e.typeVersion, e.storedTypeVersion])).toEqual([
      [undefined, undefined],
      [2, undefined],
      [2, undefined],
      [undefined, undefined],
    ]);
    for (const event of events) {
      expect(new Date(event.occurredAt).toISOString()).toBe(event.occurredAt);
      expect(new Date(event.recordedAt).toISOString()).toBe(event.recordedAt);
    }
  });

  it("a command that continues another service's chain keeps its correlationId and causationId on its outcome and its events", async () => {
    // Arrange
    const body = { ...cartCommand("OpenCart", "c-chain", "req-chain"), correlationId: "order-7", causationId: "billing:o-7/2" };

    // Act
    const sent = await api.send(body, 5);
    const events = await api.allEvents("cart:c-chain");

    // Assess
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ status: "accepted", correlationId: "order-7", causationId: "billing:o-7/2" });
    expect(events.map((e) => [e.type, e.correlationId, e.causationId])).toEqual([["CartOpened", "order-7", "cart:c-chain/1"]]);
  });

  it("a command sent unprompted starts its own chain: its correlationId is its own key/seq, on the outcome and its events", async () => {
    // Act
    const sent = await api.send(cartCommand("OpenCart", "c-root", "req-root"), 5);
    const events = await api.allEvents("cart:c-root");

    // Assess
    expect(sent.body).toMatchObject({ status: "accepted", correlationId: "cart:c-root/1" });
    expect(sent.body.causationId).toBeUndefined();
    expect(events.map((e) => [e.correlationId, e.causationId])).toEqual([["cart:c-root/1", "cart:c-root/1"]]);
  });

  it("GET /health answers 200 with the emulators' endpoints; DynamoDB Local's serves the stack's tables", async () => {
    // Act
    const health = await api.get("/health");

    // Assess
    expect(health.status).toBe(200);
    const endpoint = expect.stringMatching(/^http:\/\/[\w.]+:\d+$/);
    expect(health.body).toEqual({ status: "ok", endpoints: { dynamodb: endpoint, kinesis: endpoint, sqs: endpoint, sns: endpoint, s3: endpoint } });
    const tables = tablesAt(health.body.endpoints.dynamodb);
    expect((await tables.scan("snapshots")).map((s) => s.streamId)).toContain(KEY);
    tables.close();
  });
});

describe("the open local stack (no --auth)", () => {
  it("warns at start that the body says who calls, and acts on the body's user", async () => {
    // Act
    const opened = await api.send(cartCommand("OpenCart", "c-open-stack", "open-stack-1", undefined, { user: "anyone-at-all" }), 5);

    // Assess
    expect(stack().output()).toMatch(/WARNING: authentication is off: identity comes from the request body/);
    expect(opened.body).toMatchObject({ status: "accepted", user: "anyone-at-all" });
  });
});

describe("the rest of the cart's rules, over HTTP", () => {
  const KEY = "cart:c-43";
  const TIMESTAMP = 1795440000000;
  const cmd = (command: string, id: string, payload?: Record<string, unknown>, extra = {}) => cartCommand(command, "c-43", id, payload, extra);

  it("removes part of a line, then the rest of it; refuses more than the cart holds, a second opening, and items once closed", async () => {
    // Prepare
    expect((await api.send(cmd("OpenCart", "o"), 5)).status).toBe(200);
    expect((await api.send(cmd("AddItem", "a", { sku: "SKU-1", quantity: 3, unitPrice: 200 }), 5)).status).toBe(200);

    // Act
    const some = await api.send(cmd("RemoveItem", "r1", { sku: "SKU-1", quantity: 1 }), 5);
    const tooMany = await api.send(cmd("RemoveItem", "r2", { sku: "SKU-1", quantity: 5 }), 5);
    const rest = await api.send(cmd("RemoveItem", "r3", { sku: "SKU-1" }), 5);
    const reopened = await api.send(cmd("OpenCart", "o2"), 5);
    const closed = await api.send(cmd("CloseCart", "c"), 5);
    const late = await api.send(cmd("AddItem", "a2", { sku: "SKU-2", quantity: 1, unitPrice: 1 }), 5);

    // Assess
    expect(some.body.events).toEqual([{ version: 3, type: "ItemRemoved", data: { sku: "SKU-1", quantity: 1 } }]);
    expect(tooMany.status).toBe(409);
    expect(tooMany.body).toMatchObject({ reason: "NotEnoughInCart", message: expect.any(String) });
    expect(rest.body.events).toEqual([{ version: 4, type: "ItemRemoved", data: { sku: "SKU-1", quantity: 2 } }]);
    expect(reopened.status).toBe(409);
    expect(reopened.body).toMatchObject({ reason: "CartAlreadyOpened", message: expect.any(String) });
    expect(closed.body.events).toEqual([{ version: 5, type: "CartClosed", data: { total: 0 } }]);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ reason: "CartClosed", message: expect.any(String) });
    expect((await api.get("/carts/c-43")).body).toMatchObject({ status: "closed", items: [], total: 0, version: 5 });
  });

  it("refuses items for a cart never opened", async () => {
    // Act
    const answer = await api.send(cartCommand("AddItem", "c-never", "n", { sku: "SKU-1", quantity: 1, unitPrice: 1 }), 5);

    // Assess
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ status: "rejected", reason: "CartNotOpened" });
    expect((await api.get("/carts/c-never")).status).toBe(404);
  });

  it("a command's timestamp is its events' occurredAt; without one it is when the API received it", async () => {
    // Prepare
    const before = Date.now();

    // Act
    const stamped = await api.send(cartCommand("OpenCart", "c-44", "t1", undefined, { timestamp: TIMESTAMP }), 5);
    const unstamped = await api.send(cartCommand("AddItem", "c-44", "t2", { sku: "SKU-1", quantity: 1, unitPrice: 1 }), 5);

    // Assess
    expect([stamped.status, unstamped.status]).toEqual([200, 200]);
    const [opened, added] = await api.allEvents("cart:c-44");
    expect(opened.occurredAt).toBe(new Date(TIMESTAMP).toISOString());
    expect(Date.parse(added.occurredAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(added.recordedAt)).toBeGreaterThanOrEqual(Date.parse(added.occurredAt));
  });

  it("pages the log with after and limit, linking the next page until the end", async () => {
    // Act
    const first = await api.get("/streams/cart:c-43/events?limit=3");
    const second = await api.get(first.body.next);
    const middle = await api.get("/streams/cart%3Ac-43/events?after=1&limit=2");

    // Assess
    expect(versionsOf(first.body.events)).toEqual([1, 2, 3]);
    expect(first.body.next).toEqual(expect.stringContaining("after=3"));
    expect(versionsOf(second.body.events)).toEqual([4, 5]);
    expect(second.body.next).toBeUndefined();
    expect(versionsOf(middle.body.events)).toEqual([2, 3]);
    expect(middle.body.next).toEqual(expect.stringContaining("after=3"));
  });

  it("answers 404 for an unknown cart, a command never sent, and a stream with no events", async () => {
    // Act
    const answers = await Promise.all([
      api.get("/carts/no-such-cart"),
      api.get("/commands/cart:c-43/99"),
      api.get("/commands/cart:no-such-cart/1"),
      api.get("/streams/cart:no-such-cart/events"),
    ]);

    // Assess
    expect(answers.map((a) => a.status)).toEqual([404, 404, 404, 404]);
    for (const answer of answers) expect(answer.body).toMatchObject({ error: "NotFound", message: expect.any(String) });
  });
});

describe("?wait", () => {
  it("?wait=0 answers at once, as without it", async () => {
    // Act
    const sent = await api.send(cartCommand("OpenCart", "c-wait-0", "w-1"), 0);

    // Assess
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ key: "cart:c-wait-0", seq: 1, status: "pending" });
    expect(await api.settle(sent.body.outcomeUrl)).toMatchObject({ status: "accepted" });
  });
});

describe("client request ids", () => {
  it("are unique per user and microservice: another user may reuse one, the same user may not on another cart", async () => {
    // Prepare
    const original = await api.send(cartCommand("OpenCart", "c-ids-1", "shared-id"), 5);
    expect(original.status).toBe(200);

    // Act
    const otherUser = await api.send(cartCommand("OpenCart", "c-ids-2", "shared-id", undefined, { user: "u-2" }), 5);
    const sameUser = await api.send(cartCommand("OpenCart", "c-ids-3", "shared-id"), 5);
    const numeric = await api.send(cartCommand("OpenCart", "c-ids-4", 17), 5);
    const numericAsText = await api.send(cartCommand("OpenCart", "c-ids-5", "17"), 5);

    // Assess
    expect(otherUser.body).toMatchObject({ status: "accepted" });
    expect(sameUser.status).toBe(200);
    expect(sameUser.body).toMatchObject({ key: "cart:c-ids-3", seq: 1, status: "duplicate", original: { key: "cart:c-ids-1", seq: 1 } });
    expect((await api.get("/carts/c-ids-3")).status).toBe(404);
    expect(numeric.body).toMatchObject({ status: "accepted" });
    expect(numericAsText.body).toMatchObject({ status: "accepted" });
  });
});

describe("50 concurrent AddItems on one open cart", () => {
  it("are all accepted, as versions 2..51 with no gap and none lost", async () => {
    // Prepare
    expect((await api.send(cartCommand("OpenCart", "c-busy", "open"), 5)).status).toBe(200);
    const adds = Array.from({ length: 50 }, (_, i) => ({ sku: `SKU-${i % 5}`, quantity: (i % 3) + 1, unitPrice: 100 }));

    // Act
    const answers = await Promise.all(adds.map((payload, i) => api.send(cartCommand("AddItem", "c-busy", `add-${i}`, payload), 10)));

    // Assess: what ?wait did not see in time is fetched from its outcome URL.
    const outcomes = await Promise.all(answers.map((a) => (a.status === 202 ? api.settle(a.body.outcomeUrl) : a.body)));
    expect(outcomes.map((o) => o.status)).toEqual(adds.map(() => "accepted"));
    expect(outcomes.map((o) => o.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    const events = await api.allEvents("cart:c-busy");
    expect(versionsOf(events)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(events[0].type).toBe("CartOpened");
    expect(new Set(events.slice(1).map((e) => e.commandId))).toEqual(new Set(adds.map((_, i) => `add-${i}`)));
    const cart = await api.get("/carts/c-busy");
    expect(cart.body.version).toBe(51);
    const expected = new Map<string, number>();
    for (const { sku, quantity } of adds) expected.set(sku, (expected.get(sku) ?? 0) + quantity);
    expect(new Map(cart.body.items.map((line: Json) => [line.sku, line.quantity]))).toEqual(expected);
    expect(cart.body.total).toBe(adds.reduce((sum, a) => sum + a.quantity * a.unitPrice, 0));
  });
});
