import { defineMicroservice } from "../decider.js";
import { commands, decide } from "./decide.js";
import { evolve, initialState, totalOf, type CartState } from "./state.js";

export const cart = defineMicroservice({
  name: "cart",
  partitionBy: "aggregate",
  schemaVersion: 1,
  commands,
  initialState,
  decide,
  evolve,
});

/** The public shape of a cart, as GET /carts/{cartId} answers it. */
export const view = (cartId: string, state: CartState, version: number) =>
  state.status === "empty"
    ? undefined
    : { cartId, status: state.status, owner: state.owner, items: state.items, total: totalOf(state.items), version };

export type { CartState, CartEvent, CartLine } from "./state.js";
export type { CartCommand } from "./decide.js";
