// The local runtime's wiring from the topology's handler paths to the handlers'
// factories: the same code Lambda runs, given local dependencies instead of env.
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import type { ApiDeps } from "../functions/deps.js";
import type { HttpHandler } from "../functions/http.js";
import * as account from "../functions/account.js";
import * as cart from "../functions/cart.js";
import * as command from "../functions/command.js";
import * as events from "../functions/events.js";
import * as health from "../functions/health.js";
import * as outcome from "../functions/outcome.js";
import * as sequencer from "../functions/sequencer.js";
import * as state from "../functions/state.js";

export const httpHandlers: Readonly<Record<string, (deps: ApiDeps) => HttpHandler>> = {
  "functions/command.handler": command.makeHandler,
  "functions/outcome.handler": outcome.makeHandler,
  "functions/cart.handler": cart.makeHandler,
  "functions/events.handler": events.makeHandler,
  "functions/health.handler": health.makeHandler,
  "functions/state.handler": state.makeHandler,
  "functions/account.handler": account.makeHandler,
};

export const streamHandlers: Readonly<
  Record<string, (deps: ApiDeps) => (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>>
> = {
  "functions/sequencer.handler": sequencer.makeHandler,
};
