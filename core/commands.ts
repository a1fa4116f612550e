import { LRUCache } from "lru-cache";
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { setTimeout as sleep } from "node:timers/promises";
import type { AnyMicroservice } from "./decider.js";
import type { Store } from "./dynamo.js";
import type { CommandEnvelope } from "./envelope.js";
import { commandKeyOf, commandRefOf } from "./keys.js";
import type { CommandRecord, OutcomeRecord } from "./records.js";

/** A command as written to its key's counter item: everything but the seq the counter assigns. */
export type CommandWrite = Omit<CommandRecord, "seq">;

/**
 * The one UpdateItem that appends a command to its key: the counter goes up
 * by one and every other attribute is set, so the item's stream image is
 * exactly this command with its new seq. The API sends it alone; the
 * sequencer puts it in the transaction of the events that caused it.
 */
export const counterUpdate = (table: string, command: CommandWrite) => {
  const values: Record<string, unknown> = {
    ":zero": 0,
    ":one": 1,
    ":type": command.type,
    ":command": command.command,
    ":aggregateId": command.aggregateId,
    ":id": command.id,
    ":user": command.user,
    ":roles": command.roles ?? [],
    ":occurredAt": command.occurredAt,
    ":receivedAt": command.receivedAt,
    ":payload": command.payload,
  };
  let expression =
    "SET seq = if_not_exists(seq, :zero) + :one, #type = :type, #command = :command, aggregateId = :aggregateId, " +
    "#id = :id, #user = :user, #roles = :roles, occurredAt = :occurredAt, receivedAt = :receivedAt, payload = :payload";
  // The item holds only the latest command: a chain field this command lacks must not linger from the last one.
  const absent: string[] = [];
  for (const field of ["correlationId", "causationId"] as const) {
    if (command[field] === undefined) absent.push(field);
    else {
      expression += `, ${field} = :${field}`;
      values[`:${field}`] = command[field];
    }
  }
  if (absent.length) expression += ` REMOVE ${absent.join(", ")}`;
  return {
    TableName: table,
    Key: { key: command.key },
    UpdateExpression: expression,
    ExpressionAttributeNames: { "#type": "type", "#command": "command", "#id": "id", "#user": "user", "#roles": "roles" },
    ExpressionAttributeValues: values,
  };
};

/** Appends a validated command: the one write per command the design cannot avoid. */
export const appendCommand = async (
  { db, tables }: Store,
  microservice: AnyMicroservice,
  envelope: CommandEnvelope,
  receivedAt: number,
): Promise<{ key: string; seq: number }> => {
  const key = commandKeyOf(microservice.name, microservice.partitionBy, envelope.aggregateId);
  const result = await db.send(
    new UpdateCommand({
      ...counterUpdate(tables.commands, {
        key,
        type: envelope.type,
        command: envelope.command,
        aggregateId: envelope.aggregateId,
        id: envelope.id,
        user: envelope.user,
        roles: envelope.roles,
        correlationId: envelope.correlationId,
        causationId: envelope.causationId,
        occurredAt: envelope.timestamp ?? receivedAt,
        receivedAt,
        payload: envelope.payload,
      }),
      ReturnValues: "UPDATED_NEW",
    }),
  );
  return { key, seq: Number(result.Attributes?.seq) };
};

/** The most seconds a sender may wait for an outcome, on the API and in the client alike. */
export const MAX_WAIT_SECONDS = 10;

/** Not sequenced yet: the outcome will be under `key`/`seq`. */
export interface PendingOutcome {
  readonly status: "pending";
  readonly key: string;
  readonly seq: number;
  readonly correlationId: string;
  readonly causationId?: string;
}

/** A pending outcome: its chain is known before the sequencer runs, from the envelope or the command itself. */
export const pendingOutcome = (
  key: string,
  seq: number,
  envelope: Pick<CommandEnvelope, "correlationId" | "causationId">,
): PendingOutcome => ({
  status: "pending",
  key,
  seq,
  correlationId: envelope.correlationId ?? commandRefOf(key, seq),
  ...(envelope.causationId === undefined ? {} : { causationId: envelope.causationId }),
});

export type OutcomeView =
  | { readonly status: "pending"; readonly key: string; readonly seq: number; readonly correlationId?: string; readonly causationId?: string }
  | OutcomeRecord;

