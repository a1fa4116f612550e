// GET /admin/pipeline: commands in and outcomes by status per second over the
// last minutes, each consumer's lag, and what each failure destination holds,
// from the deployment's PipelineFigures (the local stack meters itself). On
// AWS the same figures are CloudWatch's (the dashboard); this route says so.
import type { PipelineFigures } from "../core/pipeline.js";
import type { RouteSpec } from "../core/topology.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";
import { authorizeRoute } from "./identity.js";

export const makeHandler = (deps: Pick<ApiDeps, "identityFromBody"> & { readonly pipeline?: PipelineFigures }, route: Pick<RouteSpec, "roles">) =>
  http(async (event) => {
    authorizeRoute(event, deps, route);
    if (!deps.pipeline)
      return {
        statusCode: 501,
        body: { error: "NotImplemented", message: "this deployment keeps its pipeline's figures in CloudWatch: see the Ordinal dashboard (IteratorAge, Outcomes, CommandsAppended)" },
      };
    return { statusCode: 200, body: { ...(await deps.pipeline.report()) } };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv(), { roles: ["admin"] }));
