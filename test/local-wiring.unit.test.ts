// The local runtime must serve exactly what the topology (and so the stacks) declares.
import { describe, expect, it } from "vitest";
import { matchRoute } from "../core/routing.js";
import { kinesisConsumers, queueConsumers, routes, streamConsumers } from "../core/topology.js";
import { httpHandlers, kinesisHandlers, queueHandlers, streamHandlers } from "../local/handlers.js";

describe("local wiring", () => {
  it("has a handler for every route of the topology and none besides", () => {
    expect(Object.keys(httpHandlers).sort()).toEqual([...new Set(routes.map((r) => r.handler))].sort());
  });

  it("has a handler for every stream consumer of the topology and none besides", () => {
    expect(Object.keys(streamHandlers).sort()).toEqual(Object.values(streamConsumers).map((c) => c.handler).sort());
  });

  it("has a handler for every Kinesis and queue consumer of the topology and none besides", () => {
    expect(Object.keys(kinesisHandlers).sort()).toEqual(Object.values(kinesisConsumers).map((c) => c.handler).sort());
    expect(Object.keys(queueHandlers).sort()).toEqual(Object.values(queueConsumers).map((c) => c.handler).sort());
  });

  it("routes requests the way API Gateway would", () => {
    const match = matchRoute("GET", "/commands/cart%3Ac-1/7");
    expect(match).toMatchObject({ kind: "route", route: { handler: "functions/outcome.handler" }, pathParameters: { key: "cart:c-1", seq: "7" } });
    expect(matchRoute("DELETE", "/carts/c-1")).toEqual({ kind: "wrong-method", allowed: ["GET"] });
    expect(matchRoute("GET", "/carts/c-1/extra")).toEqual({ kind: "none" });
    expect(matchRoute("GET", "/command")).toEqual({ kind: "wrong-method", allowed: ["POST"] });
  });
});
