// Who the handlers take a caller to be: the authorizer's context exactly as API
// Gateway fills it (JWT claims, IAM principal), never the body, except on the
// open local stack; and the route roles check of the admin routes.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { DEFAULT_JWT_AUDIENCE, jwtConfigFromEnv } from "../core/auth.js";
import type { Store } from "../core/dynamo.js";
import { ForbiddenError, UnauthorizedError } from "../core/errors.js";
import { referenceApp, topology } from "./support/app.js";
import { makeHandler as makeCommandRoute } from "../functions/command.js";
import { authorizeRoute, callerOf, rolesOf, type AuthorizerContext } from "../functions/identity.js";
import { answerOf, httpEvent } from "./support/http-events.js";

const withAuthorizer = (event: APIGatewayProxyEventV2, authorizer: AuthorizerContext): APIGatewayProxyEventV2 =>
  ({ ...event, requestContext: { ...event.requestContext, authorizer } }) as APIGatewayProxyEventV2;

const jwtEvent = (claims: Record<string, string | number | boolean | string[]>, path = "/command", method = "POST") =>
  withAuthorizer(httpEvent({ method, path }), { jwt: { claims, scopes: null } });

const iamEvent = (iam: AuthorizerContext["iam"]) => withAuthorizer(httpEvent({ method: "POST", path: "/service/command" }), { iam });

const onAws = { identityFromBody: false };
const openLocal = { identityFromBody: true };

describe("rolesOf", () => {
  it.each([
    ["a JSON array claim", ["admin", "service"], ["admin", "service"]],
    ["API Gateway's flattened array", "[admin service]", ["admin", "service"]],
    ["a flattened array of one", "[admin]", ["admin"]],
    ["an array in JSON text", '["admin","service"]', ["admin", "service"]],
    ["a space-separated string", "admin service", ["admin", "service"]],
    ["a comma-separated string", "admin, service", ["admin", "service"]],
    ["one role", "admin", ["admin"]],
    ["an empty flattened array", "[]", []],
    ["an empty string", "", []],
    ["no claim", undefined, []],
    ["a number", 7, []],
    ["repeats", "[admin admin]", ["admin"]],
  ])("reads %s", (_, claim, roles) => {
    expect(rolesOf(claim)).toEqual(roles);
  });
});

describe("callerOf", () => {
  it("takes the user from sub and the roles from the roles claim of a JWT", () => {
    expect(callerOf(jwtEvent({ sub: "alice", roles: "[admin service]", aud: "ordinal" }), onAws)).toEqual({ user: "alice", roles: ["admin", "service"] });
  });

  it("gives a JWT caller without a roles claim no role", () => {
    expect(callerOf(jwtEvent({ sub: "bob" }), onAws)).toEqual({ user: "bob", roles: [] });
  });

  it.each([
    ["no sub", {}],
    ["an empty sub", { sub: "" }],
  ])("refuses (401) a JWT with %s", (_, claims) => {
    expect(() => callerOf(jwtEvent(claims), onAws)).toThrow(UnauthorizedError);
  });

  it("takes an IAM principal's ARN as the user, with the role service", () => {
    const caller = callerOf(
      iamEvent({ accessKey: "AKIA1", accountId: "123456789012", callerId: "AROA1:fn", userArn: "arn:aws:sts::123456789012:assumed-role/checkout/fn", userId: "AROA1:fn" }),
      onAws,
    );
    expect(caller).toEqual({ user: "arn:aws:sts::123456789012:assumed-role/checkout/fn", roles: ["service"] });
  });

  it("falls back to the caller id when an IAM context has no ARN", () => {
    expect(callerOf(iamEvent({ callerId: "AIDA1" }), onAws)).toEqual({ user: "AIDA1", roles: ["service"] });
  });

  it("refuses (401) a request without an authorizer's context on AWS", () => {
    expect(() => callerOf(httpEvent({ method: "POST", path: "/command" }), onAws)).toThrow(UnauthorizedError);
  });

  it("leaves the identity to the body on the open local stack", () => {
    expect(callerOf(httpEvent({ method: "POST", path: "/command" }), openLocal)).toBeUndefined();
  });

  it("prefers the authorizer to the body even on the open local stack", () => {
    expect(callerOf(jwtEvent({ sub: "carol" }), openLocal)).toEqual({ user: "carol", roles: [] });
  });
});

