import { defineMicroservice } from "../decider.js";
import { commands, decide, roles } from "./decide.js";
import { cartTotal, evolve, initialState, upcasters, type CartState } from "./state.js";

/** The public shape of a cart, as GET /carts/{cartId} answers it. */
export const view = (cartId: string, state: CartState, version: number) =>
  state.status === "empty"
    ? undefined
    : {
        cartId,
        status: state.status,
        owner: state.owner,
        items: state.items,
        total: cartTotal(state),
        ...(state.status === "checking-out" ? { reservationId: state.reservationId, warehouse: state.warehouse } : {}),
        version,
      };

export const cart = defineMicroservice({
  name: "cart",
  partitionBy: "aggregate",
  // 2: cart lines carry a currency (ItemAdded v2); snapshots of 1 are rebuilt by folding the upcast log.
  schemaVersion: 2,
  commands,
  roles,
  initialState,
  decide,
  evolve,
  upcasters,
  view: { path: "/carts/{cartId}", render: view },
});

export type { CartState, CartEvent, CartLine, ItemAddedV1 } from "./state.js";
export { DEFAULT_CURRENCY } from "./state.js";
export type { CartCommand } from "./decide.js";
export { cartIdOfReservation, reservationIdOf, DEFAULT_WAREHOUSE } from "./decide.js";
