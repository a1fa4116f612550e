// The reference app (core/app.ts), expanded as the stacks and the local
// runtime run it: what tests of "every microservice / projection / consumer"
// derive their sets from.
import { app } from "../../core/app.js";
import { expandApp } from "../../core/app-definition.js";
import type { Store } from "../../core/dynamo.js";
import { makeLive, makeReplay } from "../../functions/projector.js";
import { makeHandler as makeQuery } from "../../functions/query.js";

export const referenceApp = expandApp(app);
export const { topology } = referenceApp;
export const { microservices } = referenceApp;

/** The topology's route with this key (`GET /carts/{cartId}`): what a generic handler is built with. */
export const routeSpec = (key: string) => {
  const route = topology.routes.find((r) => `${r.method} ${r.path}` === key);
  if (!route) throw new Error(`no route ${key} in the reference app's topology`);
  return route;
};

/** A projection's live (Kinesis) consumer as the stack builds it: the generic projector, told which projection. */
export const liveProjector = (name: string, store: Store) => makeLive({ store, app: referenceApp }, topology.kinesisConsumers[name]!);

/** A projection's replay (SQS FIFO) consumer as the stack builds it. */
export const replayProjector = (name: string, store: Store) => makeReplay({ store, app: referenceApp }, topology.queueConsumers[`${name}-replay`]!);

/** A projection's GET route as the stack builds it. */
export const projectionRoute = (key: string, store: Store, clock: () => number = Date.now) =>
  makeQuery({ store, app: referenceApp, clock }, routeSpec(key));
