// The whole local stack in one process: DynamoDB Local, the topology's tables,
// a poller per stream consumer, and the API's routes on one HTTP port.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from "aws-lambda";
import { fileURLToPath } from "node:url";
import { outcomeFeed } from "../core/commands.js";
import { pipelineMeter } from "../core/pipeline.js";
import { parkedReport } from "../core/redrive.js";
import { ensureProjectionVersions, kick, unfinishedJobs, type ReplayTimings } from "../core/replay-jobs.js";
import { documentClient, prefixedTableNames, type Store } from "../core/dynamo.js";
import type { ExpandedApp } from "../core/app-definition.js";
import { routeKeyOf } from "../core/routing.js";
import type { KinesisConsumerSpec, StreamConsumerSpec } from "../core/topology.js";
import type { FanoutDeps } from "../functions/deps.js";
import { makeHandler as makeFallback } from "../functions/fallback.js";
import { doorbell, tablesWritten, type Doorbell } from "./doorbell.js";
import { dynamoCheckpoints, laggingCheckpoints, type CheckpointStore, type LaggingCheckpoints } from "./checkpoints.js";
import { lockDataFolder } from "./data-lock.js";
import { aroundCalls, type Call } from "./middleware.js";
import { localAwsConfig, startDynamo } from "./dynamodb.js";
import { dynamoFailureDestination, type FailureDestination } from "./failures.js";
import { startFanout } from "./fanout.js";
import { KINESIS_PERSIST_INTERVAL_MS } from "./kinesis.js";
import { localHandlers } from "./handlers.js";
import { kinesisSource } from "./kinesis-source.js";
import { startSqsPoller } from "./sqs-poller.js";
import type { JwtSettings } from "./jwt.js";
import { startServer, type GatewayAuth } from "./server.js";
import { localPrincipal, type IamPrincipal } from "./sigv4.js";
import { dynamodbStreamSource, firstSequenceOfRun } from "./dynamodb-stream-source.js";
import { startShardPoller, type BatchHandler, type Poller, type ShardSource } from "./shard-poller.js";
import { createTables } from "./tables.js";
import { upcasterOf } from "../core/upcast.js";

