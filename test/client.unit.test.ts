// The typed client on a recording transport: what it sends, what it infers.
// The `@ts-expect-error` lines are the type tests: `npm run typecheck` fails
// if a wrong command name or payload ever type-checks.
import type { app, Registry } from "../core/app.js";
import { describe, expect, expectTypeOf, it } from "vitest";
import { createClient, http, MAX_WAIT_SECONDS, OrdinalClientError, type HttpOptions, type Outcome, type OutgoingEnvelope, type Transport } from "../core/client.js";

const recording = () => {
  const sent: { envelope: OutgoingEnvelope; wait: number }[] = [];
  const transport: Transport = {
    send: async (envelope, wait) => {
      sent.push({ envelope, wait });
      return { status: "pending", key: `cart:${envelope.aggregateId}`, seq: 1, correlationId: `cart:${envelope.aggregateId}/1` };
    },
  };
  return { sent, transport };
};

describe("the typed client", () => {
  it("sends the envelope with a ULID request id by default, and the chain and wait it is given", async () => {
    // Prepare
    const { sent, transport } = recording();
    const ordinal = createClient<Registry>(transport);

    // Act
    await ordinal.send("cart", "AddItem", "c-1", { sku: "SKU-1", quantity: 2, unitPrice: 1299 });
    await ordinal.send("inventory", "Restock", "main", { sku: "SKU-1", quantity: 5 }, {
      id: 7,
      wait: 5,
      timestamp: 1_795_440_000_000,
      correlationId: "cart:c-1/1",
      causationId: "cart:c-1#2",
    });

    // Assess
    expect(sent[0]).toEqual({
      envelope: { type: "cart", command: "AddItem", aggregateId: "c-1", id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), payload: { sku: "SKU-1", quantity: 2, unitPrice: 1299 } },
      wait: 0,
    });
    expect(sent[1]).toEqual({
      envelope: {
        type: "inventory",
        command: "Restock",
        aggregateId: "main",
        id: 7,
        timestamp: 1_795_440_000_000,
        correlationId: "cart:c-1/1",
        causationId: "cart:c-1#2",
        payload: { sku: "SKU-1", quantity: 5 },
      },
      wait: 5,
    });
  });

  it("refuses a wait the API would refuse, before sending anything", async () => {
    const { sent, transport } = recording();
    const ordinal = createClient<Registry>(transport);
    for (const wait of [-1, 1.5, MAX_WAIT_SECONDS + 1]) {
      const error = await ordinal.send("cart", "OpenCart", "c-1", {}, { wait }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OrdinalClientError);
      expect(error).toMatchObject({ status: 400, body: { error: "ValidationError", issues: [{ field: "wait" }] } });
    }
    expect(sent).toEqual([]);
  });

  it("infers command names and payloads from the microservice definitions", () => {
    const ordinal = createClient<Registry>(recording().transport);
    // The microservices the app definition (core/app.ts) registers, whichever they are.
    expectTypeOf(ordinal.send).parameter(0).toEqualTypeOf<keyof Registry & string>();
    expectTypeOf<keyof Registry>().toEqualTypeOf<keyof typeof app.microservices>();
    expectTypeOf(ordinal.send<"cart", "AddItem">).parameter(3).toEqualTypeOf<{ sku: string; quantity: number; unitPrice: number; currency?: string | undefined }>();
    expectTypeOf(ordinal.send<"cart", "Checkout">).parameter(3).toEqualTypeOf<{ warehouse?: string | undefined }>();
    expectTypeOf(ordinal.send("cart", "OpenCart", "c-1", {})).resolves.toEqualTypeOf<Outcome>();

    // Only checked by the compiler: the calls are never made.
    const compileOnly = () => {
      // @ts-expect-error no microservice "carts"
      void ordinal.send("carts", "OpenCart", "c-1", {});
      // @ts-expect-error cart has no command "Restock" (inventory has)
      void ordinal.send("cart", "Restock", "c-1", { sku: "SKU-1", quantity: 1 });
      // @ts-expect-error AddItem needs a unitPrice
      void ordinal.send("cart", "AddItem", "c-1", { sku: "SKU-1", quantity: 1 });
      // @ts-expect-error quantity is a number
      void ordinal.send("cart", "AddItem", "c-1", { sku: "SKU-1", quantity: "1", unitPrice: 1 });
      // @ts-expect-error OpenCart takes no fields
      void ordinal.send("cart", "OpenCart", "c-1", { owner: "u-1" });
      // @ts-expect-error ReserveStock's lines are objects
      void ordinal.send("inventory", "ReserveStock", "main", { reservationId: "r-1", lines: ["SKU-1"] });
      // @ts-expect-error wait is in seconds, a number
      void ordinal.send("cart", "OpenCart", "c-1", {}, { wait: "5" });
    };
    expect(compileOnly).toBeTypeOf("function");
  });
});

