// GET /inventory/{warehouse}: a warehouse's stock and open reservations, from its snapshot.
import { readAggregate } from "../core/aggregates.js";
import { NotFoundError } from "../core/errors.js";
import { view, type InventoryState } from "../core/inventory/index.js";
import { streamIdOf } from "../core/keys.js";
import { apiDepsFromEnv, microserviceOf, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";

export const makeHandler = (deps: ApiDeps) =>
  http(async (event) => {
    const warehouse = event.pathParameters?.warehouse ?? "";
    const aggregate = await readAggregate(deps.store, microserviceOf(deps, "inventory"), streamIdOf("inventory", warehouse));
    // Every warehouse "exists" with no stock; one that never had an event is more likely a typo.
    if (aggregate.version === 0) throw new NotFoundError(`no warehouse '${warehouse}'`);
    return { statusCode: 200, body: view(warehouse, aggregate.state as InventoryState, aggregate.version) };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
