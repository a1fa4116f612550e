// End to end over HTTP: every kind of bad input gets a clear 4xx, in JSON
// (api.ts checks every answer's content type), and writes nothing. After each request the stack's tables, read straight from
// its DynamoDB Local, must hold exactly what they held before.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cartCommand, request, type Answer } from "./support/api.js";
import { useChildStack } from "./support/local-stack.js";
import { tablesAt, writesNothing, type Tables } from "./support/tables.js";

const { stack, api } = useChildStack();
let tables: Tables;

beforeAll(async () => {
  tables = tablesAt((await api.get("/health")).body.endpoints.dynamodb);
  // An open cart, so a bad command aimed at it is refused for its own fault alone.
  expect((await api.send(cartCommand("OpenCart", "open-cart", "open"), 5)).status).toBe(200);
});

afterAll(() => {
  tables?.close();
});

const refused = <T>(send: () => Promise<T>) => writesNothing(tables, send);

const valid = cartCommand("AddItem", "open-cart", "bad-1", { sku: "SKU-1", quantity: 1, unitPrice: 100 });
const without = (field: string) => Object.fromEntries(Object.entries(valid).filter(([name]) => name !== field));
const withPayload = (payload: Record<string, unknown>) => ({ ...valid, payload });

describe("POST /command with a body that is not a JSON object", () => {
  it.each([
    ["not JSON", "{ this is not json", /not valid JSON/],
    ["an empty body", "", /empty/],
    ["an array", [valid], /JSON object, not an array/],
    ["a string", JSON.stringify("OpenCart"), /JSON object, not string/],
    ["a number", "42", /JSON object, not number/],
    ["null", "null", /JSON object, not null/],
  ] as const)("answers 400 for %s, and writes nothing", async (_, body, message) => {
    // Act
    const answer = await refused(() => api.post("/command", body));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: "ValidationError", message: expect.stringMatching(message) });
  });
});

describe("POST /command with a missing or wrong-typed field", () => {
  it.each(["type", "command", "aggregateId", "id", "user"])("answers 400 naming %s when it is missing, and writes nothing", async (field) => {
    // Act
    const answer = await refused(() => api.send(without(field)));

    // Assess
    expect(answer.status).toBe(400);
    // A missing aggregateId also says why this microservice needs one (a single-aggregate one would not).
    const rule = field === "aggregateId" ? "is required: cart keeps one stream per aggregate, so a command must name its aggregate" : "is required";
    expect(answer.body.issues).toEqual([{ field, rule }]);
    expect(answer.body.message).toBe(`${field}: ${rule}`);
  });

  it.each([
    ["type", 1],
    ["command", ["AddItem"]],
    ["aggregateId", 42],
    ["aggregateId", "has spaces/and slashes"],
    ["id", true],
    ["id", 1.5],
    ["id", ""],
    ["user", { name: "u-1" }],
    ["user", ""],
    ["timestamp", "yesterday"],
    ["timestamp", -1],
    ["payload", ["SKU-1"]],
    ["payload", "SKU-1"],
  ] as const)("answers 400 naming %s when it is %j, and writes nothing", async (field, value) => {
    // Act
    const answer = await refused(() => api.send({ ...valid, [field]: value }));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toEqual([{ field, rule: expect.any(String) }]);
    expect(answer.body.message).toMatch(new RegExp(`^${field}: `));
  });

  it("answers 400 naming a field the envelope does not have, and writes nothing", async () => {
    // Act
    const answer = await refused(() => api.send({ ...valid, priority: "high" }));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toEqual([{ field: "priority", rule: "is not a known field" }]);
  });
});

describe("POST /command for an unknown microservice or command", () => {
  it("answers 400 listing the known microservices, and writes nothing", async () => {
    // Act
    const answer = await refused(() => api.send({ ...valid, type: "shop" }));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toHaveLength(1);
    expect(answer.body.issues[0].field).toBe("type");
    expect(answer.body.message).toMatch(/^type: unknown microservice 'shop'; known: .*\bcart\b/);
  });

  it("answers 400 listing the microservice's commands, and writes nothing", async () => {
    // Act
    const answer = await refused(() => api.send({ ...valid, command: "EmptyCart" }));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toEqual([
      { field: "command", rule: "unknown command 'EmptyCart' for cart; known: OpenCart, AddItem, RemoveItem, CloseCart, Checkout, ConfirmCheckout, FailCheckout" },
    ]);
  });
});

