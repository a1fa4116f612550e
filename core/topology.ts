// The one description of Ordinal's resources: the engine's own (tables, the
// all-events stream, archive, topic, sequencer, publisher, archiver, routes)
// and `expandTopology`, which adds what an app definition needs (each
// projection's consumer and queues, each process manager's consumer, views,
// projection routes, subscribers). `stacks/` builds CloudFormation from the
// expanded topology and `local/` the emulated stack, so the two cannot drift
// (test/stacks.infra.test.ts compares it with the synthesized template).
import type { AppDefinition } from "./app-definition.js";

export type KeyType = "string" | "number";

export interface TableSpec {
  /** Logical name; the physical name is chosen by the stack or the local runtime. */
  readonly name: string;
  readonly partitionKey: { readonly name: string; readonly type: KeyType };
  readonly sortKey?: { readonly name: string; readonly type: KeyType };
  readonly stream?: "new_image" | "new_and_old_images";
  readonly pointInTimeRecovery?: boolean;
  /** Refuse to delete the table (a stack deletion or a mistaken console click): the tables no replay can rebuild. */
  readonly deletionProtection?: boolean;
  /** Environment variable through which functions receive the physical name. */
  readonly env: string;
}

export const tables = {
  /** One item per command key: the atomic `seq` counter plus the latest command. */
  commands: {
    name: "commands",
    partitionKey: { name: "key", type: "string" },
    stream: "new_image",
    // The latest command per key, and each key's counter: lost counters would reissue sequence numbers.
    pointInTimeRecovery: true,
    env: "COMMANDS_TABLE",
  },
  /** The immutable log: one item per event, versions 1..n per stream. */
  events: {
    name: "events",
    partitionKey: { name: "streamId", type: "string" },
    sortKey: { name: "version", type: "number" },
    stream: "new_image",
    pointInTimeRecovery: true,
    deletionProtection: true,
    env: "EVENTS_TABLE",
  },
  /** Latest state per aggregate, plus the last command seq applied to it. */
  snapshots: {
    name: "snapshots",
    partitionKey: { name: "streamId", type: "string" },
    pointInTimeRecovery: true,
    env: "SNAPSHOTS_TABLE",
  },
  /** Exactly one outcome per (command key, seq). */
  outcomes: {
    name: "outcomes",
    partitionKey: { name: "key", type: "string" },
    sortKey: { name: "seq", type: "number" },
    pointInTimeRecovery: true,
    deletionProtection: true,
    env: "OUTCOMES_TABLE",
  },
  /** Client request ids (microservice, user, id) already taken, for de-duplication. */
  requests: {
    name: "requests",
    partitionKey: { name: "requestKey", type: "string" },
    pointInTimeRecovery: true,
    env: "REQUESTS_TABLE",
  },
  /** Read models built by projections: one item per (projection, key). */
  projections: {
    name: "projections",
    partitionKey: { name: "projection", type: "string" },
    sortKey: { name: "key", type: "string" },
    env: "PROJECTIONS_TABLE",
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof tables;

/**
 * What a function may do to a table: the stacks turn this into IAM actions.
 * `scan` is `read` plus Scan; `manage` is `readwrite` plus deletes, for the
 * items an engine part keeps and removes (the archive's pending markers, a
 * retired generation of read models, a cancelled rebuild's).
 */
export type Access = "read" | "write" | "readwrite" | "scan" | "manage";

export interface FunctionSpec {
  /** Handler path as SST expects it: file without extension + export name. */
  readonly handler: string;
  /** Settings of a generic handler (which projection, manager or view it runs): its environment on AWS. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly tables: Partial<Record<TableName, Access>>;
  /** Lambda's timeout; the stacks' default when absent. */
  readonly timeoutSeconds?: number;
  /** Other resources it uses, and how: the stacks grant exactly these. */
  readonly uses?: {
    readonly kinesis?: Partial<Record<KinesisStreamName, "read" | "write">>;
    readonly buckets?: Partial<Record<BucketName, "read" | "write">>;
    readonly topics?: Partial<Record<TopicName, "publish">>;
    /** `feed`: send, and watch it drain (its depth); `count`: its depth only. */
    readonly queues?: Partial<Record<QueueName, "send" | "consume" | "feed" | "count">>;
    /** A table's stream, read directly (not as an event source): a redrive re-reading a parked batch. */
    readonly streams?: Partial<Record<TableName, "read">>;
    /** Consumers it invokes, by consumer name: a redrive handing a re-read batch back. */
    readonly consumers?: Readonly<Record<string, "invoke">>;
  };
}

/** The Kinesis "all events" stream: every event, partition key = stream id. */
export const kinesisStreams = {
  allEvents: { name: "all-events", shards: 2, retentionHours: 24 * 7, env: "ALL_EVENTS_STREAM" },
} as const;
export type KinesisStreamName = keyof typeof kinesisStreams;

/** The long-term archive: gzip JSON-lines objects, keys derived from the data. */
export const buckets = {
  archive: { name: "archive", env: "ARCHIVE_BUCKET" },
} as const;
export type BucketName = keyof typeof buckets;

/** Every event, with message attributes `microservice` and `type` for subscription filters. */
export const topics = {
  events: { name: "events", env: "EVENTS_TOPIC" },
} as const;
export type TopicName = keyof typeof topics;

/** A queue, by the name the topology gives it (the key of `Topology.queues`). */
export type QueueName = string;

export interface QueueSpec {
  readonly name: string;
  readonly fifo?: boolean;
  readonly env: string;
  /** Where messages go after `maxReceiveCount` failed receives. */
  readonly deadLetter?: { readonly queue: string; readonly maxReceiveCount: number };
  /** An SNS subscription that feeds this queue; what SNS cannot deliver goes to the queue's `deadLetter` too. */
  readonly subscription?: { readonly topic: TopicName; readonly filterPolicy: Record<string, readonly string[]> };
  /**
   * It holds what failed (a failure destination, a dead-letter queue): any
   * message in it raises an alarm, and it is kept when the stack is deleted.
   */
  readonly parks?: true;
  /** How long a received message stays invisible on the local stack (2 s when absent: failed messages come back soon). */
  readonly localVisibilityTimeoutSeconds?: number;
}

/** Queues of the engine itself: its stream consumers' failure destinations. */
export const engineQueues: Readonly<Record<string, QueueSpec>> = {
  "sequencer-failures": { name: "sequencer-failures", env: "SEQUENCER_FAILURES_QUEUE", parks: true },
  "publisher-failures": { name: "publisher-failures", env: "PUBLISHER_FAILURES_QUEUE", parks: true },
  "archiver-failures": { name: "archiver-failures", env: "ARCHIVER_FAILURES_QUEUE", parks: true },
  // Replay jobs handed from runner to runner (functions/replayer.ts): a message per job, `{replayId}`.
  replays: {
    name: "replays",
    env: "REPLAYS_QUEUE",
    deadLetter: { queue: "replays-dlq", maxReceiveCount: 5 },
    // Longer than a local runner's turn (ReplayerDeps.budgetMs), so one job is not run twice at once.
    localVisibilityTimeoutSeconds: 30,
  },
  "replays-dlq": { name: "replays-dlq", env: "REPLAYS_DLQ", parks: true },
};

/**
 * How a route's caller proves who it is. `jwt`: users, with a bearer token
 * (an API Gateway JWT authorizer on AWS; `npm start -- --auth` locally).
 * `iam`: services, with SigV4-signed requests.
 */
export type RouteAuth = "jwt" | "iam";

export interface RouteSpec extends FunctionSpec {
  readonly method: "GET" | "POST" | "DELETE";
  /** API Gateway path syntax: `{name}` is a path parameter. */
  readonly path: string;
  /** Defaults to `jwt`: no route is left open on AWS. */
  readonly auth?: RouteAuth;
  /** The caller needs one of these roles (403 otherwise); any authenticated caller when absent. */
  readonly roles?: readonly string[];
}

/** The engine's own routes; the app adds views, projection routes, and the replay and redrive grants. */
const engineRoutes: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/command",
    handler: "functions/command.handler",
    // Writes commands only; reads outcomes for ?wait. Never writes events.
    tables: { commands: "write", outcomes: "read" },
  },
  {
    method: "POST",
    path: "/service/command",
    handler: "functions/command.handler",
    // The same handler for services: the caller is the IAM principal that signed the request.
    auth: "iam",
    tables: { commands: "write", outcomes: "read" },
  },
  // Reads events too: the outcome shows the chain of commands and events that led to the command.
  { method: "GET", path: "/commands/{key}/{seq}", handler: "functions/outcome.handler", tables: { outcomes: "read", commands: "read", events: "read" } },
  { method: "GET", path: "/streams/{streamId}/events", handler: "functions/events.handler", tables: { events: "read" } },
  { method: "GET", path: "/streams/{streamId}/state", handler: "functions/state.handler", tables: { snapshots: "read", events: "read" } },
  { method: "GET", path: "/health", handler: "functions/health.handler", tables: {} },
  // What may be sent: each microservice's commands and their payloads' JSON Schemas (the console's form).
  { method: "GET", path: "/microservices", handler: "functions/catalog.handler", tables: {} },
  // Who the API takes the caller for (the console's roles).
  { method: "GET", path: "/me", handler: "functions/me.handler", tables: {} },
];

