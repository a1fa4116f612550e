// cart-summary: every cart with its owner, status, item count and total.
// The read model is the cart's own state, folded by the cart's own evolve,
// so the summary can never disagree with GET /carts/{cartId}.
import { ValidationError } from "../errors.js";
import { defineProjection, type ReadModels } from "../projections/projection.js";
import { cart } from "./index.js";
import { cartEventTypes, cartTotal, evolve, initialState, type CartState } from "./state.js";

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
export const cartsOf = async (readModels: ReadModels<CartState>, user: string): Promise<CartSummary[]> => {
  const items = await readModels.query({
    FilterExpression: "#model.#owner = :owner",
    ExpressionAttributeNames: { "#model": "model", "#owner": "owner" },
    ExpressionAttributeValues: { ":owner": user },
  });
  return items.flatMap((item) => summaryOf(item.key, item.model) ?? []);
};

export const cartSummary = defineProjection({
  name: "cart-summary",
  from: [cart],
  eventTypes: cartEventTypes,
  keyOf: (event) => event.aggregateId,
  initial: initialState,
  evolve: (state, event) => evolve(state, event),
  routes: [
    {
      // GET /users/{user}/carts: the user's carts.
      path: "/users/{user}/carts",
      answer: async ({ pathParameters, readModels }) => {
        const user = pathParameters.user ?? "";
        if (user === "" || user.length > 128) throw new ValidationError([{ field: "user", rule: "must be 1-128 characters" }]);
        return { statusCode: 200, body: { user, carts: await cartsOf(readModels, user) } };
      },
    },
  ],
});
