// GET /accounts/{accountId}[?version=N | ?at=<ISO time>]: an account now, or as it was.
import { view, type AccountState } from "../core/account/index.js";
import { NotFoundError } from "../core/errors.js";
import { streamIdOf } from "../core/keys.js";
import { apiDepsFromEnv, microserviceOf, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";
import { pointInTimeOf, readState } from "./point-in-time.js";

export const makeHandler = (deps: ApiDeps) =>
  http(async (event) => {
    const accountId = event.pathParameters?.accountId ?? "";
    const microservice = microserviceOf(deps, "account");
    const { state, version } = await readState(deps.store, microservice, streamIdOf("account", accountId), pointInTimeOf(event));
    const body = view(accountId, state as AccountState, version);
    if (!body) throw new NotFoundError(`no account '${accountId}'${event.queryStringParameters ? " at that point" : ""}`);
    return { statusCode: 200, body };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