/** Answers every request no route matched: 404 or 405, always JSON. */
export const fallbackRoute: FunctionSpec = { handler: "functions/fallback.handler", tables: {} };

/** A consumer of a sharded stream (DynamoDB Streams or Kinesis), as an event source mapping runs it. */
export interface ShardConsumerSpec extends FunctionSpec {
  readonly batchSize: number;
  /** Attempts after the first failure before the batch goes to the failure destination. */
  readonly retryAttempts: number;
  readonly maxBatchingWindowSeconds: number;
  /**
   * Lambda's ParallelizationFactor: batches of one shard processed at once,
   * records of one partition key (a command key, a stream id) always in the
   * same one and in order. 1 when absent.
   */
  readonly parallelizationFactor?: number;
  /** Where a batch goes once its retries are spent (an SQS queue on AWS). */
  readonly failureDestination: string;
}

export interface StreamConsumerSpec extends ShardConsumerSpec {
  readonly source: TableName;
}

/** The engine's consumers of the DynamoDB streams. */
export const streamConsumers = {
  sequencer: {
    source: "commands",
    handler: "functions/sequencer.handler",
    batchSize: 100,
    retryAttempts: 10,
    maxBatchingWindowSeconds: 0,
    // Command keys are the partition keys: each keeps its order, ten of them are sequenced at once per shard.
    parallelizationFactor: 10,
    failureDestination: "sequencer-failures",
    // Writes commands: those a decider sends to other microservices, in the transaction of their events.
    tables: { snapshots: "readwrite", events: "readwrite", outcomes: "readwrite", requests: "readwrite", commands: "write" },
  },
  publisher: {
    source: "events",
    handler: "functions/publisher.handler",
    batchSize: 100,
    retryAttempts: 10,
    maxBatchingWindowSeconds: 0,
    failureDestination: "publisher-failures",
    tables: {},
    uses: { kinesis: { allEvents: "write" }, topics: { events: "publish" } },
  },
} as const satisfies Record<string, StreamConsumerSpec>;