/** An HTTP transport whose fetch records the request and answers `status` with `body`. */
const answering = (status: number, body: unknown, options: Record<string, unknown>) => {
  const requests: { url: string; headers: Record<string, string>; body: any }[] = [];
  const fake: typeof fetch = async (url, init) => {
    requests.push({ url: String(url), headers: init?.headers as Record<string, string>, body: JSON.parse(String(init?.body)) });
    return new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
  const client = createClient<Registry>(http({ url: "http://localhost:4000", ...options, fetch: fake } as HttpOptions));
  return { client, requests };
};

const accepted = { status: "accepted", key: "cart:c-1", seq: 1, streamId: "cart:c-1", commandId: "r-1", command: "OpenCart", user: "u-1", correlationId: "cart:c-1/1", events: [], recordedAt: 1, outcomeUrl: "/commands/cart%3Ac-1/1" };

describe("the HTTP transport", () => {
  it("on the open local stack, posts to /command with the caller in the body", async () => {
    const { client, requests } = answering(200, accepted, { user: "u-1", roles: ["admin"] });
    const outcome = await client.send("cart", "OpenCart", "c-1", {}, { id: "r-1", wait: 5 });
    expect(requests).toEqual([
      { url: "http://localhost:4000/command?wait=5", headers: { "content-type": "application/json" }, body: { type: "cart", command: "OpenCart", aggregateId: "c-1", id: "r-1", payload: {}, user: "u-1", roles: ["admin"] } },
    ]);
    const { outcomeUrl: _, ...expected } = accepted;
    expect(outcome).toEqual(expected);
  });

  it("with a token, posts to /command with a bearer token and no identity in the body", async () => {
    const { client, requests } = answering(202, { status: "pending", key: "cart:c-1", seq: 3, outcomeUrl: "/commands/cart%3Ac-1/3" }, { token: "eyJ.x.y" });
    const outcome = await client.send("cart", "OpenCart", "c-1", {}, { id: "r-1", causationId: "cart:c-0#2" });
    expect(requests[0]).toEqual({
      url: "http://localhost:4000/command",
      headers: { "content-type": "application/json", authorization: "Bearer eyJ.x.y" },
      body: { type: "cart", command: "OpenCart", aggregateId: "c-1", id: "r-1", causationId: "cart:c-0#2", payload: {} },
    });
    expect(outcome).toEqual({ status: "pending", key: "cart:c-1", seq: 3, correlationId: "cart:c-1/3", causationId: "cart:c-0#2" });
  });

  it("with credentials, signs for execute-api in the API's region and posts to /service/command under the stage", async () => {
    const { client, requests } = answering(200, accepted, {
      url: "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "session" },
    });
    await client.send("cart", "OpenCart", "c-1", {}, { id: "r-1", wait: 2 });
    const [sent] = requests;
    expect(sent!.url).toBe("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/service/command?wait=2");
    expect(sent!.body).toEqual({ type: "cart", command: "OpenCart", aggregateId: "c-1", id: "r-1", payload: {} });
    expect(sent!.headers).not.toHaveProperty("host");
    expect(sent!.headers).toMatchObject({
      "content-type": "application/json",
      "x-amz-security-token": "session",
      "x-amz-date": expect.stringMatching(/^\d{8}T\d{6}Z$/),
      authorization: expect.stringMatching(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      ),
    });
    expect(() => http({ url: "http://localhost:4000", credentials: { accessKeyId: "a", secretAccessKey: "b" } })).toThrow(/needs a region/);
  });

  it("answers a 409 rejection as an outcome, and throws the API's and the gateway's refusals with their status", async () => {
    const rejected = { ...accepted, status: "rejected", reason: "CartNotOpened", message: "the cart has not been opened" };
    expect(await answering(409, rejected, { user: "u-1" }).client.send("cart", "CloseCart", "c-1", {})).toMatchObject({ status: "rejected", reason: "CartNotOpened" });

    const refusals: [number, unknown, Record<string, unknown>][] = [
      [400, { error: "ValidationError", message: "payload.sku: is required", issues: [{ field: "payload.sku", rule: "is required" }] }, { error: "ValidationError", issues: [{ field: "payload.sku" }] }],
      [401, { error: "Unauthorized", message: "no credentials" }, { error: "Unauthorized", message: "no credentials" }],
      // API Gateway's IAM authorizer answers with only a message.
      [403, { message: "The security token included in the request is invalid." }, { error: "Forbidden", message: "The security token included in the request is invalid." }],
      [502, "<html>Bad Gateway</html>", { error: "InvalidResponse", message: expect.stringContaining("Bad Gateway") }],
      [409, { error: "Conflict", message: "not an outcome" }, { error: "Conflict" }],
    ];
    for (const [status, body, expected] of refusals) {
      const error = await answering(status, body, { user: "u-1" }).client.send("cart", "CloseCart", "c-1", {}).catch((e: unknown) => e);
      expect(error, String(status)).toBeInstanceOf(OrdinalClientError);
      expect(error, String(status)).toMatchObject({ status, body: expected });
    }
  });
});
