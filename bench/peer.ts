// The peer: Castore (@castore/core with its DynamoDB single-table adapter),
// the TypeScript event store on DynamoDB a team would otherwise pick, running
// the same cart workload on the same DynamoDB Local in the same run as
// Ordinal: the same commands decided by the same cart decider, the same
// number of concurrent clients, each client waiting for its command's outcome
// before the next on the same cart. Castore's path is synchronous:
// getAggregate, decide, pushEvent per event; no counter, no outcome record, no
// de-duplication, no snapshot, no fan-out. Both are metered by bench/capacity.ts.
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventStore, EventType } from "@castore/core";
import { DynamoDBSingleTableEventStorageAdapter } from "@castore/event-storage-adapter-dynamodb";
import { performance } from "node:perf_hooks";
import { cartEventTypes } from "../core/cart/state.js";
import type { Microservice } from "../core/decider.js";
import { emissionOf, isRejection } from "../core/decider.js";
import { eachLimited } from "../core/each-limited.js";
import type { LocalStack } from "../local/stack.js";
import { localAwsConfig } from "../local/dynamodb.js";
import { meterCapacity, type Charge, type StageTotals } from "./capacity.js";
import { latency, type Latency } from "./measure.js";
import { runPipeline } from "./pipeline.js";
import { cartCommands } from "./workload.js";

export interface PeerSide {
  readonly commands: number;
  readonly seconds: number;
  readonly rate: number;
  readonly latencyMs: Latency;
  /** Units per command, by stage, by AWS's rules. */
  readonly perCommand: Readonly<Record<string, { readonly calls: number; readonly read: number; readonly write: number }>>;
  readonly write: number;
  readonly read: number;
}

export interface PeerResult {
  readonly carts: number;
  readonly perCart: number;
  readonly clients: number;
  readonly ordinal: PeerSide;
  readonly castore: PeerSide;
  /** What the engine does per command apart from the API and sequencer path: counted, but apart from the goal. */
  readonly localBookkeeping: string[];
  /** One client, one cart, SINGLE_COMMANDS commands in a row: Ordinal's POST ?wait against Castore's synchronous path. */
  readonly single: { readonly commands: number; readonly ordinal: Latency; readonly castore: Latency };
}

/** The latency goal's workload: one client sending one cart's commands in a row. */
export const SINGLE_COMMANDS = 40;

/** How the stack does with nothing to do, then the first command after it (the idle goal). */
export interface IdleResult {
  readonly seconds: number;
  readonly cores: number;
  /** The median over the spells of the slower of the two commands sent after each (OpenCart, CloseCart). */
  readonly firstCommandMs: number;
  readonly firstCommandSamplesMs: readonly number[];
}

const summarize = (totals: ReadonlyMap<string, StageTotals>, commands: number, apart: readonly string[] = []) => {
  const perCommand = Object.fromEntries(
    [...totals].sort().map(([stage, t]) => [stage, { calls: t.calls / commands, read: t.read / commands, write: t.write / commands }]),
  );
  const counted = Object.entries(perCommand).filter(([stage]) => !apart.includes(stage));
  return {
    perCommand,
    write: counted.reduce((sum, [, t]) => sum + t.write, 0),
    read: counted.reduce((sum, [, t]) => sum + t.read, 0),
  };
};

/** Where an Ordinal call's units go: by table, and the projections table's archive index apart. */
const ordinalStage = (prefix: string) => (charge: Charge, operation: string): string => {
  const table = charge.table.startsWith(prefix) ? charge.table.slice(prefix.length) : charge.table;
  switch (table) {
    case "commands":
      return operation === "UpdateItem" ? "API: counter UpdateItem" : "sequencer";
    case "outcomes":
      return operation === "GetItem" ? "API: ?wait polling" : "sequencer";
    case "events":
    case "snapshots":
    case "requests":
      return operation === "Query" ? "fan-out: log reads (gap fill)" : "sequencer";
    case "projections":
      return charge.items.some((item) => item?.projection?.S === "archive") ? "archiver: archive index" : "projections";
    default:
      return `local: ${table}`;
  }
};

/** The cart as Castore keeps it: the aggregate is the cart decider's own state. */
const castoreStore = (client: DynamoDBClient, tableName: string, cart: Microservice<any, any, any>) => {
  return new EventStore({
    eventStoreId: "carts",
    eventTypes: cartEventTypes.map((type) => new EventType({ type })) as EventType[],
    reducer: (aggregate: any, event: any) => ({
      aggregateId: event.aggregateId,
      version: event.version,
      state: cart.evolve(aggregate?.state ?? cart.initialState, { type: event.type, data: event.payload }),
    }),
    eventStorageAdapter: new DynamoDBSingleTableEventStorageAdapter({ tableName, dynamoDBClient: client }),
  });
};

