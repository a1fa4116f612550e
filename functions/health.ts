// GET /health: the stack is up, and where its services are.
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";

export const makeHandler = (deps: Pick<ApiDeps, "endpoints">) =>
  http(async () => ({ statusCode: 200, body: { status: "ok", endpoints: deps.endpoints } }));

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
