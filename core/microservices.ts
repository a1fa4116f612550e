import { account } from "./account/index.js";
import { cart } from "./cart/index.js";
import type { AnyMicroservice } from "./decider.js";

const erase = (microservice: object) => microservice as AnyMicroservice;

/** Every microservice the engine serves, by the `type` clients send. */
export const microservices: Readonly<Record<string, AnyMicroservice>> = {
  cart: erase(cart),
  account: erase(account),
};
