import { account } from "./account/index.js";
import { cart } from "./cart/index.js";
import type { AnyMicroservice } from "./decider.js";
import { inventory } from "./inventory/index.js";

/** The microservices with their types kept: what the typed client infers commands from. */
export const registry = { cart, account, inventory } as const;
export type Registry = typeof registry;

const erase = (microservice: object) => microservice as AnyMicroservice;

/** Every microservice the engine serves, by the `type` clients send. */
export const microservices: Readonly<Record<string, AnyMicroservice>> = {
  cart: erase(cart),
  account: erase(account),
  inventory: erase(inventory),
};
