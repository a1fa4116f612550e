// The reference app this deployment runs: the shop's microservices, its read
// models and its checkout process manager. The engine derives every consumer,
// queue, route and permission from this one list (core/topology.ts).
import { account } from "./account/index.js";
import { defineApp, type RegistryOf } from "./app-definition.js";
import { cartSummary } from "./cart/cart-summary.js";
import { cart } from "./cart/index.js";
import { openCarts } from "./cart/open-carts.js";
import { checkout } from "./checkout/checkout.js";
import { inventory } from "./inventory/index.js";

export const app = defineApp({
  microservices: { cart, account, inventory },
  projections: [cartSummary, openCarts],
  processManagers: [checkout],
  subscribers: {
    /** The example SNS consumer: closed carts only. */
    "cart-closed-subscriber": { filterPolicy: { microservice: ["cart"], type: ["CartClosed"] } },
  },
});

/** The microservices with their types kept: what the typed client infers commands from. */
export type Registry = RegistryOf<typeof app>;