/** Consumers of the Kinesis "all events" stream, each with its own checkpoint. */
export interface KinesisConsumerSpec extends ShardConsumerSpec {
  readonly source: KinesisStreamName;
  readonly failureDestination: QueueName;
}

/** The engine's own consumer of the "all events" stream: the archive. */
const archiver: KinesisConsumerSpec = {
  source: "allEvents",
  handler: "functions/archiver.handler",
  batchSize: 500,
  retryAttempts: 10,
  maxBatchingWindowSeconds: 5,
  failureDestination: "archiver-failures",
  // The archive index (which version of each stream is archived) lives in the projections table, with its pending markers.
  tables: { projections: "manage", events: "read" },
  uses: { kinesis: { allEvents: "read" }, buckets: { archive: "write" } },
};

/** Consumers of SQS queues: the replay path of each projection. */
export interface QueueConsumerSpec extends FunctionSpec {
  readonly source: QueueName;
  readonly batchSize: number;
}

/** Everything a deployment runs: the engine's resources plus what its app definition adds. */
export interface Topology {
  readonly queues: Readonly<Record<QueueName, QueueSpec>>;
  readonly streamConsumers: Readonly<Record<string, StreamConsumerSpec>>;
  readonly kinesisConsumers: Readonly<Record<string, KinesisConsumerSpec>>;
  readonly queueConsumers: Readonly<Record<string, QueueConsumerSpec>>;
  readonly routes: readonly RouteSpec[];
  readonly fallbackRoute: FunctionSpec;
  /** The projections `POST /admin/replays` can replay and rebuild. */
  readonly projections: readonly string[];
  /** Runs on each deployment (an SST Script on AWS, the stack's start locally): rebuilds projections whose version changed. */
  readonly onDeploy: FunctionSpec;
  /** Each projection's version: what a deployment must run onDeploy for when it changes. */
  readonly projectionVersions: Readonly<Record<string, number>>;
}

