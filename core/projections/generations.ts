// A projection's read models live in generations: the one that serves reads,
// at most one being rebuilt beside it, and the one it replaced, kept a while
// for readers that have not yet heard of the swap. One item per projection in
// the projections table (partition "generations") says which is which; each
// generation's items are a partition of their own (see partitionOf).
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Store } from "../dynamo.js";
import type { Projection } from "./projection.js";

/** The partition of the projections table holding each projection's generations item. */
export const GENERATIONS = "generations";

export interface Generation {
  readonly generation: number;
  /** The projection's `version` whose `evolve` built it. */
  readonly version: number;
}

export interface Generations {
  readonly projection: typeof GENERATIONS;
  /** The projection's name. */
  readonly key: string;
  /** Answers reads, and takes live events while its version is the code's. */
  readonly serving: Generation;
  /** Being rebuilt from the archive by the replay `replayId`; takes live events too. */
  readonly building?: Generation & { readonly replayId: string };
  /** The generation `serving` replaced: kept current until `until` (ms since epoch), then deleted. */
  readonly retiring?: Generation & { readonly until: number };
  /** The number the next generation takes: numbers are never reused, so no cache can mistake one for another. */
  readonly next: number;
}

/** A projection's version: 1 unless it declares one. */
export const versionOf = (projection: Pick<Projection, "version">): number => projection.version ?? 1;

/** Generation 1 is the projection's name, as read models were kept before generations existed; later ones add `@n`. */
export const partitionOf = (name: string, generation: number): string => (generation === 1 ? name : `${name}@${generation}`);

/** The projection as the runner sees one generation of it: its name is the partition. */
export const inGeneration = <P extends Projection<any, any>>(projection: P, generation: number): P => ({
  ...projection,
  name: partitionOf(projection.name, generation),
});

/** What a projection that has never had a generations item has: its name's partition, at the code's version. */
export const initialGenerations = (projection: Pick<Projection, "name" | "version">): Generations => ({
  projection: GENERATIONS,
  key: projection.name,
  serving: { generation: 1, version: versionOf(projection) },
  next: 2,
});

export const loadGenerations = async (store: Store, name: string, { consistent = true } = {}): Promise<Generations | undefined> => {
  const { Item } = await store.db.send(
    new GetCommand({ TableName: store.tables.projections, Key: { projection: GENERATIONS, key: name }, ConsistentRead: consistent }),
  );
  return Item as Generations | undefined;
};

/** The projection's generations item, written as initialGenerations if it has none; answers whether it wrote it. */
export const ensureGenerations = async (store: Store, projection: Pick<Projection, "name" | "version">): Promise<{ generations: Generations; created: boolean }> => {
  const found = await loadGenerations(store, projection.name);
  if (found) return { generations: found, created: false };
  const generations = initialGenerations(projection);
  try {
    await store.db.send(
      new PutCommand({ TableName: store.tables.projections, Item: generations, ConditionExpression: "attribute_not_exists(#key)", ExpressionAttributeNames: { "#key": "key" } }),
    );
    return { generations, created: true };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return { generations: (await loadGenerations(store, projection.name))!, created: false };
  }
};

/**
 * The generations live events go to: every one listed, as long as the code's
 * `evolve` is the one that built it. A generation of another version is left
 * as it is (frozen) rather than folded by an `evolve` that does not know its
 * model: readers keep what they saw until the rebuild at this version serves.
 */
export const liveGenerations = (generations: Generations | undefined, projection: Pick<Projection, "name" | "version">): number[] => {
  const { serving, building, retiring } = generations ?? initialGenerations(projection);
  const version = versionOf(projection);
  return [serving, building, retiring].flatMap((g) => (g && g.version === version ? [g.generation] : []));
};

/** Whether a replay's messages for `generation` still have somewhere to go. */
export const acceptsReplayInto = (generations: Generations | undefined, generation: number): boolean => {
  const { serving, building } = generations ?? { serving: { generation: 1 }, building: undefined };
  return serving.generation === generation || building?.generation === generation;
};

/**
 * How long a process may act on a generations item it read: every reader
 * and projector caches it this long. A replay job allows for it where a
 * stale copy matters: it reads the log for a rebuild only this long after
 * taking the new generation (so every live batch after that feeds it), keeps
 * a replaced generation current at least this long after the swap, and
 * deletes a dropped or retired generation only this long after no item
 * names it any more.
 */
export const GENERATIONS_TTL_MS = 1_000;

/** A projection's generations item, per process cached for `ttlMs`: one read a second, not one per batch or request. */
export const generationsCache = (store: Store, { ttlMs = GENERATIONS_TTL_MS, consistent = true, clock = Date.now }: { ttlMs?: number; consistent?: boolean; clock?: () => number } = {}) => {
  const cache = new Map<string, { generations: Generations | undefined; at: number }>();
  return async (name: string): Promise<Generations | undefined> => {
    const hit = cache.get(name);
    if (hit && clock() - hit.at < ttlMs) return hit.generations;
    const at = clock();
    const generations = await loadGenerations(store, name, { consistent });
    cache.set(name, { generations, at });
    return generations;
  };
};

/** The partition a reader reads (eventually consistent, cached: a replaced generation stays current past the cache's life). */
export const servingPartitions = (store: Store, ttlMs = GENERATIONS_TTL_MS, clock: () => number = Date.now) => {
  const generationsOf = generationsCache(store, { ttlMs, consistent: false, clock });
  return async (name: string): Promise<string> => partitionOf(name, (await generationsOf(name))?.serving.generation ?? 1);
};
