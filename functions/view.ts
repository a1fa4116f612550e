// GET <view path>[?version=N | ?at=<ISO time>]: a microservice's shaped view of
// one aggregate (its definition's `view`), now or as it was. One handler for
// every view: ORDINAL_MICROSERVICE names the microservice.
import { NotFoundError } from "../core/errors.js";
import { streamIdOf } from "../core/keys.js";
import { handlerEnv, settingOf, type FunctionSpec } from "../core/topology.js";
import { apiDepsFromEnv, microserviceOf, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";
import { pointInTimeOf, readState } from "./point-in-time.js";

export const makeHandler = (deps: Pick<ApiDeps, "store" | "app">, spec: Pick<FunctionSpec, "environment">) => {
  const microservice = microserviceOf(deps, settingOf(spec.environment, handlerEnv.microservice));
  const view = microservice.view;
  if (!view) throw new Error(`microservice '${microservice.name}' declares no view`);
  const parameter = /\{(\w+)\}/.exec(view.path)![1]!;
  return http(async (event) => {
    const aggregateId = event.pathParameters?.[parameter] ?? "";
    const point = pointInTimeOf(event);
    const { state, version } = await readState(deps.store, microservice, streamIdOf(microservice.name, aggregateId), point);
    const body = view.render(aggregateId, state, version);
    if (body === undefined) throw new NotFoundError(`no ${view.noun ?? microservice.name} '${aggregateId}'${point ? " at that point" : ""}`);
    return { statusCode: 200, body };
  });
};

export const handler = lazy(() => makeHandler(apiDepsFromEnv(), { environment: process.env as Record<string, string> }));