/** The environment variables that tell a generic handler what it runs. */
export const handlerEnv = {
  projection: "ORDINAL_PROJECTION",
  processManager: "ORDINAL_PROCESS_MANAGER",
  microservice: "ORDINAL_MICROSERVICE",
  route: "ORDINAL_ROUTE",
} as const;

/** The environment variable through which a function (a redrive) learns a consumer's function name. */
export const consumerFunctionEnv = (consumer: string) => `ORDINAL_CONSUMER_${envName(consumer)}_FUNCTION`;

/** A handler's setting from its environment, or a wiring error naming the variable. */
export const settingOf = (environment: Readonly<Record<string, string | undefined>> | undefined, name: string): string => {
  const value = environment?.[name];
  if (!value) throw new Error(`${name} is not set: the stack tells a generic handler what it runs`);
  return value;
};

const envName = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
const projectionTables = { projections: "readwrite", events: "read" } as const;
const shardDefaults = { batchSize: 100, retryAttempts: 10, maxBatchingWindowSeconds: 0 } as const;
/**
 * A projection gathers a second of events before it runs: a read model is at
 * most that much staler, and an item that several events change in that second
 * is read and written once, not once per event.
 */
const PROJECTION_WINDOW_SECONDS = 1;
/**
 * Names a handler may not take: the engine's consumers and queues, and the
 * projections table's partitions of its own (the archive index, the
 * projections' generations, replay jobs).
 */
const reservedNames = new Set([...Object.keys(streamConsumers), "archiver", "archive", "generations", "replays", "replayer"]);
const handlerName = /^[a-z][a-z0-9-]{0,39}$/;

/** Each dead-letter queue and the queue its messages came from (and go back to on a redrive). */
export const deadLetterMoves = (queues: Readonly<Record<QueueName, QueueSpec>>): [deadLetter: QueueName, source: QueueName][] =>
  Object.entries(queues).flatMap(([name, spec]): [QueueName, QueueName][] => (spec.deadLetter ? [[spec.deadLetter.queue, name]] : []));

/** What each projection, process manager and subscriber adds to the engine's topology. */
const appTopology = (app: AppDefinition) => {
  const queues: Record<QueueName, QueueSpec> = {};
  const kinesis: Record<string, KinesisConsumerSpec> = {};
  const queueConsumers: Record<string, QueueConsumerSpec> = {};
  const routes: RouteSpec[] = [];
  for (const projection of app.projections ?? []) {
    const { name } = projection;
    const environment = { [handlerEnv.projection]: name };
    queues[`${name}-replay`] = {
      name: `${name}-replay.fifo`,
      fifo: true,
      env: `${envName(name)}_REPLAY_QUEUE`,
      deadLetter: { queue: `${name}-replay-dlq`, maxReceiveCount: 5 },
    };
    queues[`${name}-replay-dlq`] = { name: `${name}-replay-dlq.fifo`, fifo: true, env: `${envName(name)}_REPLAY_DLQ`, parks: true };
    queues[`${name}-failures`] = { name: `${name}-failures`, env: `${envName(name)}_FAILURES_QUEUE`, parks: true };
    kinesis[name] = {
      source: "allEvents",
      handler: "functions/projector.live",
      environment,
      ...shardDefaults,
      maxBatchingWindowSeconds: PROJECTION_WINDOW_SECONDS,
      failureDestination: `${name}-failures`,
      tables: projectionTables,
      uses: { kinesis: { allEvents: "read" } },
    };
    queueConsumers[`${name}-replay`] = {
      source: `${name}-replay`,
      handler: "functions/projector.replay",
      environment,
      batchSize: 10,
      tables: projectionTables,
      uses: { queues: { [`${name}-replay`]: "consume" } },
    };
    for (const route of projection.routes ?? [])
      routes.push({
        method: "GET",
        path: route.path,
        handler: "functions/query.handler",
        environment: { ...environment, [handlerEnv.route]: route.path },
        // Read models only: a route cannot write, nor read the log.
        tables: { projections: "read" },
      });
  }
  for (const manager of app.processManagers ?? []) {
    const { name } = manager;
    queues[`${name}-failures`] = { name: `${name}-failures`, env: `${envName(name)}_FAILURES_QUEUE`, parks: true };
    kinesis[name] = {
      source: "allEvents",
      handler: "functions/process-manager.handler",
      environment: { [handlerEnv.processManager]: name },
      ...shardDefaults,
      failureDestination: `${name}-failures`,
      // Its reactions are appended to the commands table, as the API appends commands.
      tables: { commands: "write" },
      uses: { kinesis: { allEvents: "read" } },
    };
  }
  for (const microservice of Object.values(app.microservices)) {
    if (!microservice.view) continue;
    routes.push({
      method: "GET",
      path: microservice.view.path,
      handler: "functions/view.handler",
      environment: { [handlerEnv.microservice]: microservice.name },
      // The snapshot now; the log for ?version / ?at.
      tables: { snapshots: "read", events: "read" },
    });
  }
  for (const [name, subscriber] of Object.entries(app.subscribers ?? {})) {
    queues[`${name}-dlq`] = { name: `${name}-dlq`, env: `${envName(name)}_DLQ`, parks: true };
    queues[name] = {
      name,
      env: `${envName(name)}_QUEUE`,
      // The same dead-letter queue for what SNS could not deliver and what the subscriber kept failing on.
      deadLetter: { queue: `${name}-dlq`, maxReceiveCount: 5 },
      subscription: { topic: "events", filterPolicy: subscriber.filterPolicy },
    };
  }
  return { queues, kinesis, queueConsumers, routes };
};

