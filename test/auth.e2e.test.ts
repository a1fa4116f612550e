// End to end over HTTP against `npm start -- --auth`: users prove who they are
// with a JWT, services with a SigV4 signature, and the caller's identity comes
// from those, never from the body. Every refused request is checked against
// the stack's tables, read straight from its DynamoDB Local: it wrote nothing.
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localAwsConfig } from "../local/dynamodb.js";
import { mintToken, type JwtSettings } from "../local/jwt.js";
import { localPrincipal } from "../local/sigv4.js";
import type { Json } from "./support/api.js";
import { expectCleanStop, startChildStack, useChildStack } from "./support/local-stack.js";
import { tablesAt, writesNothing, type Tables } from "./support/tables.js";
import { until } from "./support/wait.js";

const settings: JwtSettings = { secret: "e2e-secret-not-for-production", audience: "ordinal-e2e", issuer: "https://idp.e2e.test/" };
const { stack } = useChildStack(["--memory", "--port", "0", "--auth"], {
  ORDINAL_JWT_SECRET: settings.secret,
  ORDINAL_JWT_AUDIENCE: settings.audience,
  ORDINAL_JWT_ISSUER: settings.issuer!,
});

interface Reply {
  readonly status: number;
  readonly body: Json;
}

const call = async (method: string, path: string, { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> => {
  const response = await fetch(new URL(path, stack().url), {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.headers.get("content-type"), `${method} ${path} → ${response.status} ${text.slice(0, 200)}`).toMatch(/^application\/json\b/);
  return { status: response.status, body: JSON.parse(text) };
};

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const token = (sub: string, roles: string[] = []) => mintToken(settings, { sub, roles });

/** POST /command?wait=5 with a user's token. */
const send = async (sub: string, body: unknown, roles: string[] = []) => call("POST", "/command?wait=5", { body, headers: bearer(await token(sub, roles)) });

/** POST /service/command?wait=5 signed with SigV4 as a service's AWS SDK signs it. */
const sendSigned = async (body: unknown) => {
  const url = new URL("/service/command?wait=5", stack().url);
  const text = JSON.stringify(body);
  const signer = new SignatureV4({ service: "execute-api", region: "local", sha256: Sha256, credentials: localAwsConfig(url.origin).credentials });
  const signed = await signer.sign({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: { wait: "5" },
    headers: { host: url.host, "content-type": "application/json" },
    body: text,
  });
  // fetch sets Host itself, to the same value.
  const { host: _host, ...headers } = signed.headers;
  return call("POST", "/service/command?wait=5", { body: text, headers });
};

let tables: Tables;

beforeAll(async () => {
  const health = await call("GET", "/health", { headers: bearer(await token("ops")) });
  expect(health.status).toBe(200);
  tables = tablesAt(health.body.endpoints.dynamodb);
});

afterAll(() => {
  tables?.close();
});

const refused = <T>(send: () => Promise<T>) => writesNothing(tables, send);

const openCart = (cartId: string, id: string) => ({ type: "cart", command: "OpenCart", aggregateId: cartId, id });
const restock = (id: string) => ({ type: "inventory", command: "Restock", aggregateId: "w-1", id, payload: { sku: "SKU-1", quantity: 10 } });
const key = (secret: string) => new TextEncoder().encode(secret);

describe("a request without a valid token", () => {
  const unsigned = (claims: Record<string, unknown> = {}) =>
    new SignJWT({ roles: [], ...claims }).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setAudience(settings.audience).setIssuer(settings.issuer!);

  it.each<[string, () => Promise<Record<string, string>>, RegExp]>([
    ["no token", async () => ({}), /no token/],
    ["a header that is not Bearer", async () => ({ authorization: "Basic YWxpY2U6c2VjcmV0" }), /not 'Bearer <JWT>'/],
    ["a malformed token", async () => bearer("not-a-jwt"), /not valid/],
    ["a token signed with another secret", async () => bearer(await mintToken({ ...settings, secret: "another-secret" }, { sub: "alice" })), /signature/],
    ["an expired token", async () => bearer(await unsigned().setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key(settings.secret))), /"exp"/],
    ["a token for another audience", async () => bearer(await mintToken({ ...settings, audience: "another-api" }, { sub: "alice" })), /"aud"/],
    ["a token from another issuer", async () => bearer(await mintToken({ ...settings, issuer: "https://elsewhere.test/" }, { sub: "alice" })), /"iss"/],
  ])("with %s is answered 401 and writes nothing", async (_, headers, message) => {
    // Act
    const answer = await refused(async () => call("POST", "/command?wait=1", { body: openCart("c-401", "r-401"), headers: await headers() }));

    // Assess
    expect(answer).toEqual({ status: 401, body: { error: "Unauthorized", message: expect.stringMatching(message) } });
  });

  it("is answered 401 on every route, the unmatched ones too", async () => {
    expect((await call("GET", "/carts/c-1")).status).toBe(401);
    expect((await call("GET", "/no/such/route")).status).toBe(401);
    expect((await call("GET", "/no/such/route", { headers: bearer(await token("alice")) })).status).toBe(404);
  });
});

describe("a user's command", () => {
  it("is sent as the token's user, which the command, its events and its outcome record", async () => {
    // Act
    const answer = await send("alice", openCart("c-alice", "r-1"));

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "accepted", key: "cart:c-alice", seq: 1 });
    const [commands, events, outcomes] = await Promise.all([tables.scan("commands"), tables.scan("events"), tables.scan("outcomes")]);
    expect(commands.find((c) => c.key === "cart:c-alice")).toMatchObject({ user: "alice", roles: [] });
    expect(events.filter((e) => e.streamId === "cart:c-alice")).toEqual([expect.objectContaining({ type: "CartOpened", user: "alice", data: { owner: "alice" } })]);
    expect(outcomes.filter((o) => o.key === "cart:c-alice")).toEqual([expect.objectContaining({ status: "accepted", user: "alice" })]);
  });

  it("may not say in its body who sends it (400), and writes nothing", async () => {
    // Act
    const answer = await refused(() => send("mallory", { ...openCart("c-alice", "r-2"), user: "alice", roles: ["admin"] }));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues.map((issue: Json) => issue.field)).toEqual(["user", "roles"]);
  });

  it("on another user's cart is rejected Forbidden (409), and adds no event", async () => {
    // Prepare
    const before = await tables.scan("events");

    // Act
    const answer = await send("bob", { type: "cart", command: "AddItem", aggregateId: "c-alice", id: "r-3", payload: { sku: "SKU-1", quantity: 1, unitPrice: 100 } });

    // Assess
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ status: "rejected", reason: "Forbidden", user: "bob" });
    expect(await tables.scan("events")).toEqual(before);
  });

  it("to inventory, from a shopper, is answered 403 and writes nothing", async () => {
    // Act
    const answer = await refused(() => send("alice", restock("r-4")));

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: "Forbidden" });
  });

  it("to inventory, from an administrator, is accepted", async () => {
    // Act
    const answer = await send("ops", restock("r-5"), ["admin"]);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "accepted", key: "inventory", user: "ops" });
  });
});

