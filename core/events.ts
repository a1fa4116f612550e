import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { queryAll, type Store } from "./dynamo.js";
import type { EventRecord } from "./records.js";

/** One page of a stream's events in version order, after version `after`. */
export const readEvents = async (
  { db, tables, upcast }: Store,
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
  const events = (page.Items ?? []) as EventRecord[];
  return { events: upcast ? events.map(upcast) : events, more: page.LastEvaluatedKey !== undefined };
};

/**
 * A stream's events in version order: all of them, or those after `after`
 * and up to `upTo`. The integrity-sensitive readers (folds, gap fills) all
 * come through here, with consistent reads. Both read events upcast to
 * their types' current versions when the store says how.
 */
export const readLog = async (
  store: Store,
  streamId: string,
  { after = 0, upTo }: { after?: number; upTo?: number } = {},
): Promise<EventRecord[]> => {
  if (upTo !== undefined && upTo <= after) return []; // BETWEEN would refuse an empty range
  const events = await queryAll<EventRecord>(store, {
    TableName: store.tables.events,
    KeyConditionExpression:
      upTo === undefined ? "streamId = :s AND #version > :after" : "streamId = :s AND #version BETWEEN :from AND :upTo",
    ExpressionAttributeNames: { "#version": "version" },
    ExpressionAttributeValues: { ":s": streamId, ...(upTo === undefined ? { ":after": after } : { ":from": after + 1, ":upTo": upTo }) },
    ConsistentRead: true,
  });
  return store.upcast ? events.map(store.upcast) : events;
};
