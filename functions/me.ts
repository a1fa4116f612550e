// GET /me: who the API takes the caller for, as the console shows it and
// decides which actions to offer (the API still checks each request). On the
// open local stack (no --auth) the body of a command says who sends it: `open`.
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";
import { callerOf } from "./identity.js";

export const makeHandler = (deps: Pick<ApiDeps, "identityFromBody">) =>
  http(async (event) => {
    const caller = callerOf(event, deps);
    return { statusCode: 200, body: caller ? { open: false, ...caller } : { open: true, user: null, roles: [] } };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