const createCastoreTable = (client: DynamoDBClient, TableName: string) =>
  client.send(
    new CreateTableCommand({
      TableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "aggregateId", AttributeType: "S" },
        { AttributeName: "version", AttributeType: "N" },
        { AttributeName: "eventStoreId", AttributeType: "S" },
        { AttributeName: "timestamp", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "aggregateId", KeyType: "HASH" },
        { AttributeName: "version", KeyType: "RANGE" },
      ],
      // The adapter's index of each aggregate's first event (listAggregateIds).
      GlobalSecondaryIndexes: [
        {
          IndexName: "initialEvents",
          KeySchema: [
            { AttributeName: "eventStoreId", KeyType: "HASH" },
            { AttributeName: "timestamp", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "KEYS_ONLY" },
        },
      ],
    }),
  );

export const benchPeer = async (
  stack: LocalStack,
  {
    carts,
    perCart,
    clients,
    tag,
    tablePrefix,
    settle,
  }: { carts: number; perCart: number; clients: number; tag: string; tablePrefix: string; settle: () => Promise<number> },
): Promise<PeerResult> => {
  const cart = stack.deps.app.microservices.cart;
  if (!cart) throw new Error("the peer's workload is the reference app's cart");
  const commands = carts * perCart;
  // Timed passes run unmetered (the meter parses every request in the stack's own process); the
  // metered passes, on carts of their own, only count units, which do not depend on timing.
  const meteredCarts = Math.max(10, Math.ceil(carts / 4));

  const ordinalRun = await runPipeline({ url: stack.url, carts, perCart, clients, prefix: `peer-o-${tag}-` });
  await settle();

  const client = new DynamoDBClient(localAwsConfig(stack.endpoints.dynamodb));
  const tableName = `castore-peer-${tag}`;
  await createCastoreTable(client, tableName);
  const store = castoreStore(client, tableName, cart);
  const castoreRun = await runCastore(store, cart, { carts, perCart, clients, prefix: `peer-c-${tag}-` });

  // Ordinal metered: every call of the stack's client, the fan-out's included (its pollers' checkpoints apart).
  const ordinalMeter = meterCapacity(stack.store.db, ordinalStage(tablePrefix));
  await runPipeline({ url: stack.url, carts: meteredCarts, perCart, clients, prefix: `peer-om-${tag}-` });
  // The projections' and archiver's work for these commands is theirs too: wait for the fan-out to finish.
  await settle();
  ordinalMeter.pause();
  const metered = meteredCarts * perCart;
  const local = [...ordinalMeter.totals.keys()].filter((s) => s.startsWith("local:"));

  const castoreMeter = meterCapacity(client, (charge) => (charge.table === tableName ? "Castore" : charge.table));
  await runCastore(store, cart, { carts: meteredCarts, perCart, clients, prefix: `peer-cm-${tag}-` });
  castoreMeter.pause();

  // One client, one cart: what a single caller waits, command after command.
  await settle();
  const ordinalSingle = await runPipeline({ url: stack.url, carts: 1, perCart: SINGLE_COMMANDS, clients: 1, prefix: `peer-o1-${tag}-` });
  // Ordinal's fan-out of those commands must not run during Castore's phase.
  await settle();
  const castoreSingle = await runCastore(store, cart, { carts: 1, perCart: SINGLE_COMMANDS, clients: 1, prefix: `peer-c1-${tag}-` });
  client.destroy();

  return {
    carts,
    perCart,
    clients,
    ordinal: { commands, seconds: ordinalRun.seconds, rate: ordinalRun.rate, latencyMs: ordinalRun.latencyMs, ...summarize(ordinalMeter.totals, metered, local) },
    castore: { commands, seconds: castoreRun.seconds, rate: commands / castoreRun.seconds, latencyMs: castoreRun.latencyMs, ...summarize(castoreMeter.totals, metered) },
    localBookkeeping: local,
    single: { commands: SINGLE_COMMANDS, ordinal: ordinalSingle.latencyMs, castore: castoreSingle.latencyMs },
  };
};

