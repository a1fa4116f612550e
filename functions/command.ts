// POST /command: validate, take the next seq for the command's key, optionally wait for the outcome.
import { appendCommand, MAX_WAIT_SECONDS, pendingOutcome, waitForOutcome } from "../core/commands.js";
import { parseEnvelope } from "../core/envelope.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, integerParam, jsonBody, lazy } from "./http.js";
import { callerOf } from "./identity.js";
import { outcomeAnswer } from "./outcome.js";

export const makeHandler = (deps: ApiDeps) =>
  http(async (event) => {
    const caller = callerOf(event, deps);
    const wait = integerParam(event.queryStringParameters?.wait, "wait", { min: 0, max: MAX_WAIT_SECONDS, fallback: 0 })!;
    const { envelope, microservice } = parseEnvelope(jsonBody(event), deps.app.microservices, caller);
    const { key, seq } = await appendCommand(deps.store, microservice, envelope, deps.clock());
    const outcome = wait > 0 ? await waitForOutcome(deps.store, key, seq, wait * 1000) : undefined;
    return outcomeAnswer(outcome ?? pendingOutcome(key, seq, envelope));
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
