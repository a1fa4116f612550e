import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Store } from "./dynamo.js";
import type { Message } from "./decider.js";
import type { EventRecord } from "./records.js";

/** One page of a stream's events in version order, after version `after`. */
export const readEvents = async (
  { db, tables }: Store,
  streamId: string,
  after: number,
  limit: number,
): Promise<{ events: EventRecord[]; more: boolean }> => {
  const page = await db.send(
    new QueryCommand({
      TableName: tables.events,
      KeyConditionExpression: "streamId = :s AND #version > :after",
      ExpressionAttributeNames: { "#version": "version" },
      ExpressionAttributeValues: { ":s": streamId, ":after": after },
      Limit: limit,
      ConsistentRead: true,
    }),
  );
  return { events: (page.Items ?? []) as EventRecord[], more: page.LastEvaluatedKey !== undefined };
};

export interface LoggedEvent extends Message {
  readonly version: number;
  readonly occurredAt: number;
}

/** Events in log (version) order, optionally only up to `version`. */
export const readLog = async (store: Store, streamId: string, upTo?: number): Promise<LoggedEvent[]> => {
  const events: LoggedEvent[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await store.db.send(
      new QueryCommand({
        TableName: store.tables.events,
        KeyConditionExpression: upTo === undefined ? "streamId = :s" : "streamId = :s AND #version <= :upTo",
        ExpressionAttributeNames: { "#version": "version", "#type": "type", "#data": "data" },
        ExpressionAttributeValues: { ":s": streamId, ...(upTo === undefined ? {} : { ":upTo": upTo }) },
        ProjectionExpression: "#version, #type, #data, occurredAt",
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    events.push(...((page.Items ?? []) as LoggedEvent[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return events;
};

