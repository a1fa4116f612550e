// The app definition: what defineApp refuses, what the expanded topology
// derives, and the types a projection or process manager gets from `from`.
import { describe, expect, expectTypeOf, it } from "vitest";
import { defineApp, expandApp } from "../core/app-definition.js";
import { app } from "../core/app.js";
import { cart } from "../core/cart/index.js";
import { cartSummary } from "../core/cart/cart-summary.js";
import { inventory } from "../core/inventory/index.js";
import { defineMicroservice } from "../core/decider.js";
import { defineProcessManager } from "../core/process-managers/index.js";
import { defineProjection } from "../core/projections/index.js";
import { redrivePlans } from "../core/redrive.js";

const counting = (name: string, from: readonly { name: string }[] = [cart]) =>
  defineProjection({ name, from: from as [typeof cart], eventTypes: ["CartOpened"], keyOf: (e) => e.aggregateId, initial: 0, evolve: (n) => n + 1 });

describe("defineApp", () => {
  it.each([
    ["a projection named like an engine consumer", { microservices: { cart }, projections: [counting("sequencer")] }, "projection 'sequencer': the name is the engine's"],
    ["the archive index's partition", { microservices: { cart }, projections: [counting("archive")] }, "projection 'archive': the name is the engine's"],
    ["two parts of one name", { microservices: { cart }, projections: [counting("twice"), counting("twice")] }, "projection 'twice': the name is also a projection's"],
    ["a name the queues cannot take", { microservices: { cart }, projections: [counting("Not_Lower")] }, "projection 'Not_Lower': a name is 1-40 lowercase letters"],
    ["a handler of an unregistered microservice", { microservices: { cart }, projections: [counting("stock", [inventory])] }, "projection 'stock' takes events of 'inventory', which the app does not register"],
    ["a microservice registered under another key", { microservices: { shop: cart } }, "microservice 'cart' is registered as 'shop': register it under its name"],
    ["a route declared twice", { microservices: { cart }, projections: [{ ...counting("dupe"), routes: [{ path: "/carts/{x}", answer: async () => ({ statusCode: 200, body: {} }) }] }] }, /route GET \/carts\/\{\w+\} is declared twice/],
  ] as [string, unknown, string | RegExp][])("refuses %s, naming it", (_, definition, message) => {
    expect(() => defineApp(definition as Parameters<typeof defineApp>[0])).toThrow(message);
  });

  it("refuses a view whose path does not name exactly one aggregate id", () => {
    const viewless = defineMicroservice({ ...cart, name: "wide", view: { path: "/wide/{a}/{b}", render: () => ({}) } });
    expect(() => defineApp({ microservices: { wide: viewless } })).toThrow("its view's path /wide/{a}/{b} must have exactly one {parameter}");
  });

  it("refuses singleAggregate on a microservice keyed per aggregate", () => {
    expect(() => defineMicroservice({ ...cart, singleAggregate: "one" })).toThrow('cart: singleAggregate needs partitionBy "microservice"');
  });
});

describe("the expanded topology", () => {
  const { topology } = expandApp(app);

  it("sends a subscriber's dead letters (SNS's and its consumer's) back to the subscriber queue on a redrive", () => {
    expect(topology.queues["cart-closed-subscriber"]?.deadLetter?.queue).toBe("cart-closed-subscriber-dlq");
    expect(redrivePlans(topology).get("cart-closed-subscriber-dlq")).toEqual({ kind: "move", to: "cart-closed-subscriber" });
    const redrive = topology.routes.find((r) => r.path === "/admin/redrive")!;
    expect(redrive.uses?.queues).toMatchObject({ "cart-closed-subscriber-dlq": "consume", "cart-closed-subscriber": "send" });
  });

  it("gives every consumer a failure destination that parks, so each has an alarm and is kept", () => {
    for (const consumer of Object.values({ ...topology.streamConsumers, ...topology.kinesisConsumers }))
      expect(topology.queues[consumer.failureDestination]?.parks, consumer.failureDestination).toBe(true);
  });
});

describe("typed handlers", () => {
  it("give a projection's evolve the events of its microservices, narrowed to its event types", () => {
    type Evolved = Parameters<typeof cartSummary.evolve>[1];
    expectTypeOf<Evolved["type"]>().toEqualTypeOf<"CartOpened" | "ItemAdded" | "ItemRemoved" | "CartClosed" | "CheckoutStarted" | "CheckoutConfirmed" | "CheckoutFailed">();
    expectTypeOf<Evolved["microservice"]>().toEqualTypeOf<"cart">();
    expectTypeOf<Extract<Evolved, { type: "CartOpened" }>["data"]>().toEqualTypeOf<{ readonly owner: string }>();

    // Only checked by the compiler: the definitions are never run.
    const compileOnly = () => [
      // @ts-expect-error "StockReserved" is inventory's, not the cart's
      defineProjection({ name: "x", from: [cart], eventTypes: ["StockReserved"], keyOf: () => "", initial: 0, evolve: (n) => n }),
      // @ts-expect-error a CartClosed carries a total, not an owner
      defineProjection({ name: "x", from: [cart], eventTypes: ["CartClosed"], keyOf: () => "", initial: "", evolve: (_, e) => e.data.owner }),
      defineProcessManager({
        name: "y",
        from: [inventory],
        eventTypes: ["StockReserved"],
        // @ts-expect-error a reservation's data has no cartId
        react: (event) => [{ type: "cart", command: "ConfirmCheckout", aggregateId: event.data.cartId, payload: {} }],
      }),
    ];
    expect(compileOnly).toBeTypeOf("function");
  });
});
