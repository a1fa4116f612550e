// Every request no route took: 405 when the path exists with another method, else 404; JSON either way.
import { MethodNotAllowedError, NotFoundError } from "../core/errors.js";
import { routeMatcher } from "../core/routing.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";

export const makeHandler = (deps: Pick<ApiDeps, "app">) => {
  const matchRoute = routeMatcher(deps.app.topology.routes);
  return http(async (event) => {
    const { method, path } = event.requestContext.http;
    const match = matchRoute(method, path);
    if (match.kind === "wrong-method")
      throw new MethodNotAllowedError(`${method} is not allowed on ${path}; allowed: ${match.allowed.join(", ")}`, match.allowed);
    throw new NotFoundError(`no route ${method} ${path}`);
  });
};

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
