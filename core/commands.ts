import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AnyMicroservice } from "./decider.js";
import type { Store } from "./dynamo.js";
import type { CommandEnvelope } from "./envelope.js";
import { commandKeyOf } from "./keys.js";
import type { OutcomeRecord } from "./records.js";

/**
 * Appends a validated command: the one write per command the design cannot
 * avoid. The counter item is overwritten whole each time (every attribute is
 * set), so its stream image is exactly this command with its new seq.
 */
export const appendCommand = async (
  { db, tables }: Store,
  microservice: AnyMicroservice,
  envelope: CommandEnvelope,
  receivedAt: number,
): Promise<{ key: string; seq: number }> => {
  const key = commandKeyOf(microservice.name, microservice.partitionBy, envelope.aggregateId);
  const result = await db.send(
    new UpdateCommand({
      TableName: tables.commands,
      Key: { key },
      UpdateExpression:
        "SET seq = if_not_exists(seq, :zero) + :one, #type = :type, #command = :command, aggregateId = :aggregateId, " +
        "#id = :id, #user = :user, occurredAt = :occurredAt, receivedAt = :receivedAt, payload = :payload",
      ExpressionAttributeNames: { "#type": "type", "#command": "command", "#id": "id", "#user": "user" },
      ExpressionAttributeValues: {
        ":zero": 0,
        ":one": 1,
        ":type": envelope.type,
        ":command": envelope.command,
        ":aggregateId": envelope.aggregateId,
        ":id": envelope.id,
        ":user": envelope.user,
        ":occurredAt": envelope.timestamp ?? receivedAt,
        ":receivedAt": receivedAt,
        ":payload": envelope.payload,
      },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  return { key, seq: Number(result.Attributes?.seq) };
};

export type OutcomeView =
  | { readonly status: "pending"; readonly key: string; readonly seq: number }
  | OutcomeRecord;

/** The outcome of command `seq` under `key`; pending if sent but not sequenced yet; undefined if never sent. */
export const readOutcome = async ({ db, tables }: Store, key: string, seq: number): Promise<OutcomeView | undefined> => {
  const outcome = await db.send(new GetCommand({ TableName: tables.outcomes, Key: { key, seq }, ConsistentRead: true }));
  if (outcome.Item) return outcome.Item as OutcomeRecord;
  const counter = await db.send(
    new GetCommand({ TableName: tables.commands, Key: { key }, ProjectionExpression: "seq", ConsistentRead: true }),
  );
  const sent = Number(counter.Item?.seq ?? 0);
  return seq >= 1 && seq <= sent ? { status: "pending", key, seq } : undefined;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls for the outcome until it is written or `waitMs` has passed. */
export const waitForOutcome = async (
  store: Store,
  key: string,
  seq: number,
  waitMs: number,
  pollMs = 25,
): Promise<OutcomeRecord | undefined> => {
  const deadline = Date.now() + waitMs;
  for (;;) {
    // Sleep first: a command appended a moment ago has not been through the stream and the sequencer yet.
    await sleep(Math.max(0, Math.min(pollMs, deadline - Date.now())));
    const outcome = await store.db.send(
      new GetCommand({ TableName: store.tables.outcomes, Key: { key, seq }, ConsistentRead: true }),
    );
    if (outcome.Item) return outcome.Item as OutcomeRecord;
    if (Date.now() >= deadline) return undefined;
    pollMs = Math.min(pollMs * 2, 200);
  }
};
