// GET /carts/{cartId}: the cart from its snapshot.
import { readAggregate } from "../core/aggregates.js";
import { view, type CartState } from "../core/cart/index.js";
import { NotFoundError } from "../core/errors.js";
import { streamIdOf } from "../core/keys.js";
import { apiDepsFromEnv, microserviceOf, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";

export const makeHandler = (deps: ApiDeps) =>
  http(async (event) => {
    const cartId = event.pathParameters?.cartId ?? "";
    const aggregate = await readAggregate(deps.store, microserviceOf(deps, "cart"), streamIdOf("cart", cartId));
    const body = view(cartId, aggregate.state as CartState, aggregate.version);
    if (!body) throw new NotFoundError(`no cart '${cartId}'`);
    return { statusCode: 200, body };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
