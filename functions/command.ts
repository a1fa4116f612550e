// POST /command: validate, take the next seq for the command's key, optionally wait for the outcome.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { appendCommand, MAX_WAIT_SECONDS, pendingOutcome, waitForOutcome } from "../core/commands.js";
import { parseEnvelope } from "../core/envelope.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, integerParam, jsonBody, lazy } from "./http.js";
import { callerOf } from "./identity.js";
import { MetricUnit, publishing } from "./metrics.js";
import { outcomeAnswer } from "./outcome.js";

const appendAndAnswer = async (deps: ApiDeps, event: APIGatewayProxyEventV2) => {
  const caller = callerOf(event, deps);
  const wait = integerParam(event.queryStringParameters?.wait, "wait", { min: 0, max: MAX_WAIT_SECONDS, fallback: 0 })!;
  const { envelope, microservice } = parseEnvelope(jsonBody(event), deps.app.microservices, caller);
  const { key, seq } = await appendCommand(deps.store, microservice, envelope, deps.clock());
  deps.metrics?.addDimensions({ microservice: microservice.name });
  deps.metrics?.addMetric("CommandsAppended", MetricUnit.Count, 1);
  const outcome = wait > 0 ? await waitForOutcome(deps.store, key, seq, wait * 1000, { feed: deps.outcomes }) : undefined;
  return outcomeAnswer(outcome ?? pendingOutcome(key, seq, envelope));
};

export const makeHandler = (deps: ApiDeps) => http(publishing(deps.metrics, (event: APIGatewayProxyEventV2) => appendAndAnswer(deps, event)));

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
