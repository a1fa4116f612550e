// GET /admin/parked: every failure destination and dead-letter queue, with
// what it holds (the batches and their errors where the deployment keeps
// them whole, else a count): what `POST /admin/redrive` can send back.
import { parkedReport, type RedriveDeps } from "../core/redrive.js";
import type { RouteSpec } from "../core/topology.js";
import { fanoutDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";
import { authorizeRoute } from "./identity.js";

export const makeHandler = (deps: RedriveDeps & Pick<ApiDeps, "identityFromBody">, route: Pick<RouteSpec, "roles">) =>
  http(async (event) => {
    authorizeRoute(event, deps, route);
    return { statusCode: 200, body: { queues: await parkedReport(deps) } };
  });

export const handler = lazy(() => makeHandler(fanoutDepsFromEnv(), { roles: ["admin"] }));
