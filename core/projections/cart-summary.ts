// cart-summary: every cart with its owner, status, item count and total.
// The read model is the cart's own state, folded by the cart's own evolve,
// so the summary can never disagree with GET /carts/{cartId}.
import { cartTotal, evolve, initialState, type CartEvent, type CartState } from "../cart/state.js";
import type { Store } from "../dynamo.js";
import { defineProjection } from "./projection.js";
import { queryReadModels } from "./read-models.js";

export const cartSummary = defineProjection<CartState>({
  name: "cart-summary",
  microservice: "cart",
  eventTypes: ["CartOpened", "ItemAdded", "ItemRemoved", "CartClosed", "CheckoutStarted", "CheckoutConfirmed", "CheckoutFailed"],
  keyOf: (event) => event.aggregateId,
  initial: initialState,
  evolve: (state, event) => evolve(state, { type: event.type, data: event.data } as CartEvent),
});

export interface CartSummary {
  readonly cartId: string;
  readonly status: Exclude<CartState["status"], "empty">;
  /** Units across all lines, as a shopper counts them. */
  readonly itemCount: number;
  /** Integer cents. */
  readonly total: number;
}

export const summaryOf = (cartId: string, state: CartState): CartSummary | undefined =>
  state.status === "empty"
    ? undefined
    : {
        cartId,
        status: state.status,
        itemCount: state.items.reduce((sum, line) => sum + line.quantity, 0),
        total: cartTotal(state),
      };

/**
 * A user's carts, in cart id order. Items are keyed by cart id alone, because
 * only CartOpened names the owner and every later event must find its item
 * without reading the cart first; so this reads the whole projection and
 * filters by owner in DynamoDB. Cost grows with all carts, not one user's:
 * an index on owner (or an owner-keyed copy of each item) is the way out.
 */
export const cartsOf = async (store: Store, user: string): Promise<CartSummary[]> => {
  const items = await queryReadModels(store, cartSummary, {
    FilterExpression: "#model.#owner = :owner",
    ExpressionAttributeNames: { "#model": "model", "#owner": "owner" },
    ExpressionAttributeValues: { ":owner": user },
  });
  return items.flatMap((item) => summaryOf(item.key, item.model) ?? []);
};
