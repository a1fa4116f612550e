// The one description of Ordinal's resources. `stacks/` builds CloudFormation
// from it and `local/` builds the emulated stack from it, so the two cannot
// drift (test/stacks.infra.test.ts compares it with the synthesized template).

export type KeyType = "string" | "number";

export interface TableSpec {
  /** Logical name; the physical name is chosen by the stack or the local runtime. */
  readonly name: string;
  readonly partitionKey: { readonly name: string; readonly type: KeyType };
  readonly sortKey?: { readonly name: string; readonly type: KeyType };
  readonly stream?: "new_image" | "new_and_old_images";
  readonly pointInTimeRecovery?: boolean;
  /** Environment variable through which functions receive the physical name. */
  readonly env: string;
}

export const tables = {
  /** One item per command key: the atomic `seq` counter plus the latest command. */
  commands: {
    name: "commands",
    partitionKey: { name: "key", type: "string" },
    stream: "new_image",
    env: "COMMANDS_TABLE",
  },
  /** The immutable log: one item per event, versions 1..n per stream. */
  events: {
    name: "events",
    partitionKey: { name: "streamId", type: "string" },
    sortKey: { name: "version", type: "number" },
    stream: "new_image",
    pointInTimeRecovery: true,
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

/** What a function may do to a table: the stacks turn this into IAM actions. */
export type Access = "read" | "write" | "readwrite";

export interface FunctionSpec {
  /** Handler path as SST expects it: file without extension + export name. */
  readonly handler: string;
  readonly tables: Partial<Record<TableName, Access>>;
  /** Other resources it uses, and how: the stacks grant exactly these. */
  readonly uses?: {
    readonly kinesis?: Partial<Record<KinesisStreamName, "read" | "write">>;
    readonly buckets?: Partial<Record<BucketName, "read" | "write">>;
    readonly topics?: Partial<Record<TopicName, "publish">>;
    readonly queues?: Partial<Record<QueueName, "send" | "consume">>;
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

export interface QueueSpec {
  readonly name: string;
  readonly fifo?: boolean;
  readonly env: string;
  /** Where messages go after `maxReceiveCount` failed receives. */
  readonly deadLetter?: { readonly queue: string; readonly maxReceiveCount: number };
  /** An SNS subscription that feeds this queue. */
  readonly subscription?: { readonly topic: TopicName; readonly filterPolicy: Record<string, readonly string[]> };
}

/** Handlers fed by the Kinesis stream live and, on replay, by their own FIFO queue. */
export const projectionNames = ["cart-summary", "open-carts"] as const;
export type ProjectionName = (typeof projectionNames)[number];

export const queues = {
  "cart-summary-replay": { name: "cart-summary-replay.fifo", fifo: true, env: "CART_SUMMARY_REPLAY_QUEUE", deadLetter: { queue: "cart-summary-replay-dlq", maxReceiveCount: 5 } },
  "cart-summary-replay-dlq": { name: "cart-summary-replay-dlq.fifo", fifo: true, env: "CART_SUMMARY_REPLAY_DLQ" },
  "open-carts-replay": { name: "open-carts-replay.fifo", fifo: true, env: "OPEN_CARTS_REPLAY_QUEUE", deadLetter: { queue: "open-carts-replay-dlq", maxReceiveCount: 5 } },
  "open-carts-replay-dlq": { name: "open-carts-replay-dlq.fifo", fifo: true, env: "OPEN_CARTS_REPLAY_DLQ" },
  "publisher-failures": { name: "publisher-failures", env: "PUBLISHER_FAILURES_QUEUE" },
  "archiver-failures": { name: "archiver-failures", env: "ARCHIVER_FAILURES_QUEUE" },
  "cart-summary-failures": { name: "cart-summary-failures", env: "CART_SUMMARY_FAILURES_QUEUE" },
  "open-carts-failures": { name: "open-carts-failures", env: "OPEN_CARTS_FAILURES_QUEUE" },
  "checkout-failures": { name: "checkout-failures", env: "CHECKOUT_FAILURES_QUEUE" },
  /** The example SNS consumer: closed or checked-out carts only. */
  "cart-closed-subscriber": {
    name: "cart-closed-subscriber",
    env: "CART_CLOSED_SUBSCRIBER_QUEUE",
    subscription: { topic: "events", filterPolicy: { microservice: ["cart"], type: ["CartClosed"] } },
  },
} as const satisfies Record<string, QueueSpec>;
export type QueueName = keyof typeof queues;

/**
 * How a route's caller proves who it is. `jwt`: users, with a bearer token
 * (an API Gateway JWT authorizer on AWS; `npm start -- --auth` locally).
 * `iam`: services, with SigV4-signed requests.
 */
export type RouteAuth = "jwt" | "iam";

export interface RouteSpec extends FunctionSpec {
  readonly method: "GET" | "POST";
  /** API Gateway path syntax: `{name}` is a path parameter. */
  readonly path: string;
  /** Defaults to `jwt`: no route is left open on AWS. */
  readonly auth?: RouteAuth;
  /** The caller needs one of these roles (403 otherwise); any authenticated caller when absent. */
  readonly roles?: readonly string[];
}

export const routes: readonly RouteSpec[] = [
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
  { method: "GET", path: "/inventory/{warehouse}", handler: "functions/inventory.handler", tables: { snapshots: "read", events: "read" } },
  { method: "GET", path: "/carts/{cartId}", handler: "functions/cart.handler", tables: { snapshots: "read" } },
  { method: "GET", path: "/streams/{streamId}/events", handler: "functions/events.handler", tables: { events: "read" } },
  { method: "GET", path: "/streams/{streamId}/state", handler: "functions/state.handler", tables: { snapshots: "read", events: "read" } },
  { method: "GET", path: "/accounts/{accountId}", handler: "functions/account.handler", tables: { snapshots: "read", events: "read" } },
  { method: "GET", path: "/health", handler: "functions/health.handler", tables: {} },
  { method: "GET", path: "/users/{user}/carts", handler: "functions/user-carts.handler", tables: { projections: "read" } },
  { method: "GET", path: "/carts", handler: "functions/open-carts.handler", tables: { projections: "read" } },
  {
    method: "POST",
    path: "/admin/replay",
    handler: "functions/replay.handler",
    roles: ["admin"],
    // `reset` empties the projection's items first.
    tables: { projections: "readwrite" },
    uses: { buckets: { archive: "read" }, queues: { "cart-summary-replay": "send", "open-carts-replay": "send" } },
  },
  {
    method: "POST",
    path: "/admin/redrive",
    handler: "functions/redrive.handler",
    roles: ["admin"],
    tables: {},
    uses: {
      queues: {
        "cart-summary-replay-dlq": "consume",
        "cart-summary-replay": "send",
        "open-carts-replay-dlq": "consume",
        "open-carts-replay": "send",
        // Failure destinations are only counted for now.
        "publisher-failures": "consume",
        "archiver-failures": "consume",
        "cart-summary-failures": "consume",
        "open-carts-failures": "consume",
        "checkout-failures": "consume",
      },
    },
  },
];

/** Answers every request no route matched: 404 or 405, always JSON. */
export const fallbackRoute: FunctionSpec = { handler: "functions/fallback.handler", tables: {} };

/** A consumer of a sharded stream (DynamoDB Streams or Kinesis), as an event source mapping runs it. */
export interface ShardConsumerSpec extends FunctionSpec {
  readonly batchSize: number;
  /** Attempts after the first failure before the batch goes to the failure destination. */
  readonly retryAttempts: number;
  readonly maxBatchingWindowSeconds: number;
  /** Where a batch goes once its retries are spent (an SQS queue on AWS). */
  readonly failureDestination: string;
}

export interface StreamConsumerSpec extends ShardConsumerSpec {
  readonly source: TableName;
}

export const streamConsumers = {
  sequencer: {
    source: "commands",
    handler: "functions/sequencer.handler",
    batchSize: 100,
    retryAttempts: 10,
    maxBatchingWindowSeconds: 0,
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

const projectionTables = { projections: "readwrite", events: "read" } as const;

export const kinesisConsumers = {
  archiver: {
    source: "allEvents",
    handler: "functions/archiver.handler",
    batchSize: 500,
    retryAttempts: 10,
    maxBatchingWindowSeconds: 5,
    failureDestination: "archiver-failures",
    // The archive index (which version of each stream is archived) lives in the projections table.
    tables: { projections: "readwrite", events: "read" },
    uses: { kinesis: { allEvents: "read" }, buckets: { archive: "write" } },
  },
  "cart-summary": {
    source: "allEvents",
    handler: "functions/projector.cartSummary",
    batchSize: 100,
    retryAttempts: 10,
    maxBatchingWindowSeconds: 0,
    failureDestination: "cart-summary-failures",
    tables: projectionTables,
    uses: { kinesis: { allEvents: "read" } },
  },
  "open-carts": {
    source: "allEvents",
    handler: "functions/projector.openCarts",
    batchSize: 100,
    retryAttempts: 10,
    maxBatchingWindowSeconds: 0,
    failureDestination: "open-carts-failures",
    tables: projectionTables,
    uses: { kinesis: { allEvents: "read" } },
  },
  /** The checkout process manager: answers inventory's reservations with commands to the cart. */
  checkout: {
    source: "allEvents",
    handler: "functions/process-manager.checkout",
    batchSize: 100,
    retryAttempts: 10,
    maxBatchingWindowSeconds: 0,
    failureDestination: "checkout-failures",
    tables: { commands: "write" },
    uses: { kinesis: { allEvents: "read" } },
  },
} as const satisfies Record<string, KinesisConsumerSpec>;

/** Consumers of SQS queues: the replay path of each projection. */
export interface QueueConsumerSpec extends FunctionSpec {
  readonly source: QueueName;
  readonly batchSize: number;
}

export const queueConsumers = {
  "cart-summary-replay": {
    source: "cart-summary-replay",
    handler: "functions/projector.cartSummaryReplay",
    batchSize: 10,
    tables: projectionTables,
    uses: { queues: { "cart-summary-replay": "consume" } },
  },
  "open-carts-replay": {
    source: "open-carts-replay",
    handler: "functions/projector.openCartsReplay",
    batchSize: 10,
    tables: projectionTables,
    uses: { queues: { "open-carts-replay": "consume" } },
  },
} as const satisfies Record<string, QueueConsumerSpec>;