/** Castore's command path: read the aggregate, decide with the cart's decider, push each event at the next version. */
const runCastore = async (
  store: ReturnType<typeof castoreStore>,
  cart: Microservice<any, any, any>,
  { carts, perCart, clients, prefix }: { carts: number; perCart: number; clients: number; prefix: string },
) => {
  const samples: number[] = [];
  let refused = 0;
  const started = performance.now();
  await eachLimited(
    Array.from({ length: carts }, (_, i) => cartCommands(`${prefix}${i}`, perCart)),
    clients,
    async (work) => {
      for (const command of work) {
        const sent = performance.now();
        const { aggregate } = await store.getAggregate(command.aggregateId);
        const state = (aggregate as any)?.state ?? cart.initialState;
        const version = (aggregate as any)?.version ?? 0;
        const decision = cart.decide(
          { type: command.command, data: cart.commands[command.command]!.parse(command.payload) },
          state,
          { now: Date.now(), user: command.user, roles: [], aggregateId: command.aggregateId },
        );
        if (isRejection(decision)) refused++;
        else
          for (const [i, event] of emissionOf(decision).events.entries())
            await store.pushEvent({ aggregateId: command.aggregateId, version: version + i + 1, type: event.type, payload: event.data, timestamp: new Date().toISOString() } as any);
        samples.push(performance.now() - sent);
      }
    },
  );
  if (refused > 0) throw new Error(`Castore's run refused ${refused} commands: the workload is meant to be accepted whole`);
  return { seconds: (performance.now() - started) / 1000, latencyMs: latency(samples) };
};

/** The peer's table: rate, latency and units per command for both, and each goal of issue #11. */
export const formatPeer = (peer: PeerResult, rawRate: number, idle: IdleResult): string => {
  const fixed = (n: number, d = 1) => n.toFixed(d);
  const row = (name: string, side: PeerSide) =>
    `${name.padEnd(9)} ${fixed(side.rate).padStart(8)} ${fixed(side.latencyMs.p50).padStart(8)} ${fixed(side.latencyMs.p99).padStart(8)} ${fixed(side.write, 2).padStart(8)} ${fixed(side.read, 2).padStart(8)}`;
  const goal = (label: string, value: number, target: string, met: boolean) => `${label.padEnd(44)} ${fixed(value, 2).padStart(8)}  goal ${target.padEnd(8)} ${met ? "met" : "NOT met"}`;
  const lines = [
    `peer: ${peer.carts} carts × ${peer.perCart} commands, ${peer.clients} clients, each waiting for its outcome; rates unmetered, then DynamoDB units by AWS's rules on a quarter as many carts`,
    "",
    `${"".padEnd(9)} ${"cmd/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"W/cmd".padStart(8)} ${"R/cmd".padStart(8)}`,
    row("Ordinal", peer.ordinal),
    row("Castore", peer.castore),
    "",
    `one client, one cart, ${peer.single.commands} commands in a row: p50 / p99 ms — Ordinal POST ?wait ${fixed(peer.single.ordinal.p50)} / ${fixed(peer.single.ordinal.p99)}, Castore ${fixed(peer.single.castore.p50)} / ${fixed(peer.single.castore.p99)}`,
    `idle stack over ${fixed(idle.seconds, 0)} s: ${fixed(idle.cores, 3)} cores; the first command after ${idle.firstCommandSamplesMs.length} such spells (POST ?wait), median ${fixed(idle.firstCommandMs)} ms: ${idle.firstCommandSamplesMs.map((ms) => fixed(ms)).join(", ")}`,
    "",
    "Ordinal's units per command, by stage:",
    ...Object.entries(peer.ordinal.perCommand).map(
      ([stage, t]) => `  ${stage.padEnd(40)} calls ${fixed(t.calls, 2).padStart(6)}  W ${fixed(t.write, 2).padStart(6)}  R ${fixed(t.read, 2).padStart(6)}${stage.startsWith("local:") ? "  (local bookkeeping, apart)" : ""}`,
    ),
    "",
    goal("write units per accepted command", peer.ordinal.write, "≤ 5", peer.ordinal.write <= 5),
    goal("read units per accepted command", peer.ordinal.read, "≤ 2", peer.ordinal.read <= 2),
    goal("throughput / Castore's", peer.ordinal.rate / peer.castore.rate, "≥ 1.5", peer.ordinal.rate / peer.castore.rate >= 1.5),
    goal("throughput / raw counter UpdateItem", peer.ordinal.rate / rawRate, "≥ 0.67", peer.ordinal.rate / rawRate >= 0.67),
    goal("single-client p50 / Castore's", peer.single.ordinal.p50 / peer.single.castore.p50, "≤ 3", peer.single.ordinal.p50 <= 3 * peer.single.castore.p50),
    goal("idle cores", idle.cores, "≤ 0.1", idle.cores <= 0.1),
    goal("first command after idle / Castore's p50", idle.firstCommandMs / peer.single.castore.p50, "≤ 3", idle.firstCommandMs <= 3 * peer.single.castore.p50),
  ];
  return lines.join("\n");
};
