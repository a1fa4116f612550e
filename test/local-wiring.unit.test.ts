// The local runtime must serve exactly what the topology (and so the stacks)
// declares, with the same generic handlers Lambda runs.
import { describe, expect, it } from "vitest";
import { routeMatcher } from "../core/routing.js";
import { localHandlerPaths } from "../local/handlers.js";
import { topology } from "./support/app.js";

describe("local wiring", () => {
  it("has a local handler for every route of the topology", () => {
    const routed = new Set(topology.routes.map((r) => r.handler));
    expect(localHandlerPaths.http).toEqual(expect.arrayContaining([...routed]));
    // And no handler that nothing routes to.
    expect([...routed].sort()).toEqual([...localHandlerPaths.http].sort());
  });

  it("has a local handler for every stream, Kinesis and queue consumer of the topology", () => {
    expect(Object.values(topology.streamConsumers).map((c) => c.handler).sort()).toEqual([...localHandlerPaths.stream].sort());
    expect([...new Set(Object.values(topology.kinesisConsumers).map((c) => c.handler))].sort()).toEqual([...localHandlerPaths.kinesis].sort());
    expect([...new Set(Object.values(topology.queueConsumers).map((c) => c.handler))].sort()).toEqual([...localHandlerPaths.queue].sort());
  });

  it("routes requests the way API Gateway would", () => {
    const matchRoute = routeMatcher(topology.routes);
    const match = matchRoute("GET", "/commands/cart%3Ac-1/7");
    expect(match).toMatchObject({ kind: "route", route: { handler: "functions/outcome.handler" }, pathParameters: { key: "cart:c-1", seq: "7" } });
    expect(matchRoute("GET", "/carts/c-1")).toMatchObject({ kind: "route", route: { handler: "functions/view.handler", environment: { ORDINAL_MICROSERVICE: "cart" } } });
    expect(matchRoute("DELETE", "/carts/c-1")).toEqual({ kind: "wrong-method", allowed: ["GET"] });
    expect(matchRoute("GET", "/carts/c-1/extra")).toEqual({ kind: "none" });
    expect(matchRoute("GET", "/command")).toEqual({ kind: "wrong-method", allowed: ["POST"] });
  });
});
