// GET /carts?status=open&idleFor=P14D: open carts idle for at least that long, longest idle first.
import { parseDuration } from "../core/iso8601.js";
import { ValidationError } from "../core/errors.js";
import { idleOpenCarts } from "../core/projections/index.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";

const known = new Set(["status", "idleFor"]);

export const makeHandler = (deps: Pick<ApiDeps, "store" | "clock">) =>
  http(async (event) => {
    const query = event.queryStringParameters ?? {};
    const unknown = Object.keys(query).filter((name) => !known.has(name));
    if (unknown.length > 0) throw new ValidationError(unknown.map((field) => ({ field, rule: "is not a known parameter; known: status, idleFor" })));
    if (query.status !== "open")
      throw new ValidationError([
        { field: "status", rule: query.status === undefined ? "is required: status=open" : `only 'open' is supported, not '${query.status}'` },
      ]);
    const idle = query.idleFor === undefined ? { ms: 0 } : parseDuration(query.idleFor);
    if ("error" in idle) throw new ValidationError([{ field: "idleFor", rule: idle.error }]);
    const carts = await idleOpenCarts(deps.store, deps.clock() - idle.ms);
    return {
      statusCode: 200,
      body: { carts: carts.map((c) => ({ cartId: c.cartId, owner: c.owner, lastActivityAt: new Date(c.lastActivityAt).toISOString() })) },
    };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
