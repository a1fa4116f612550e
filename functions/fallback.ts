// Every request no route took: 405 when the path exists with another method, else 404; JSON either way.
import { MethodNotAllowedError, NotFoundError } from "../core/errors.js";
import { matchRoute } from "../core/routing.js";
import { http } from "./http.js";

export const handler = http(async (event) => {
  const { method, path } = event.requestContext.http;
  const match = matchRoute(method, path);
  if (match.kind === "wrong-method")
    throw new MethodNotAllowedError(`${method} is not allowed on ${path}; allowed: ${match.allowed.join(", ")}`, match.allowed);
  throw new NotFoundError(`no route ${method} ${path}`);
});