describe("a service's command on POST /service/command", () => {
  it("signed with SigV4 is sent as the IAM principal, with the role service, and accepted", async () => {
    // Act
    const answer = await sendSigned(restock("svc-1"));

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "accepted", key: "inventory", user: localPrincipal.userArn });
    const commands = await tables.scan("commands");
    expect(commands.find((c) => c.key === "inventory")).toMatchObject({ id: "svc-1", user: localPrincipal.userArn, roles: ["service"] });
    const events = await tables.scan("events");
    expect(events.find((e) => e.commandId === "svc-1")).toMatchObject({ type: "StockRestocked", user: localPrincipal.userArn });
  });

  it.each<[string, () => Promise<Record<string, string>>]>([
    ["without a signature", async () => ({})],
    ["with a user's token instead", async () => bearer(await token("alice", ["service"]))],
    ["with a forged signature", async () => ({ authorization: `AWS4-HMAC-SHA256 Credential=local/20261123/local/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`, "x-amz-date": new Date().toISOString().replace(/[-:]|\.\d{3}/g, "") })],
  ])("%s is answered 401 and writes nothing", async (_, headers) => {
    // Act
    const answer = await refused(async () => call("POST", "/service/command?wait=1", { body: restock("svc-2"), headers: await headers() }));

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe("Unauthorized");
  });
});

