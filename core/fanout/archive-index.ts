// Each event goes into the archive once, though Kinesis may carry it twice (a
// publisher retry, or a re-publish after a crash of the local stack). The
// archive keeps, per stream, the last version archived: an item of the
// projections table under the name "archive". A batch archives only what is
// past it, and a gap (an event whose predecessor never came) is filled from the log.
//
// An object and the index cannot change together, so each shard has a pending
// marker: written before the object, naming it and the versions it holds, and
// deleted once the index has them. A batch that finds a marker (the last one
// died between the two) first writes that object again from the log and moves
// the index, so the events are neither lost nor archived a second time under
// another key by a batch made of other records.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { batchGet, type Store } from "../dynamo.js";
import { readLog } from "../events.js";
import type { EventRecord } from "../records.js";
import { archive, type ArchiveBatch } from "./archiver.js";

export const ARCHIVE_INDEX = "archive";

/** The last version archived of each stream, as the index holds it. */
const archivedVersions = async (store: Store, streamIds: readonly string[]): Promise<Map<string, number>> => {
  const items = await batchGet(store, store.tables.projections, streamIds.map((key) => ({ projection: ARCHIVE_INDEX, key })));
  return new Map(items.map((item) => [item.key as string, item.version as number]));
};

interface ToArchive {
  /** Not yet archived, each stream's in version order with no gap. */
  readonly events: EventRecord[];
  /** Per stream, the first and last version of `events`. */
  readonly ranges: Map<string, [number, number]>;
  /** Position in the batch of the first event that is (or brought a gap filler) into `events`. */
  readonly first: number;
}

/** The batch's events not yet archived, with what fills their gaps. */
const toArchive = async (store: Store, events: readonly EventRecord[]): Promise<ToArchive> => {
  const archived = await archivedVersions(store, [...new Set(events.map((e) => e.streamId))]);
  const reached = new Map(archived);
  const ranges = new Map<string, [number, number]>();
  const kept: EventRecord[] = [];
  let first = -1;
  for (const [position, event] of events.entries()) {
    const last = reached.get(event.streamId) ?? 0;
    if (event.version <= last) continue;
    if (event.version > last + 1) kept.push(...(await readLog(store, event.streamId, { after: last, upTo: event.version - 1 })));
    kept.push(event);
    if (first < 0) first = position;
    reached.set(event.streamId, event.version);
    ranges.set(event.streamId, [ranges.get(event.streamId)?.[0] ?? last + 1, event.version]);
  }
  return { events: kept, ranges, first };
};

const pendingKey = (shardId: string) => ({ projection: ARCHIVE_INDEX, key: `pending#${shardId}` });

/** Where an object goes and what it holds: the first and last version of each stream. */
type Placement = Omit<ArchiveBatch, "events">;
type Ranges = ReadonlyMap<string, readonly [number, number]>;

interface Pending {
  readonly batch: Omit<Placement, "arrivedAt"> & { readonly arrivedAt: number };
  readonly ranges: Record<string, [number, number]>;
}

/**
 * Archives the events (one shard's, in its order) not in the archive yet, each
 * once. `placementOf(first)` places the object by the record at position
 * `first` of `events`, the first one with anything new: no two objects share a key.
 */
export const archiveOnce = async (
  store: Store,
  s3: S3Client,
  bucket: string,
  shardId: string,
  events: readonly EventRecord[],
  placementOf: (first: number) => Placement,
): Promise<number> => {
  await finishPending(store, s3, bucket, shardId);
  const found = await toArchive(store, events);
  if (found.events.length === 0) return 0;
  const placement = placementOf(found.first);
  const pending: Pending = { batch: { ...placement, arrivedAt: placement.arrivedAt.getTime() }, ranges: Object.fromEntries(found.ranges) };
  await store.db.send(new PutCommand({ TableName: store.tables.projections, Item: { ...pendingKey(shardId), ...pending } }));
  await commit(store, s3, bucket, shardId, { ...placement, events: found.events }, found.ranges);
  return found.events.length;
};

/** A marker left by a batch that did not finish: its object is written again, from the log, and the index moved. */
const finishPending = async (store: Store, s3: S3Client, bucket: string, shardId: string) => {
  const { Item } = await store.db.send(new GetCommand({ TableName: store.tables.projections, Key: pendingKey(shardId), ConsistentRead: true }));
  if (!Item) return;
  const { batch, ranges } = Item as unknown as Pending;
  const logs = await Promise.all(Object.entries(ranges).map(([streamId, [from, to]]) => readLog(store, streamId, { after: from - 1, upTo: to })));
  await commit(store, s3, bucket, shardId, { ...batch, arrivedAt: new Date(batch.arrivedAt), events: logs.flat() }, new Map(Object.entries(ranges)));
};

/** The object, then the index, then the marker goes: the order that makes a crash anywhere recoverable. */
const commit = async (store: Store, s3: S3Client, bucket: string, shardId: string, batch: ArchiveBatch, ranges: Ranges) => {
  await archive(s3, bucket, batch);
  await markArchived(store, ranges);
  await store.db.send(new DeleteCommand({ TableName: store.tables.projections, Key: pendingKey(shardId) }));
};

/** Moves each stream's index to the last version its archived object holds; never backwards. */
const markArchived = async (store: Store, ranges: Ranges): Promise<void> => {
  await Promise.all(
    [...ranges].map(async ([streamId, [, version]]) => {
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