export interface StackOptions {
  /** The app to run, expanded (`expandApp(app)` of core/app.ts for the reference app). */
  readonly app: ExpandedApp;
  readonly port: number;
  /** Where DynamoDB Local keeps its files; undefined keeps everything in memory. */
  readonly dataDir?: string;
  readonly dynamoPort?: number;
  readonly log?: (message: string, extra?: Record<string, unknown>) => void;
  /**
   * Users' tokens to require on `jwt` routes (`npm start -- --auth`); without
   * it the request body says who calls, as before authentication existed.
   */
  readonly jwt?: JwtSettings;
  /** Who may sign requests to `iam` routes (always checked); the credentials of localAwsConfig by default. */
  readonly principals?: readonly IamPrincipal[];
  /** Overrides the topology's retry count (tests of the failure destination). */
  readonly retryAttempts?: number;
  /** Wraps stream handlers (tests that inject failures). */
  readonly wrapStreamHandler?: (
    name: string,
    handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>,
  ) => (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
  /**
   * Sees every call the stack's clients make, before it is sent and after it
   * succeeded; throwing fails the call there (tests that inject faults at a
   * step, e.g. after a transaction committed).
   */
  readonly intercept?: (call: InterceptedCall) => void | Promise<void>;
  /** Replay jobs' timings (tests shorten the wait before a replaced generation is deleted). */
  readonly replayTimings?: Partial<ReplayTimings>;
  /** Wraps Kinesis consumers (tests that inject failures). */
  readonly wrapKinesisHandler?: (
    name: string,
    handler: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>,
  ) => (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;
}

export interface InterceptedCall extends Call {
  readonly client: "dynamodb" | "kinesis" | "s3" | "sns" | "sqs";
  readonly phase: "before" | "after";
}

export interface LocalStack {
  readonly url: string;
  readonly endpoints: Readonly<Record<"dynamodb" | "kinesis" | "sqs" | "sns" | "s3", string>>;
  readonly store: Store;
  readonly deps: FanoutDeps;
  /** Parked batches of the DynamoDB stream consumers, by consumer. */
  readonly failures: Readonly<Record<string, FailureDestination>>;
  /** Parked batches of the Kinesis consumers, by consumer. */
  readonly kinesisFailures: Readonly<Record<string, FailureDestination<KinesisStreamRecord>>>;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

export const TABLE_PREFIX = "ordinal-";

/** The console's build (console/, `npm run console:build`), served at /console. */
export const CONSOLE_DIR = fileURLToPath(new URL("../console/dist", import.meta.url));

/**
 * The least time between two polls of a shard by one consumer, by the stream
 * it reads. The commands' stream is read as soon as a write rings (the
 * sequencer is on every command's path). The fan-out's streams are read in
 * batches, out of the way of the next command, near Lambda's own rates (four
 * polls a second for a DynamoDB stream, about one for Kinesis).
 */
const POLL_SPACING_MS: Readonly<Partial<Record<StreamConsumerSpec["source"] | KinesisConsumerSpec["source"], number>>> = {
  commands: 0,
  events: 250,
  allEvents: 200,
};
/** How long an idle shard goes unread: the stack's own writes ring its doorbell, this is for anyone else's. */
const MAX_IDLE_MS = 5000;

/** How far the fan-out's checkpoints stay behind: past two of kinesis-local's writes to disk and the queues' snapshot. */
const CHECKPOINT_LAG_MS = 3 * KINESIS_PERSIST_INTERVAL_MS;

export const startStack = async (options: StackOptions): Promise<LocalStack> => {
  const log = options.log ?? (() => {});
  const unlock = options.dataDir === undefined ? () => {} : lockDataFolder(options.dataDir);
  const dynamo = await startDynamo({ dataDir: options.dataDir, port: options.dynamoPort }).catch((error) => {
    unlock();
    throw error;
  });
  const stops: (() => Promise<void>)[] = [async () => unlock(), () => dynamo.stop()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const config = localAwsConfig(dynamo.endpoint);
    const client = new DynamoDBClient(config);
    const db = documentClient(client);
    const streams = new DynamoDBStreamsClient(config);
    stops.push(async () => {
      client.destroy();
      streams.destroy();
    });
    const store: Store = { db, tables: prefixedTableNames(TABLE_PREFIX), upcast: upcasterOf(options.app.microservices) };
    const streamArns = await createTables(client, store.tables);
    // Before anything else writes: the stream consumers' checkpoints are judged against it.
    const firstOfRun = await firstSequenceOfRun(client, streams, `${TABLE_PREFIX}runs`);
    const { topology } = options.app;
    const fanout = await startFanout(TABLE_PREFIX, topology.queues, options.dataDir);
    stops.push(() => fanout.stop());
    // Every write the stack's clients make rings the doorbell of the stream it feeds: its poller reads at once.
    const tableBells = new Map<string, Doorbell>(Object.values(topology.streamConsumers).map((c) => [store.tables[c.source], doorbell()]));
    const allEventsBell = doorbell();
    aroundCalls(db, "ordinalDoorbells", { after: (call) => tablesWritten(call).forEach((table) => tableBells.get(table)?.ring()) });
    const queueBells = new Map(Object.values(topology.queueConsumers).map((c) => [fanout.names.queueUrls[c.source]!, doorbell()]));
    aroundCalls(fanout.clients.sqs, "ordinalDoorbells", { after: (call) => (call.name.startsWith("SendMessage") ? queueBells.get(call.input.QueueUrl)?.ring() : undefined) });
    aroundCalls(fanout.clients.kinesis, "ordinalDoorbells", { after: (call) => (call.name.startsWith("PutRecord") ? allEventsBell.ring() : undefined) });
    const { intercept } = options;
    if (intercept)
      for (const [name, intercepted] of Object.entries({ dynamodb: db, ...fanout.clients }))
        aroundCalls(intercepted, "ordinalIntercept", {
          before: (call) => intercept({ ...call, client: name as InterceptedCall["client"], phase: "before" }),
          after: (call) => intercept({ ...call, client: name as InterceptedCall["client"], phase: "after" }),
        });
    const endpoints = { dynamodb: dynamo.endpoint, ...fanout.endpoints };
    const stopping = new AbortController();
    // The pipeline's figures for GET /admin/pipeline: commands the stack's clients append, outcomes its sequencer commits.
    const lags: { consumer: string; source: string; poller: Poller }[] = [];
    const failureDestinations = new Map<string, FailureDestination<unknown>>();
    const meter = pipelineMeter({
      lags: () => lags.map(({ consumer, source, poller }) => ({ consumer, source, lagMs: poller.lagMs?.() ?? 0 })),
      // Every failure destination and dead-letter queue, as GET /admin/parked counts them.
      parked: async () => (await parkedReport(deps)).map(({ queue, count }) => ({ destination: queue, count })),
    });
    aroundCalls(db, "ordinalMeter", {
      after: (call) => {
        if ((call.name === "UpdateCommand" || call.name === "UpdateItemCommand") && call.input.TableName === store.tables.commands) meter.commands();
        // A decider's sends: counter updates in the sequencer's transaction.
        if (call.name === "TransactWriteCommand" || call.name === "TransactWriteItemsCommand")
          meter.commands((call.input.TransactItems ?? []).filter((item: { Update?: { TableName?: string } }) => item.Update?.TableName === store.tables.commands).length);
      },
    });
    const feed = outcomeFeed();
    const redrivers = new Map<string, () => Promise<{ redriven: number; remaining: number }>>();
    const deps: FanoutDeps = {
      store,
      app: options.app,
      clock: Date.now,
      endpoints,
      identityFromBody: !options.jwt,
      outcomes: {
        ...feed,
        publish: (outcomes) => {
          meter.outcomes(outcomes.map((o) => o.status));
          feed.publish(outcomes);
        },
      },
      pipeline: meter,
      timings: options.replayTimings,
      stopping: stopping.signal,
      ...fanout.clients,
      names: fanout.names,
      parked: {
        redrive: async (destination) => {
          const redrive = redrivers.get(destination);
          if (!redrive) throw new Error(`no consumer parks batches in '${destination}'`);
          return redrive();
        },
        list: async (destination) => {
          const parked = failureDestinations.get(destination);
          if (!parked) return undefined;
          return (await parked.list()).map(({ consumer, shardId, records, error, attempts, parkedAt }) => ({ consumer, shardId, records: records.length, error, attempts, ...(parkedAt ? { parkedAt } : {}) }));
        },
      },
    };
    const pollers: Poller[] = [];
    /**
     * A consumer of a sharded stream: its poller, with checkpoints kept under
     * `checkpointKey`, and its failure destination. Parked batches live in
     * DynamoDB Local, which keeps them across restarts (fauxqs keeps nothing);
     * on AWS they are in each consumer's SQS failure queue.
     */
    const settling: LaggingCheckpoints[] = [];
    const shardConsumer = async <R>(
      name: string,
      consumer: StreamConsumerSpec | KinesisConsumerSpec,
      source: ShardSource<R>,
      bell: Doorbell | undefined,
      handler: BatchHandler<R>,
    ): Promise<FailureDestination<R>> => {
      const parked = await dynamoFailureDestination<R>(client, db, `${TABLE_PREFIX}failures`, consumer.failureDestination, source.sequenceOf);
      redrivers.set(consumer.failureDestination, () => redriveParked(parked, handler));
      failureDestinations.set(consumer.failureDestination, parked as FailureDestination<unknown>);
      // A consumer that reads or writes Kinesis (or SNS, whose queues fauxqs keeps a second behind) has
      // checkpoints that mean something only for the stream they were taken with, and that lag behind what
      // the emulators may lose in a crash; a stream made anew (its state lost) starts them afresh.
      const onFanout = Boolean(consumer.uses?.kinesis || consumer.uses?.topics);
      const stored = await dynamoCheckpoints(client, db, `${TABLE_PREFIX}checkpoints`, onFanout ? `${name}@${fanout.allEventsCreatedAt}` : name);
      // Written behind the poller, newest first, never in a batch's way: a crash delivers the last
      // moments again, which every consumer de-duplicates (Lambda's event source mapping does the same).
      const lag = onFanout && options.dataDir !== undefined ? CHECKPOINT_LAG_MS : 0;
      const checkpoints = laggingCheckpoints(stored, lag, (error) => log("writing a checkpoint failed; retrying", { consumer: name, error: String(error) }));
      settling.push(checkpoints);
      const poller = startShardPoller({
          consumer: name,
          source,
          checkpoints,
          handler,
          batchSize: consumer.batchSize,
          batchingWindowMs: consumer.maxBatchingWindowSeconds * 1000,
          minPollIntervalMs: POLL_SPACING_MS[consumer.source] ?? 0,
          // The stack's own writes ring: an idle shard is polled only every few seconds, for writes from elsewhere.
          maxIdleMs: MAX_IDLE_MS,
          retryAttempts: options.retryAttempts ?? consumer.retryAttempts,
          onFailure: parked.park,
          doorbell: bell,
          log,
        });
      pollers.push(poller);
      lags.push({ consumer: name, source: consumer.source, poller });
      return parked;
    };

    const failures: Record<string, FailureDestination> = {};
    for (const [name, consumer] of Object.entries(topology.streamConsumers)) {
      const made = localHandlers.stream(deps, consumer);
      const handler = options.wrapStreamHandler ? options.wrapStreamHandler(name, made) : made;
      failures[name] = await shardConsumer(name, consumer, dynamodbStreamSource(streams, streamArns[consumer.source]!, firstOfRun), tableBells.get(store.tables[consumer.source]), handler);
    }
    const kinesisFailures: Record<string, FailureDestination<KinesisStreamRecord>> = {};
    const allEvents = kinesisSource(fanout.clients.kinesis, fanout.names.allEventsStream, fanout.allEventsStreamArn);
    for (const [name, consumer] of Object.entries(topology.kinesisConsumers)) {
      const made = localHandlers.kinesis(deps, consumer);
      const handler = options.wrapKinesisHandler ? options.wrapKinesisHandler(name, made) : made;
      kinesisFailures[name] = await shardConsumer(name, consumer, allEvents, allEventsBell, handler);
    }
    for (const [name, consumer] of Object.entries(topology.queueConsumers)) {
      pollers.push(
        startSqsPoller({
          consumer: name,
          client: fanout.clients.sqs,
          queueUrl: fanout.names.queueUrls[consumer.source]!,
          queueArn: fanout.queueArns[consumer.source]!,
          handler: localHandlers.queue(deps, consumer),
          batchSize: consumer.batchSize,
          concurrency: 4,
          doorbell: queueBells.get(fanout.names.queueUrls[consumer.source]!),
          log,
        }),
      );
    }
    stops.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
      // The emulators still run: once they have written what the last batches sent, the checkpoints can follow.
      await Promise.all(settling.map((c) => c.settle()));
    });

    const gateway = await startGateway(deps, options.port, { jwt: options.jwt, principals: options.principals ?? [localPrincipal] });
    stops.push(gateway.stop);
    // First of all at a stop: a replay runner's turn ends at its next step, and the job is handed on to the next run.
    stops.push(async () => stopping.abort());

    // What a deployment does: rebuild each projection whose version changed. And what a restart owes the
    // replay jobs the last run left unfinished: their runner back (the data lock says the last process is gone).
    for (const job of await unfinishedJobs(store)) await kick(deps, job.key, { takeOver: true });
    for (const job of await ensureProjectionVersions(deps)) log("a projection's version changed: rebuilding it", { projection: job.handler, replayId: job.key, reason: job.reason });

    return {
      url: gateway.url,
      endpoints,
      store,
      deps,
      failures,
      kinesisFailures,
      pids: [process.pid, dynamo.pid, ...fanout.pids],
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
};

/**
 * Hands each parked batch back to its consumer, oldest first, once; a batch the
 * consumer takes whole leaves the failure destination, the first one it does
 * not stops the redrive so a stream's records keep their order.
 */
const redriveParked = async <R>(destination: FailureDestination<R>, handler: BatchHandler<R>) => {
  const batches = await destination.list();
  let redriven = 0;
  for (const batch of batches) {
    const takenWhole = await handler({ Records: [...batch.records] }).then((response) => !response?.batchItemFailures?.length, () => false);
    if (!takenWhole) break;
    await destination.remove(batch);
    redriven++;
  }
  return { redriven, remaining: batches.length - redriven };
};

/**
 * The API's routes on one HTTP port, each handler built from `deps`, behind
 * the authorizers `auth` describes. The stack runs one; a benchmark can run a
 * second with other authorizers over the same tables.
 */
export const startGateway = async (deps: FanoutDeps, port: number, auth: GatewayAuth) => {
  const { routes } = deps.app.topology;
  const handlers = Object.fromEntries(routes.map((route) => [routeKeyOf(route), localHandlers.http(deps, route)]));
  const { server, port: bound } = await startServer(port, routes, handlers, makeFallback(deps), auth, { prefix: "/console", dir: CONSOLE_DIR });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { url: `http://localhost:${bound}`, port: bound, stop };
};