describe("POST /command with an invalid payload", () => {
  it.each([
    ["quantity 0", { sku: "SKU-1", quantity: 0, unitPrice: 100 }, "payload.quantity"],
    ["quantity -1", { sku: "SKU-1", quantity: -1, unitPrice: 100 }, "payload.quantity"],
    ["quantity 1.5", { sku: "SKU-1", quantity: 1.5, unitPrice: 100 }, "payload.quantity"],
    ["quantity '2'", { sku: "SKU-1", quantity: "2", unitPrice: 100 }, "payload.quantity"],
    ["unitPrice -1", { sku: "SKU-1", quantity: 1, unitPrice: -1 }, "payload.unitPrice"],
    ["unitPrice 9.99", { sku: "SKU-1", quantity: 1, unitPrice: 9.99 }, "payload.unitPrice"],
    ["no sku", { quantity: 1, unitPrice: 100 }, "payload.sku"],
    ["an empty sku", { sku: "", quantity: 1, unitPrice: 100 }, "payload.sku"],
    ["an extra field", { sku: "SKU-1", quantity: 1, unitPrice: 100, colour: "red" }, "payload.colour"],
  ] as const)("answers 400 naming the field for AddItem with %s, and writes nothing", async (_, payload, field) => {
    // Act
    const answer = await refused(() => api.send(withPayload(payload)));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toEqual([{ field, rule: expect.any(String) }]);
    expect(answer.body.message).toMatch(new RegExp(`^${field.replace(".", "\\.")}: .+`));
  });

  it("answers 400 naming every missing field when AddItem has no payload, and writes nothing", async () => {
    // Act
    const answer = await refused(() => api.send(without("payload")));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues.map((issue: { field: string }) => issue.field).sort()).toEqual(["payload.quantity", "payload.sku", "payload.unitPrice"]);
  });

  it("answers 400 for a payload on a command that takes none, and writes nothing", async () => {
    // Act
    const answer = await refused(() => api.send(cartCommand("CloseCart", "open-cart", "bad-2", { now: true })));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toEqual([{ field: "payload.now", rule: "is not a known field" }]);
  });
});

describe("POST /command with a body over 64 KiB", () => {
  it("answers 413, and writes nothing", async () => {
    // Prepare: a well-formed command, only too big.
    const big = withPayload({ sku: "S".repeat(64 * 1024), quantity: 1, unitPrice: 100 });

    // Act
    const answer = await refused(() => api.send(big));

    // Assess
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ error: "PayloadTooLarge", message: expect.stringContaining("65536") });
  });
});

describe("POST /command with an invalid ?wait", () => {
  it.each(["11", "-1", "abc", "1.5"])("answers 400 naming wait for ?wait=%s, and writes nothing", async (wait) => {
    // Act
    const answer = await refused(() => api.post(`/command?wait=${wait}`, cartCommand("OpenCart", "wait-cart", "w-1")));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toEqual([{ field: "wait", rule: expect.stringContaining(`'${wait}'`) }]);
    expect((await api.get("/commands/cart%3Await-cart/1")).status).toBe(404);
  });
});

describe("a bad command aimed at a fresh cart", () => {
  it("takes no seq: the key's first command is still unsent, and the next good one gets seq 1", async () => {
    // Act
    const bad = await refused(() => api.send(cartCommand("AddItem", "fresh-cart", "f-1", { sku: "SKU-1", quantity: 0, unitPrice: 1 })));
    const good = await api.send(cartCommand("OpenCart", "fresh-cart", "f-2"), 5);

    // Assess
    expect(bad.status).toBe(400);
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ key: "cart:fresh-cart", seq: 1, status: "accepted" });
  });
});

describe("routes", () => {
  it.each([
    ["GET", "/"],
    ["GET", "/nothing-here"],
    ["POST", "/commands"],
    ["GET", "/users/u-1"],
    ["GET", "/carts/c-1/items"],
  ])("%s %s answers 404 in JSON", async (method, path) => {
    // Act
    const answer = await refused(() => request(stack().url, method, path));

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ error: "NotFound", message: expect.stringContaining(path) });
  });

  it.each([
    ["DELETE", "/carts/c-1", "GET"],
    ["POST", "/carts/c-1", "GET"],
    ["GET", "/command", "POST"],
    ["PUT", "/command", "POST"],
    ["DELETE", "/commands/cart%3Ac-1/1", "GET"],
  ])("%s %s answers 405 in JSON, allowing %s", async (method, path, allowed) => {
    // Act
    const answer = await refused(() => request(stack().url, method, path, method === "GET" || method === "DELETE" ? undefined : valid));

    // Assess
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe(allowed);
    expect(answer.body).toMatchObject({ error: "MethodNotAllowed", message: expect.stringContaining(allowed) });
  });
});

describe("bad query and path parameters on reads", () => {
  it.each([
    ["/commands/cart%3Aopen-cart/0", "seq"],
    ["/commands/cart%3Aopen-cart/first", "seq"],
    ["/streams/cart:open-cart/events?limit=0", "limit"],
    ["/streams/cart:open-cart/events?limit=1001", "limit"],
    ["/streams/cart:open-cart/events?after=-1", "after"],
    ["/streams/cart:open-cart/events?after=x", "after"],
  ])("GET %s answers 400 naming %s", async (path, field) => {
    // Act
    const answer = await api.get(path);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues).toEqual([{ field, rule: expect.any(String) }]);
  });
});