describe("authorizeRoute", () => {
  const replay = (claims: Record<string, string>) => jwtEvent(claims, "/admin/replays");
  const routeOf = (key: string) => topology.routes.find((r) => `${r.method} ${r.path}` === key)!;
  const replayRoute = routeOf("POST /admin/replays");

  it("lets a caller with one of the route's roles through", () => {
    expect(authorizeRoute(replay({ sub: "ops", roles: "[admin]" }), onAws, replayRoute)).toEqual({ user: "ops", roles: ["admin"] });
  });

  it.each([
    ["no role", { sub: "alice" }],
    ["other roles", { sub: "svc", roles: "[service]" }],
  ])("refuses (403) a caller with %s", (_, claims) => {
    expect(() => authorizeRoute(replay(claims), onAws, replayRoute)).toThrow(ForbiddenError);
    expect(() => authorizeRoute(replay(claims), onAws, replayRoute)).toThrow(/POST \/admin\/replays needs the role admin/);
  });

  it("asks no role of a route without roles", () => {
    expect(authorizeRoute(jwtEvent({ sub: "alice" }, "/carts", "GET"), onAws, routeOf("GET /carts"))).toEqual({ user: "alice", roles: [] });
  });

  it("refuses (401) a request without credentials on AWS, before any role", () => {
    expect(() => authorizeRoute(httpEvent({ method: "POST", path: "/admin/replays" }), onAws, replayRoute)).toThrow(UnauthorizedError);
  });
});

describe("POST /command on AWS", () => {
  // Any use of the store fails the test: a refused request must write nothing.
  const untouchable = new Proxy({}, { get: () => { throw new Error("the store was used"); } }) as Store;
  const route = makeCommandRoute({ store: untouchable, app: referenceApp, clock: () => 0, endpoints: {}, identityFromBody: false });
  const body = { type: "cart", command: "OpenCart", aggregateId: "c-1", id: "r-1" };

  it("answers 401 without an authorizer's context, before reading the body", async () => {
    // Act
    const answer = answerOf(await route(httpEvent({ method: "POST", path: "/command", body: { ...body, user: "mallory" } })));

    // Assess
    expect(answer).toEqual({ status: 401, body: { error: "Unauthorized", message: expect.stringMatching(/no credentials/) } });
  });

  it("answers 400 when a token's caller also claims an identity in the body", async () => {
    // Act
    const event = withAuthorizer(httpEvent({ method: "POST", path: "/command", body: { ...body, user: "mallory", roles: ["admin"] } }), {
      jwt: { claims: { sub: "alice" }, scopes: null },
    });
    const answer = answerOf(await route(event));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.issues.map((issue: { field: string }) => issue.field)).toEqual(["user", "roles"]);
  });

  it("appends the command as the token's caller, with the token's roles, and never as anyone the body could name", async () => {
    // Prepare: a store that records what the route would write (the write itself is tested against DynamoDB Local).
    const written: Record<string, any>[] = [];
    const recording = {
      db: { send: async (command: { input: Record<string, any> }) => (written.push(command.input), { Attributes: { seq: 1 } }) },
      tables: { commands: "commands" },
    } as unknown as Store;
    const writer = makeCommandRoute({ store: recording, app: referenceApp, clock: () => 0, endpoints: {}, identityFromBody: false });
    const event = withAuthorizer(httpEvent({ method: "POST", path: "/command", body }), { jwt: { claims: { sub: "alice", roles: "[admin]" }, scopes: null } });

    // Act
    const answer = answerOf(await writer(event));

    // Assess
    expect(answer.status).toBe(202);
    expect(written).toHaveLength(1);
    expect(written[0]!.ExpressionAttributeValues).toMatchObject({ ":user": "alice", ":roles": ["admin"] });
  });

  it("answers 403 to a shopper's inventory command", async () => {
    // Act
    const event = withAuthorizer(
      httpEvent({ method: "POST", path: "/command", body: { type: "inventory", command: "Restock", aggregateId: "w-1", id: "r-2", payload: { sku: "S", quantity: 1 } } }),
      { jwt: { claims: { sub: "alice" }, scopes: null } },
    );
    const answer = answerOf(await route(event));

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe("Forbidden");
  });
});

describe("jwtConfigFromEnv", () => {
  it("defaults the audience and leaves the issuer unset", () => {
    expect(jwtConfigFromEnv({})).toEqual({ audience: DEFAULT_JWT_AUDIENCE });
  });

  it("reads ORDINAL_JWT_ISSUER and ORDINAL_JWT_AUDIENCE", () => {
    expect(jwtConfigFromEnv({ ORDINAL_JWT_ISSUER: "https://idp.example/", ORDINAL_JWT_AUDIENCE: "api" })).toEqual({ issuer: "https://idp.example/", audience: "api" });
  });
});
