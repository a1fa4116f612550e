import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { TransactWriteCommand, type TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { setTimeout as sleep } from "node:timers/promises";
import { fromSnapshot, type Aggregate } from "../aggregates.js";
import { counterUpdate } from "../commands.js";
import type { AnyMicroservice } from "../decider.js";
import { batchGet, type Store } from "../dynamo.js";
import { eachLimited } from "../each-limited.js";
import { requestKeyOf } from "../keys.js";
import type { CommandRecord, OutcomeRecord, RequestRecord, SnapshotRecord } from "../records.js";
import { LRUCache } from "lru-cache";
import { chunkSteps, groupByStream, itemsPerStep, MAX_TRANSACTION_ITEMS, planGroup, type Group, type Step } from "./plan.js";

export interface SequencerDeps {
  readonly store: Store;
  readonly microservices: Readonly<Record<string, AnyMicroservice>>;
  readonly clock: () => number;
  /** Aggregates committed at once. */
  readonly concurrency?: number;
  /** Re-plans of one aggregate after a lost optimistic-concurrency race, before the batch fails. */
  readonly maxConflicts?: number;
  /** Snapshots committed by earlier batches of this instance (a warm Lambda, the local stack): planned from without a read. */
  readonly snapshots?: SnapshotCache;
  /** Told of each committed transaction's outcomes (metrics); a throw here is ignored, it must not fail the batch. */
  readonly onCommitted?: (outcomes: readonly OutcomeRecord[]) => void;
}

export interface SequenceResult {
  /** The first record (batch position) not committed; the batch must resume there. */
  readonly failedAt?: number;
  readonly errors: readonly unknown[];
  readonly committed: number;
}

type Transact = NonNullable<TransactWriteCommandInput["TransactItems"]>;

/** True when a transaction lost a race (a condition failed or another transaction held an item). */
const lostRace = (error: unknown): boolean =>
  error instanceof TransactionCanceledException &&
  (error.CancellationReasons ?? []).some((r) => r.Code === "ConditionalCheckFailed" || r.Code === "TransactionConflict");

/** One aggregate's transaction items: its steps' events, outcomes, request ids and sends, then its snapshot. */
const itemsOfChunk = (store: Store, group: Group, schemaVersion: number, before: Aggregate, existed: boolean, steps: readonly Step[], now: number) => {
  const { tables } = store;
  const after = steps[steps.length - 1]!.after;
  const items: Transact = [];
  for (const step of steps) {
    for (const event of step.events)
      items.push({ Put: { TableName: tables.events, Item: event, ConditionExpression: "attribute_not_exists(streamId)" } });
    items.push({ Put: { TableName: tables.outcomes, Item: step.outcome, ConditionExpression: "attribute_not_exists(#key)", ExpressionAttributeNames: { "#key": "key" } } });
    if (step.request)
      items.push({ Put: { TableName: tables.requests, Item: step.request, ConditionExpression: "attribute_not_exists(requestKey)" } });
    for (const send of step.sends) items.push({ Update: counterUpdate(tables.commands, send) });
  }
  const snapshot: SnapshotRecord = { streamId: group.streamId, version: after.version, schemaVersion, lastSeq: after.lastSeq, state: after.state, updatedAt: now };
  items.push({
    Put: {
      TableName: tables.snapshots,
      Item: snapshot,
      // Optimistic concurrency: the snapshot must still be the one this plan was made from.
      ...(existed
        ? { ConditionExpression: "lastSeq = :lastSeq AND #version = :version", ExpressionAttributeNames: { "#version": "version" }, ExpressionAttributeValues: { ":lastSeq": before.lastSeq, ":version": before.version } }
        : { ConditionExpression: "attribute_not_exists(streamId)" }),
    },
  });
  return { items, snapshot };
};

/** The snapshots a sequencer committed, kept across its batches: read again only when a write finds one stale. */
export type SnapshotCache = LRUCache<string, SnapshotRecord>;

/** Room for the aggregates a shard's sequencer sees in a while (a cart snapshot is well under a kilobyte). */
export const snapshotCache = (max = 10_000): SnapshotCache => new LRUCache({ max });

interface Loaded {
  readonly snapshots: ReadonlyMap<string, SnapshotRecord>;
  readonly taken: ReadonlyMap<string, { key: string; seq: number }>;
}

/** What a lost race needs: the aggregates' snapshots and the batch's request ids, as they are now (consistent reads). */
const load = async (store: Store, groups: readonly Group[]): Promise<Loaded> => {
  const requestKeys = [...new Set(groups.flatMap((g) => g.commands.map((c) => requestKeyOf(c.type, c.user, c.id))))];
  const [snapshots, requests] = await Promise.all([
    batchGet(store, store.tables.snapshots, groups.map((g) => ({ streamId: g.streamId }))),
    batchGet(store, store.tables.requests, requestKeys.map((requestKey) => ({ requestKey }))),
  ]);
  return {
    snapshots: new Map((snapshots as unknown as SnapshotRecord[]).map((s) => [s.streamId, s])),
    taken: new Map((requests as unknown as RequestRecord[]).map((r) => [r.requestKey, { key: r.key, seq: r.seq }])),
  };
};

/**
 * The first, optimistic guess: each snapshot from the cache, else read
 * eventually consistent, and every request id taken to be free. A guess that
 * is wrong fails its write's condition (stale snapshot, id already taken) and
 * the aggregate is planned again from consistent reads, so it costs a retry,
 * never a wrong outcome.
 */
const guess = async (store: Store, groups: readonly Group[], cache: SnapshotCache | undefined): Promise<Loaded> => {
  const snapshots = new Map<string, SnapshotRecord>();
  const unknown: Group[] = [];
  for (const group of groups) {
    const cached = cache?.get(group.streamId);
    if (cached) snapshots.set(group.streamId, cached);
    else unknown.push(group);
  }
  const read = await batchGet(store, store.tables.snapshots, unknown.map((g) => ({ streamId: g.streamId })), { consistent: false });
  for (const snapshot of read as unknown as SnapshotRecord[]) snapshots.set(snapshot.streamId, snapshot);
  return { snapshots, taken: new Map() };
};

interface Planned {
  readonly group: Group;
  readonly schemaVersion: number;
  readonly before: Aggregate;
  readonly existed: boolean;
  readonly chunks: readonly Step[][];
  readonly now: number;
}

const planned = async (deps: SequencerDeps, group: Group, loaded: Loaded): Promise<Planned> => {
  const microservice = deps.microservices[group.microservice];
  const snapshot = loaded.snapshots.get(group.streamId);
  const before = await fromSnapshot(deps.store, microservice, group.streamId, snapshot);
  const now = deps.clock();
  const steps = planGroup({ group, microservice, microservices: deps.microservices, current: before, taken: loaded.taken, now });
  return { group, schemaVersion: microservice?.schemaVersion ?? 0, before, existed: snapshot !== undefined, chunks: chunkSteps(steps), now };
};

/**
 * Applies one aggregate's commands on its own: commit its plan chunk by chunk;
 * a lost race re-reads the aggregate and its request ids and plans again, and
 * what was committed is skipped by the snapshot's checkpoint. Reports each
 * committed chunk's outcomes, so a later failure does not hide what did commit.
 */
const applyGroup = async (deps: SequencerDeps, first: Planned, onCommitted: (outcomes: readonly OutcomeRecord[]) => void): Promise<void> => {
  const maxConflicts = deps.maxConflicts ?? 8;
  let plan = first;
  for (let conflicts = 0; ; conflicts++) {
    let current = plan.before;
    let existed = plan.existed;
    try {
      for (const chunk of plan.chunks) {
        const { items, snapshot } = itemsOfChunk(deps.store, plan.group, plan.schemaVersion, current, existed, chunk, plan.now);
        await deps.store.db.send(new TransactWriteCommand({ TransactItems: items }));
        deps.snapshots?.set(snapshot.streamId, snapshot);
        current = snapshot;
        existed = true;
        onCommitted(chunk.map((step) => step.outcome));
      }
      return;
    } catch (error) {
      deps.snapshots?.delete(plan.group.streamId);
      if (!lostRace(error) || conflicts >= maxConflicts) throw error;
      if (conflicts > 0) await sleep(Math.random() * 10 * 2 ** conflicts);
      plan = await planned(deps, plan.group, await load(deps.store, [plan.group]));
    }
  }
};

/** Item keys a transaction may hold once only: request ids and the counters sends update. */
const onceKeysOf = (plan: Planned) =>
  plan.chunks.flat().flatMap((step) => [...(step.request ? [`r\u0000${step.request.requestKey}`] : []), ...step.sends.map((send) => `c\u0000${send.key}`)]);

/**
 * Packs aggregates whose plans fit one chunk into shared transactions of at
 * most MAX_TRANSACTION_ITEMS items, none holding one item twice: one
 * TransactWriteItems for a batch of many carts instead of one per cart.
 * Aggregates needing several chunks go alone.
 */
export const packPlans = <P extends Pick<Planned, "chunks"> & { readonly onceKeys: readonly string[] }>(plans: readonly P[], maxItems = MAX_TRANSACTION_ITEMS): P[][] => {
  const packs: P[][] = [];
  let pack: P[] = [];
  let items = 0;
  let keys = new Set<string>();
  for (const plan of plans) {
    if (plan.chunks.length !== 1) {
      packs.push([plan]);
      continue;
    }
    const size = plan.chunks[0]!.reduce((n, step) => n + itemsPerStep(step), 1);
    if (pack.length > 0 && (items + size > maxItems || plan.onceKeys.some((k) => keys.has(k)))) {
      packs.push(pack);
      pack = [];
      items = 0;
      keys = new Set();
    }
    pack.push(plan);
    items += size;
    for (const k of plan.onceKeys) keys.add(k);
  }
  if (pack.length > 0) packs.push(pack);
  return packs;
};

/**
 * Sequences one stream batch. Groups by aggregate, loads each aggregate's
 * snapshot and the batch's request ids once, and commits per aggregate. On a
 * failure it reports the earliest record not committed, so the event source
 * resumes there; records after it that did commit are skipped on redelivery.
 */
export const sequence = async (records: readonly CommandRecord[], deps: SequencerDeps): Promise<SequenceResult> => {
  const position = new Map(records.map((r, i) => [`${r.key}\u0000${r.seq}`, i]));
  const groups = groupByStream(records);
  const errors: unknown[] = [];
  let failedAt: number | undefined;
  let committed = 0;
  const told = (outcomes: readonly OutcomeRecord[]) => {
    committed += outcomes.length;
    try {
      deps.onCommitted?.(outcomes);
    } catch {
      // Observability only: a failing hook must not fail the batch.
    }
  };
  const failed = (group: Group, error: unknown) => {
    errors.push(error);
    // Commands before the failed one may have committed in earlier chunks; the
    // snapshot checkpoint skips them on redelivery, so resuming at the group's
    // first record is safe and simple.
    const first = Math.min(...group.commands.map((c) => position.get(`${c.key}\u0000${c.seq}`)!));
    failedAt = failedAt === undefined ? first : Math.min(failedAt, first);
  };
  let plans: (Planned & { onceKeys: string[] })[];
  try {
    const loaded = await guess(deps.store, groups, deps.snapshots);
    plans = await Promise.all(groups.map(async (group) => {
      const plan = await planned(deps, group, loaded);
      return { ...plan, onceKeys: onceKeysOf(plan) };
    }));
  } catch (error) {
    return { failedAt: 0, errors: [error], committed };
  }
  const alone = (plan: Planned) => applyGroup(deps, plan, told).catch((error) => failed(plan.group, error));
  await eachLimited(packPlans(plans.filter((p) => p.chunks.length > 0)), deps.concurrency ?? 16, async (pack) => {
    if (pack.length === 1) return alone(pack[0]!);
    const parts = pack.map((plan) => itemsOfChunk(deps.store, plan.group, plan.schemaVersion, plan.before, plan.existed, plan.chunks[0]!, plan.now));
    try {
      await deps.store.db.send(new TransactWriteCommand({ TransactItems: parts.flatMap((p) => p.items) }));
    } catch {
      // One aggregate's stale guess (or any failure) cancels the shared transaction: each goes alone,
      // and only the one whose guess was wrong re-reads.
      await Promise.all(pack.map(alone));
      return;
    }
    for (const [i, plan] of pack.entries()) {
      deps.snapshots?.set(plan.group.streamId, parts[i]!.snapshot);
      told(plan.chunks[0]!.map((step) => step.outcome));
    }
  });
  return { failedAt, errors, committed };
};