/** The outcome the sequencer wrote for command `seq` under `key`, if it has (consistently read unless told). */
const getOutcome = async ({ db, tables }: Store, key: string, seq: number, consistent = true): Promise<OutcomeRecord | undefined> =>
  (await db.send(new GetCommand({ TableName: tables.outcomes, Key: { key, seq }, ConsistentRead: consistent }))).Item as OutcomeRecord | undefined;

/** The outcome of command `seq` under `key`; pending if sent but not sequenced yet; undefined if never sent. */
export const readOutcome = async (store: Store, key: string, seq: number): Promise<OutcomeView | undefined> => {
  const { db, tables } = store;
  const outcome = await getOutcome(store, key, seq);
  if (outcome) return outcome;
  const counter = await db.send(
    new GetCommand({ TableName: tables.commands, Key: { key }, ProjectionExpression: "seq, correlationId, causationId", ConsistentRead: true }),
  );
  const sent = Number(counter.Item?.seq ?? 0);
  if (seq < 1 || seq > sent) return undefined;
  // The counter item holds only the latest command: its chain is known while it is still that one.
  const latest = seq === sent ? (counter.Item as Partial<CommandRecord> | undefined) : undefined;
  return {
    status: "pending",
    key,
    seq,
    ...(latest?.correlationId === undefined ? {} : { correlationId: latest.correlationId }),
    ...(latest?.causationId === undefined ? {} : { causationId: latest.causationId }),
  };
};

/**
 * Outcomes as the sequencer commits them, where it runs in the API's process
 * (the local stack): `?wait` is told, instead of reading until it is there.
 */
export interface OutcomeFeed {
  /** Tells the waiters of these outcomes; called by the sequencer once they committed. */
  publish(outcomes: readonly OutcomeRecord[]): void;
  /** The outcome if it committed lately, else waits up to `ms` to be told; undefined if it was not. */
  wait(key: string, seq: number, ms: number): Promise<OutcomeRecord | undefined>;
}

/** How long a `?wait` told by a feed waits to be told before it reads the table after all (a sequencer elsewhere). */
const FEED_CHECK_MS = 1000;

/**
 * Waits for the outcome until it is written or `waitMs` has passed: told by
 * `feed` where there is one (no read at all when it is), else polling the
 * outcomes table, more slowly as the wait grows. Polls read eventually
 * consistent (half a read unit; one that misses a fresh outcome is followed
 * by another), the last one at the deadline consistently.
 */
export const waitForOutcome = async (
  store: Store,
  key: string,
  seq: number,
  waitMs: number,
  { pollMs = 25, feed }: { pollMs?: number; feed?: OutcomeFeed } = {},
): Promise<OutcomeRecord | undefined> => {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (feed) {
      const told = await feed.wait(key, seq, Math.max(0, Math.min(FEED_CHECK_MS, deadline - Date.now())));
      if (told) return told;
    } else {
      // Sleep first: a command appended a moment ago has not been through the stream and the sequencer yet.
      await sleep(Math.max(0, Math.min(pollMs, deadline - Date.now())));
      pollMs = Math.min(pollMs * 2, 200);
    }
    const last = Date.now() >= deadline;
    const outcome = await getOutcome(store, key, seq, last);
    if (outcome) return outcome;
    if (last) return undefined;
  }
};

/** An OutcomeFeed keeping the last `keep` outcomes, for a `?wait` that asks after they committed. */
export const outcomeFeed = (keep = 10_000): OutcomeFeed => {
  const recent = new LRUCache<string, OutcomeRecord>({ max: keep });
  const waiters = new Map<string, Set<(outcome: OutcomeRecord) => void>>();
  const idOf = (key: string, seq: number) => `${key}\u0000${seq}`;
  return {
    publish(outcomes) {
      for (const outcome of outcomes) {
        const id = idOf(outcome.key, outcome.seq);
        recent.set(id, outcome);
        for (const tell of waiters.get(id) ?? []) tell(outcome);
        waiters.delete(id);
      }
    },
    wait(key, seq, ms) {
      const id = idOf(key, seq);
      const known = recent.get(id);
      if (known || ms <= 0) return Promise.resolve(known);
      return new Promise((resolve) => {
        const tell = (outcome: OutcomeRecord | undefined) => {
          clearTimeout(timer);
          waiters.get(id)?.delete(tell);
          if (waiters.get(id)?.size === 0) waiters.delete(id);
          resolve(outcome);
        };
        const timer = setTimeout(() => tell(undefined), ms);
        waiters.set(id, (waiters.get(id) ?? new Set()).add(tell));
      });
    },
  };
};
