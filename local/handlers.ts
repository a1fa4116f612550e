// The local runtime's wiring from the topology's handler paths to the handlers'
// factories: the same code Lambda runs, given local dependencies instead of env.
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, KinesisStreamBatchResponse, KinesisStreamEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { cartSummary, openCarts } from "../core/projections/index.js";
import type { FanoutDeps } from "../functions/deps.js";
import type { HttpHandler } from "../functions/http.js";
import * as account from "../functions/account.js";
import * as archiver from "../functions/archiver.js";
import * as cart from "../functions/cart.js";
import * as command from "../functions/command.js";
import * as events from "../functions/events.js";
import * as health from "../functions/health.js";
import * as inventory from "../functions/inventory.js";
import * as openCartsRoute from "../functions/open-carts.js";
import * as outcome from "../functions/outcome.js";
import * as processManager from "../functions/process-manager.js";
import { makeKinesisHandler, makeSqsHandler } from "../functions/projector.js";
import * as publisher from "../functions/publisher.js";
import * as redrive from "../functions/redrive.js";
import * as replay from "../functions/replay.js";
import * as sequencer from "../functions/sequencer.js";
import * as state from "../functions/state.js";
import * as userCarts from "../functions/user-carts.js";

type Factory<E, R> = (deps: FanoutDeps) => (event: E) => Promise<R>;

export const httpHandlers: Readonly<Record<string, (deps: FanoutDeps) => HttpHandler>> = {
  "functions/command.handler": command.makeHandler,
  "functions/outcome.handler": outcome.makeHandler,
  "functions/cart.handler": cart.makeHandler,
  "functions/inventory.handler": inventory.makeHandler,
  "functions/events.handler": events.makeHandler,
  "functions/health.handler": health.makeHandler,
  "functions/state.handler": state.makeHandler,
  "functions/account.handler": account.makeHandler,
  "functions/user-carts.handler": userCarts.makeHandler,
  "functions/open-carts.handler": openCartsRoute.makeHandler,
  "functions/replay.handler": replay.makeHandler,
  "functions/redrive.handler": redrive.makeHandler,
};

export const streamHandlers: Readonly<Record<string, Factory<DynamoDBStreamEvent, DynamoDBBatchResponse>>> = {
  "functions/sequencer.handler": sequencer.makeHandler,
  "functions/publisher.handler": publisher.makeHandler,
};

export const kinesisHandlers: Readonly<Record<string, Factory<KinesisStreamEvent, KinesisStreamBatchResponse>>> = {
  "functions/archiver.handler": archiver.makeHandler,
  "functions/projector.cartSummary": makeKinesisHandler(cartSummary),
  "functions/projector.openCarts": makeKinesisHandler(openCarts),
  "functions/process-manager.checkout": processManager.makeCheckout,
};

export const queueHandlers: Readonly<Record<string, Factory<SQSEvent, SQSBatchResponse>>> = {
  "functions/projector.cartSummaryReplay": makeSqsHandler(cartSummary),
  "functions/projector.openCartsReplay": makeSqsHandler(openCarts),
};
