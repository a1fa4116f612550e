// GET <projection route>: a route a projection declares over its read models.
// One handler for every such route: ORDINAL_PROJECTION and ORDINAL_ROUTE name it.
import { partOf } from "../core/app-definition.js";
import { readModelsOf } from "../core/projections/index.js";
import { handlerEnv, settingOf, type FunctionSpec } from "../core/topology.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";

export const makeHandler = (deps: Pick<ApiDeps, "store" | "app" | "clock">, spec: Pick<FunctionSpec, "environment">) => {
  const projection = partOf(deps.app.projections, "projection", settingOf(spec.environment, handlerEnv.projection));
  const path = settingOf(spec.environment, handlerEnv.route);
  const route = projection.routes?.find((r) => r.path === path);
  if (!route) throw new Error(`projection '${projection.name}' declares no route ${path}`);
  const readModels = readModelsOf(deps.store, projection);
  return http((event) =>
    route.answer({
      pathParameters: (event.pathParameters ?? {}) as Record<string, string>,
      query: event.queryStringParameters ?? {},
      now: deps.clock(),
      readModels,
    }),
  );
};

export const handler = lazy(() => makeHandler(apiDepsFromEnv(), { environment: process.env as Record<string, string> }));
