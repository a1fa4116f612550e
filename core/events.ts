import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Store } from "./dynamo.js";
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
