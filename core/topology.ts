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
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof tables;

/** What a function may do to a table: the stacks turn this into IAM actions. */
export type Access = "read" | "write" | "readwrite";

export interface FunctionSpec {
  /** Handler path as SST expects it: file without extension + export name. */
  readonly handler: string;
  readonly tables: Partial<Record<TableName, Access>>;
}

export interface RouteSpec extends FunctionSpec {
  readonly method: "GET" | "POST";
  /** API Gateway path syntax: `{name}` is a path parameter. */
  readonly path: string;
}

export const routes: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/command",
    handler: "functions/command.handler",
    // Writes commands only; reads outcomes for ?wait. Never writes events.
    tables: { commands: "write", outcomes: "read" },
  },
  { method: "GET", path: "/commands/{key}/{seq}", handler: "functions/outcome.handler", tables: { outcomes: "read", commands: "read" } },
  { method: "GET", path: "/carts/{cartId}", handler: "functions/cart.handler", tables: { snapshots: "read" } },
  { method: "GET", path: "/streams/{streamId}/events", handler: "functions/events.handler", tables: { events: "read" } },
  { method: "GET", path: "/streams/{streamId}/state", handler: "functions/state.handler", tables: { snapshots: "read", events: "read" } },
  { method: "GET", path: "/accounts/{accountId}", handler: "functions/account.handler", tables: { snapshots: "read", events: "read" } },
  { method: "GET", path: "/health", handler: "functions/health.handler", tables: {} },
];

/** Answers every request no route matched: 404 or 405, always JSON. */
export const fallbackRoute: FunctionSpec = { handler: "functions/fallback.handler", tables: {} };

export interface StreamConsumerSpec extends FunctionSpec {
  readonly source: TableName;
  readonly batchSize: number;
  /** Attempts after the first failure before the batch goes to the failure destination. */
  readonly retryAttempts: number;
  readonly maxBatchingWindowSeconds: number;
  /** Where a batch goes once its retries are spent (an SQS queue on AWS). */
  readonly failureDestination: string;
}

export const streamConsumers = {
  sequencer: {
    source: "commands",
    handler: "functions/sequencer.handler",
    batchSize: 100,
    retryAttempts: 10,
    maxBatchingWindowSeconds: 0,
    failureDestination: "sequencer-failures",
    tables: { snapshots: "readwrite", events: "readwrite", outcomes: "readwrite", requests: "readwrite" },
  },
} as const satisfies Record<string, StreamConsumerSpec>;