const problemsOf = (app: AppDefinition, added: ReturnType<typeof appTopology>): string[] => {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const claim = (name: string, what: string) => {
    if (!handlerName.test(name)) problems.push(`${what} '${name}': a name is 1-40 lowercase letters, digits or '-', starting with a letter`);
    if (reservedNames.has(name)) problems.push(`${what} '${name}': the name is the engine's`);
    const before = seen.get(name);
    if (before) problems.push(`${what} '${name}': the name is also a ${before}'s`);
    seen.set(name, what);
  };
  for (const [key, microservice] of Object.entries(app.microservices)) {
    if (key !== microservice.name) problems.push(`microservice '${microservice.name}' is registered as '${key}': register it under its name`);
    if (!handlerName.test(microservice.name)) problems.push(`microservice '${microservice.name}': a name is 1-40 lowercase letters, digits or '-', starting with a letter`);
    if (microservice.view && (microservice.view.path.match(/\{\w+\}/g) ?? []).length !== 1)
      problems.push(`microservice '${microservice.name}': its view's path ${microservice.view.path} must have exactly one {parameter}, the aggregate id`);
  }
  const registered = new Set(Object.keys(app.microservices));
  for (const [what, handlers] of [["projection", app.projections ?? []], ["process manager", app.processManagers ?? []]] as const)
    for (const handler of handlers) {
      claim(handler.name, what);
      for (const source of handler.from)
        if (!registered.has(source.name)) problems.push(`${what} '${handler.name}' takes events of '${source.name}', which the app does not register`);
    }
  for (const name of Object.keys(app.subscribers ?? {})) claim(name, "subscriber");
  const routeKeys = new Set<string>();
  for (const route of [...engineRoutes, ...added.routes]) {
    const key = `${route.method} ${route.path.replace(/\{\w+\}/g, "{}")}`;
    if (routeKeys.has(key)) problems.push(`route ${route.method} ${route.path} is declared twice`);
    routeKeys.add(key);
  }
  return problems;
};

/**
 * The full topology of a deployment: the engine's resources plus, for each
 * projection, its live consumer, replay queue, replay dead-letter queue and
 * failure destination; for each process manager its consumer and failure
 * destination; each view and projection route; each subscriber; and the
 * replay and redrive routes, granted exactly those queues. Throws on an app
 * whose names clash or whose handlers follow unregistered microservices.
 */
