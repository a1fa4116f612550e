import type { AnyMicroservice } from "./decider.js";
import { cart } from "./cart/index.js";

/** Every microservice the engine serves, by the `type` clients send. */
export const microservices: Readonly<Record<string, AnyMicroservice>> = {
  cart: cart as unknown as AnyMicroservice,
};
