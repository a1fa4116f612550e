// GET /users/{user}/carts: the user's carts from the cart-summary projection.
import { ValidationError } from "../core/errors.js";
import { cartsOf } from "../core/projections/index.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";

export const makeHandler = (deps: Pick<ApiDeps, "store">) =>
  http(async (event) => {
    const user = event.pathParameters?.user ?? "";
    if (user === "" || user.length > 128) throw new ValidationError([{ field: "user", rule: "must be 1-128 characters" }]);
    return { statusCode: 200, body: { user, carts: await cartsOf(deps.store, user) } };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
