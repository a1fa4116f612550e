// Each event goes into the archive once, though Kinesis may carry it twice (a
// publisher retry, or a re-publish after a crash of the local stack). The
// archive keeps, per stream, the last version archived: an item of the
// projections table under the name "archive". A batch archives only what is
// past it, and a gap (an event whose predecessor never came) is filled from the log.
import { BatchGetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import type { Store } from "../dynamo.js";
import { readLog } from "../events.js";
import type { EventRecord } from "../records.js";

export const ARCHIVE_INDEX = "archive";

/** The last version archived of each stream, as the index holds it. */
export const archivedVersions = async (store: Store, streamIds: readonly string[]): Promise<Map<string, number>> => {
  const found = new Map<string, number>();
  for (let i = 0; i < streamIds.length; i += 100) {
    let keys: Record<string, unknown>[] | undefined = streamIds.slice(i, i + 100).map((key) => ({ projection: ARCHIVE_INDEX, key }));
    while (keys?.length) {
      const page: { Responses?: Record<string, Record<string, unknown>[]>; UnprocessedKeys?: Record<string, { Keys?: Record<string, unknown>[] }> } =
        await store.db.send(new BatchGetCommand({ RequestItems: { [store.tables.projections]: { Keys: keys, ConsistentRead: true } } }));
      for (const item of page.Responses?.[store.tables.projections] ?? []) found.set(item.key as string, item.version as number);
      keys = page.UnprocessedKeys?.[store.tables.projections]?.Keys;
    }
  }
  return found;
};

/** The batch's events not yet archived, each stream's in version order with no gap, and the version each stream reaches. */
export const toArchive = async (store: Store, events: readonly EventRecord[]): Promise<{ events: EventRecord[]; reached: Map<string, number> }> => {
  const archived = await archivedVersions(store, [...new Set(events.map((e) => e.streamId))]);
  const reached = new Map(archived);
  const kept: EventRecord[] = [];
  for (const event of events) {
    const last = reached.get(event.streamId) ?? 0;
    if (event.version <= last) continue;
    if (event.version > last + 1) kept.push(...(await readLog(store, event.streamId, { after: last, upTo: event.version - 1 })));
    kept.push(event);
    reached.set(event.streamId, event.version);
  }
  for (const [streamId, version] of archived) if (reached.get(streamId) === version) reached.delete(streamId);
  return { events: kept, reached };
};

/** Moves each stream's index to the version its archived object reached; never backwards. */
export const markArchived = async (store: Store, reached: ReadonlyMap<string, number>): Promise<void> => {
  await Promise.all(
    [...reached].map(async ([streamId, version]) => {
      try {
        await store.db.send(
          new UpdateCommand({
            TableName: store.tables.projections,
            Key: { projection: ARCHIVE_INDEX, key: streamId },
            UpdateExpression: "SET #version = :v",
            ConditionExpression: "attribute_not_exists(#version) OR #version < :v",
            ExpressionAttributeNames: { "#version": "version" },
            ExpressionAttributeValues: { ":v": version },
          }),
        );
      } catch (error) {
        // Already there: a retry of this batch, which wrote the same object.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }),
  );
};