describe("an admin route", () => {
  const cartSummary = async () => (await tables.scan("projections")).filter((item) => item.projection === "cart-summary");

  it("answers 403 to a caller without the admin role, and changes nothing", async () => {
    // Prepare: the read model a reset would empty has caught up with alice's cart
    const projections = await until("cart-summary to show c-alice", async () => {
      const items = await cartSummary();
      return items.some((item) => JSON.stringify(item).includes("c-alice")) ? items : undefined;
    });

    // Act
    const answer = await refused(async () => call("POST", "/admin/replays", { body: { handler: "cart-summary", reset: true }, headers: bearer(await token("alice")) }));

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(/needs the role admin/);
    expect(await cartSummary()).toEqual(projections);
  });

  it("serves a caller with the admin role", async () => {
    // Act
    const answer = await call("POST", "/admin/replays", { body: { handler: "cart-summary" }, headers: bearer(await token("ops", ["admin"])) });
    const status = await call("GET", answer.body.statusUrl, { headers: bearer(await token("ops", ["admin"])) });
    const refusedStatus = await call("GET", answer.body.statusUrl, { headers: bearer(await token("alice")) });

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ handler: "cart-summary", state: "running" });
    expect(status.status).toBe(200);
    expect(status.body.replayId).toBe(answer.body.replayId);
    expect(refusedStatus.status).toBe(403);
  });
});

describe("a checkout with authentication on", () => {
  it("runs as in production: the shopper's token, an administrator's stock, the process manager answering as a service", async () => {
    // Prepare
    const cartId = "c-auth-checkout";
    const stock = { type: "inventory", command: "Restock", aggregateId: "main", id: "auth-stock", payload: { sku: "SKU-A", quantity: 2 } };
    expect((await send("ops", stock, ["admin"])).body).toMatchObject({ status: "accepted" });
    expect((await send("carol", openCart(cartId, "co-1"))).body).toMatchObject({ status: "accepted" });
    const add = { type: "cart", command: "AddItem", aggregateId: cartId, id: "co-2", payload: { sku: "SKU-A", quantity: 2, unitPrice: 250 } };
    expect((await send("carol", add)).body).toMatchObject({ status: "accepted" });

    // Act
    const checkout = await send("carol", { type: "cart", command: "Checkout", aggregateId: cartId, id: "co-3" });

    // Assess: the shopper may not answer her own checkout; the process manager does, as a service
    expect(checkout.body).toMatchObject({ status: "accepted", user: "carol", sent: [{ command: "ReserveStock" }] });
    const forged = await send("carol", { type: "cart", command: "ConfirmCheckout", aggregateId: cartId, id: "co-4", payload: { reservationId: `cart:${cartId}` } });
    expect(forged.status).toBe(403);
    const cart = await until("the cart to be checked out", async () => {
      const answer = await call("GET", `/carts/${cartId}`, { headers: bearer(await token("carol")) });
      return answer.body.status === "checked-out" ? answer.body : undefined;
    });
    expect(cart).toMatchObject({ owner: "carol", total: 500 });
    const confirmed = (await tables.scan("events")).find((e) => e.streamId === `cart:${cartId}` && e.type === "CheckoutConfirmed");
    expect(confirmed).toMatchObject({ user: "service:checkout", correlationId: checkout.body.correlationId });
  });
});

describe("npm start -- --auth without ORDINAL_JWT_SECRET", () => {
  it("makes a secret up and prints it: a token signed with it is accepted, one signed with another secret is not", async () => {
    // Prepare: an empty value counts as unset, whatever this process's environment holds.
    const unset = await startChildStack(["--memory", "--port", "0", "--auth"], undefined, { ORDINAL_JWT_SECRET: "", ORDINAL_JWT_AUDIENCE: "", ORDINAL_JWT_ISSUER: "" });
    try {
      const printed = /ORDINAL_JWT_SECRET was not set; this run signs with ORDINAL_JWT_SECRET=(\S+)/.exec(unset.output())?.[1];
      expect(printed, unset.output()).toMatch(/^[\w-]{32,}$/);
      const post = async (secret: string, id: string) =>
        fetch(new URL("/command?wait=5", unset.url), {
          method: "POST",
          headers: { "content-type": "application/json", ...bearer(await mintToken({ secret, audience: "ordinal" }, { sub: "dora" })) },
          body: JSON.stringify(openCart("c-made-up", id)),
        });

      // Act
      const signedWithPrinted = await post(printed!, "m-1");
      const signedWithOther = await post("not-the-printed-one", "m-2");

      // Assess: the audience defaults to ordinal
      expect(signedWithPrinted.status).toBe(200);
      expect(await signedWithPrinted.json()).toMatchObject({ status: "accepted", user: "dora", seq: 1 });
      expect(signedWithOther.status).toBe(401);
      expect(await signedWithOther.json()).toMatchObject({ error: "Unauthorized", message: expect.stringMatching(/signature/) });
    } finally {
      expectCleanStop(unset, await unset.stop());
    }
  });
});