export const expandTopology = (app: AppDefinition): Topology => {
  const added = appTopology(app);
  const problems = problemsOf(app, added);
  if (problems.length) throw new Error(`the app definition is not valid:\n- ${problems.join("\n- ")}`);
  const queues = { ...engineQueues, ...added.queues };
  const kinesisConsumers = { archiver, ...added.kinesis };
  // The stacks and the alarms rely on it: every failure destination is a queue that parks.
  for (const [name, consumer] of Object.entries({ ...streamConsumers, ...kinesisConsumers }))
    if (!queues[consumer.failureDestination]?.parks) throw new Error(`${name}'s failure destination '${consumer.failureDestination}' is not a parking queue of the topology`);
  const projections = (app.projections ?? []).map((p) => p.name);
  const grant = <L extends "send" | "consume" | "feed" | "count">(level: L, names: readonly string[]) => Object.fromEntries(names.map((name) => [name, level])) as Record<string, L>;
  const moves = deadLetterMoves(queues);
  const replayQueues = projections.map((name) => `${name}-replay`);
  // Every shard consumer's parked batches: a redrive re-reads them and hands them back (on AWS: their on-failure records).
  const redrivable = Object.entries({ ...streamConsumers, ...kinesisConsumers });
  const failureQueues = redrivable.map(([, c]) => c.failureDestination);
  const rereadStreams = Object.fromEntries(
    redrivable.flatMap(([, c]) => (Object.hasOwn(tables, c.source) ? [[c.source, "read" as const]] : [])),
  ) as Partial<Record<TableName, "read">>;
  const rereadKinesis = redrivable.some(([, c]) => Object.hasOwn(kinesisStreams, c.source));
  const replayDeadLetters = replayQueues.map((name) => queues[name]!.deadLetter!.queue);
  const admin: RouteSpec[] = [
    // A rebuild takes the projection's next generation in the job's transaction; the job goes to the runners' queue.
    { method: "POST", path: "/admin/replays", handler: "functions/replays.start", roles: ["admin"], tables: { projections: "readwrite" }, uses: { queues: { replays: "send" } } },
    { method: "GET", path: "/admin/replays", handler: "functions/replays.list", roles: ["admin"], tables: { projections: "read" } },
    { method: "GET", path: "/admin/replays/{replayId}", handler: "functions/replays.status", roles: ["admin"], tables: { projections: "read" } },
    { method: "DELETE", path: "/admin/replays/{replayId}", handler: "functions/replays.cancel", roles: ["admin"], tables: { projections: "readwrite" }, uses: { queues: { replays: "send" } } },
    // Commands in, outcomes, consumers' lag, parked counts: the local stack meters itself; on AWS, CloudWatch has them.
    { method: "GET", path: "/admin/pipeline", handler: "functions/pipeline.handler", roles: ["admin"], tables: {} },
    // What every failure destination and dead-letter queue holds.
    { method: "GET", path: "/admin/parked", handler: "functions/parked.handler", roles: ["admin"], tables: {}, uses: { queues: grant("count", [...moves.map(([from]) => from), ...failureQueues]) } },
    {
      method: "POST",
      path: "/admin/redrive",
      handler: "functions/redrive.handler",
      roles: ["admin"],
      tables: {},
      // Dead letters go back to their queue; a parked stream batch is re-read from its stream and handed back to its consumer.
      uses: {
        queues: { ...grant("consume", [...moves.map(([from]) => from), ...failureQueues]), ...grant("send", moves.map(([, to]) => to)) },
        streams: rereadStreams,
        ...(rereadKinesis ? { kinesis: { allEvents: "read" as const } } : {}),
        consumers: Object.fromEntries(redrivable.map(([name]) => [name, "invoke" as const])),
      },
    },
  ];
  // Replay jobs' runner: reads the archive, feeds the replay queues and watches them and their dead letters drain,
  // checks the archive index against the snapshots (a rebuild waits for the archive to hold the log), swaps generations.
  const replayer: QueueConsumerSpec = {
    source: "replays",
    handler: "functions/replayer.handler",
    batchSize: 1,
    timeoutSeconds: 60,
    tables: { projections: "manage", snapshots: "scan" },
    uses: { buckets: { archive: "read" }, queues: { ...grant("feed", replayQueues), ...grant("count", replayDeadLetters), replays: "send" } },
  };
  const onDeploy: FunctionSpec = {
    handler: "functions/replayer.onDeploy",
    timeoutSeconds: 60,
    tables: { projections: "readwrite" },
    uses: { buckets: { archive: "read" }, queues: { replays: "send" } },
  };
  return {
    queues,
    streamConsumers,
    kinesisConsumers,
    queueConsumers: { ...added.queueConsumers, replays: replayer },
    routes: [...engineRoutes, ...added.routes, ...admin],
    fallbackRoute,
    projections,
    onDeploy,
    projectionVersions: Object.fromEntries((app.projections ?? []).map((p) => [p.name, p.version ?? 1])),
  };
};
