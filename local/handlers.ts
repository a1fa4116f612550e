// The local runtime's handlers: the same factories Lambda runs, given local
// dependencies instead of the environment. The engine has a fixed set of
// generic handlers; which projection, manager or view one runs comes from its
// topology entry (`environment`), so an app's parts need no entry here.
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, KinesisStreamBatchResponse, KinesisStreamEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { FunctionSpec, RouteSpec } from "../core/topology.js";
import type { FanoutDeps } from "../functions/deps.js";
import type { HttpHandler } from "../functions/http.js";
import * as archiver from "../functions/archiver.js";
import * as catalog from "../functions/catalog.js";
import * as me from "../functions/me.js";
import * as parked from "../functions/parked.js";
import * as pipeline from "../functions/pipeline.js";
import * as command from "../functions/command.js";
import * as events from "../functions/events.js";
import * as health from "../functions/health.js";
import * as outcome from "../functions/outcome.js";
import * as processManager from "../functions/process-manager.js";
import * as projector from "../functions/projector.js";
import * as publisher from "../functions/publisher.js";
import * as query from "../functions/query.js";
import * as redrive from "../functions/redrive.js";
import * as replayer from "../functions/replayer.js";
import * as replays from "../functions/replays.js";
import * as sequencer from "../functions/sequencer.js";
import { snapshotCache } from "../core/sequencer/sequencer.js";
import * as state from "../functions/state.js";
import * as view from "../functions/view.js";

type Factory<E, R> = (deps: FanoutDeps, spec: FunctionSpec) => (event: E) => Promise<R>;

/** By handler path, as the topology (and SST) names them. */
const http: Readonly<Record<string, (deps: FanoutDeps, spec: RouteSpec) => HttpHandler>> = {
  "functions/command.handler": command.makeHandler,
  "functions/outcome.handler": outcome.makeHandler,
  "functions/events.handler": events.makeHandler,
  "functions/health.handler": health.makeHandler,
  "functions/state.handler": state.makeHandler,
  "functions/view.handler": view.makeHandler,
  "functions/query.handler": query.makeHandler,
  "functions/replays.start": replays.makeStart,
  "functions/replays.list": replays.makeList,
  "functions/replays.status": replays.makeStatus,
  "functions/replays.cancel": replays.makeCancel,
  "functions/redrive.handler": redrive.makeHandler,
  "functions/catalog.handler": catalog.makeHandler,
  "functions/me.handler": me.makeHandler,
  "functions/pipeline.handler": pipeline.makeHandler,
  "functions/parked.handler": parked.makeHandler,
};

const stream: Readonly<Record<string, Factory<DynamoDBStreamEvent, DynamoDBBatchResponse>>> = {
  "functions/sequencer.handler": (deps) => sequencer.makeHandler({
      store: deps.store,
      microservices: deps.app.microservices,
      clock: deps.clock,
      snapshots: snapshotCache(),
      onCommitted: deps.outcomes?.publish,
    }),
  "functions/publisher.handler": publisher.makeHandler,
};

const kinesis: Readonly<Record<string, Factory<KinesisStreamEvent, KinesisStreamBatchResponse>>> = {
  "functions/archiver.handler": archiver.makeHandler,
  "functions/projector.live": projector.makeLive,
  "functions/process-manager.handler": processManager.makeHandler,
};

const queue: Readonly<Record<string, Factory<SQSEvent, SQSBatchResponse>>> = {
  "functions/projector.replay": projector.makeReplay,
  // One turn of a job at a time, shorter than the replays queue's local visibility timeout.
  "functions/replayer.handler": (deps) => replayer.makeHandler({ ...deps, budgetMs: 10_000, signal: deps.stopping }),
};

const lookup = <F>(table: Readonly<Record<string, F>>, kind: string, handler: string): F => {
  const factory = table[handler];
  if (!factory) throw new Error(`no local ${kind} handler '${handler}': the engine's generic handlers are ${Object.keys(table).join(", ")}`);
  return factory;
};

/** The handler a topology entry names, built with `deps` and told what it runs. */
export const localHandlers = {
  http: (deps: FanoutDeps, spec: RouteSpec) => lookup(http, "HTTP", spec.handler)(deps, spec),
  stream: (deps: FanoutDeps, spec: FunctionSpec) => lookup(stream, "DynamoDB stream", spec.handler)(deps, spec),
  kinesis: (deps: FanoutDeps, spec: FunctionSpec) => lookup(kinesis, "Kinesis", spec.handler)(deps, spec),
  queue: (deps: FanoutDeps, spec: FunctionSpec) => lookup(queue, "SQS", spec.handler)(deps, spec),
};

/** Every handler path the local runtime can run, by kind (test/local-wiring.unit.test.ts checks the topology against them). */
export const localHandlerPaths = {
  http: Object.keys(http),
  stream: Object.keys(stream),
  kinesis: Object.keys(kinesis),
  queue: Object.keys(queue),
} as const;
