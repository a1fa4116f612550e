// Runs a projection over a batch of events against the projections table:
// at most one read and one conditional write per read-model item per batch,
// and no read for an item this runner wrote last (the write's condition
// catches another writer having moved it since).
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { setTimeout as sleep } from "node:timers/promises";
import type { Store } from "../dynamo.js";
import { eachLimited } from "../each-limited.js";
import { readLog } from "../events.js";
import type { EventRecord } from "../records.js";
import { applyToReadModel, emptyCheckpoint, type FetchMissing } from "./apply.js";
import { accepts, type Projection } from "./projection.js";
import { LRUCache } from "lru-cache";
import { loadReadModel, type ReadModelItem } from "./read-models.js";

export interface KeyFailure {
  readonly key: string;
  /** Every delivered event of this item: none of them can be counted as applied. */
  readonly eventIds: readonly string[];
  readonly error: unknown;
}

export interface ProjectResult {
  readonly applied: number;
  readonly skipped: number;
  readonly filled: number;
  readonly written: number;
  readonly failures: readonly KeyFailure[];
}

export interface ProjectOptions {
  /** Re-reads of one item after a lost write race, before that item fails. */
  readonly maxConflicts?: number;
  /** Items written at once. */
  readonly concurrency?: number;
  /** The items this runner last read or wrote, by projection and key: a warm Lambda's, or the local stack's. */
  readonly cache?: ReadModelCache;
}

export type ReadModelCache = LRUCache<string, ReadModelItem<unknown>>;

/** Room for the read-model items a projection's consumer sees in a while. */
export const readModelCache = (max = 10_000): ReadModelCache => new LRUCache({ max });

/** Another writer kept winning the race for an item. */
export class ConcurrencyError extends Error {}

/** Reads a gap from the batch when the batch holds it, else from the events table. */
const fetchFrom = (store: Store, batch: readonly EventRecord[]): FetchMissing => {
  const at = (streamId: string, version: number) => `${streamId}\u0000${version}`;
  const delivered = new Map(batch.map((e) => [at(e.streamId, e.version), e]));
  return async (streamId, after, before) => {
    const fromBatch: EventRecord[] = [];
    for (let version = after + 1; version < before; version++) {
      const event = delivered.get(at(streamId, version));
      if (!event) break;
      fromBatch.push(event);
    }
    if (fromBatch.length === before - 1 - after) return fromBatch;
    return readLog(store, streamId, { after, upTo: before - 1 });
  };
};

const projectKey = async <M>(
  store: Store,
  projection: Projection<M, any>,
  key: string,
  events: readonly EventRecord[],
  fetchMissing: FetchMissing,
  maxConflicts: number,
  cache: ReadModelCache | undefined,
) => {
  const cached = `${projection.name}\u0000${key}`;
  for (let conflicts = 0; ; conflicts++) {
    // A lost race below drops the cached item, so a retry reads the table.
    let item = cache?.get(cached) as ReadModelItem<M> | undefined;
    if (!item) {
      item = await loadReadModel<M>(store, projection, key);
      if (item) cache?.set(cached, item);
    }
    const result = await applyToReadModel<M>(projection, key, item ?? emptyCheckpoint<M>(projection), events, fetchMissing);
    if (!result.changed) return { ...result, written: 0 };
    const next: ReadModelItem<M> = {
      projection: projection.name,
      key,
      revision: (item?.revision ?? 0) + 1,
      versions: result.versions,
      model: result.model,
    };
    try {
      await store.db.send(
        new PutCommand({
          TableName: store.tables.projections,
          Item: next,
          // Optimistic concurrency: live and replay deliveries of one item may race.
          ...(item
            ? { ConditionExpression: "revision = :revision", ExpressionAttributeValues: { ":revision": item.revision } }
            : { ConditionExpression: "attribute_not_exists(#key)", ExpressionAttributeNames: { "#key": "key" } }),
        }),
      );
      cache?.set(cached, next);
      return { ...result, written: 1 };
    } catch (error) {
      cache?.delete(cached);
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (conflicts >= maxConflicts) throw new ConcurrencyError(`${projection.name}/${key}: lost ${conflicts + 1} write races in a row`);
      await sleep(Math.random() * Math.min(200, 5 * 2 ** conflicts));
    }
  }
};

/**
 * Folds a batch into the projection's read models. Events of other types are
 * dropped; the rest are grouped by item, each item in delivery order. An
 * item that fails is reported with its events and leaves the others be.
 */
export const project = async <M>(
  store: Store,
  projection: Projection<M, any>,
  events: readonly EventRecord[],
  { maxConflicts = 8, concurrency = 8, cache }: ProjectOptions = {},
): Promise<ProjectResult> => {
  if (store.upcast) events = events.map(store.upcast); // every event at its type's current version, gap fills too (readLog)
  const byKey = new Map<string, EventRecord[]>();
  for (const event of events) {
    if (!accepts(projection, event)) continue;
    const key = projection.keyOf(event);
    const group = byKey.get(key);
    if (group) group.push(event);
    else byKey.set(key, [event]);
  }
  const fetchMissing = fetchFrom(store, events);
  const totals = { applied: 0, skipped: 0, filled: 0, written: 0 };
  const failures: KeyFailure[] = [];
  await eachLimited([...byKey], concurrency, async ([key, group]) => {
    try {
      const result = await projectKey(store, projection, key, group, fetchMissing, maxConflicts, cache);
      totals.applied += result.applied;
      totals.skipped += result.skipped;
      totals.filled += result.filled;
      totals.written += result.written;
    } catch (error) {
      failures.push({ key, eventIds: group.map((e) => e.eventId), error });
    }
  });
  return { ...totals, failures };
};
