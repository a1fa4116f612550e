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
import { chunkSteps, groupByStream, planGroup, type Group, type Step } from "./plan.js";

export interface SequencerDeps {
  readonly store: Store;
  readonly microservices: Readonly<Record<string, AnyMicroservice>>;
  readonly clock: () => number;
  /** Aggregates committed at once. */
  readonly concurrency?: number;
  /** Re-plans of one aggregate after a lost optimistic-concurrency race, before the batch fails. */
  readonly maxConflicts?: number;
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

const commitChunk = async (store: Store, group: Group, schemaVersion: number, before: Aggregate, existed: boolean, steps: readonly Step[], now: number) => {
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
  await store.db.send(new TransactWriteCommand({ TransactItems: items }));
  return after;
};

interface Loaded {
  readonly snapshots: ReadonlyMap<string, SnapshotRecord>;
  readonly taken: ReadonlyMap<string, { key: string; seq: number }>;
}

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
 * Applies one aggregate's commands: plan, then commit chunk by chunk. A lost
 * race re-reads the aggregate and plans again; what was committed is skipped
 * by the snapshot's checkpoint. Reports each committed chunk's size to
 * `onCommitted` (its outcomes), so a later failure does not hide what did commit.
 */
const applyGroup = async (
  deps: SequencerDeps,
  group: Group,
  preloaded: Loaded,
  onCommitted: (outcomes: readonly OutcomeRecord[]) => void,
): Promise<void> => {
  const microservice = deps.microservices[group.microservice];
  const schemaVersion = microservice?.schemaVersion ?? 0;
  const maxConflicts = deps.maxConflicts ?? 8;
  let loaded = preloaded;
  for (let conflicts = 0; ; conflicts++) {
    const snapshot = loaded.snapshots.get(group.streamId);
    let current = await fromSnapshot(deps.store, microservice, group.streamId, snapshot);
    let existed = snapshot !== undefined;
    const now = deps.clock();
    const steps = planGroup({ group, microservice, microservices: deps.microservices, current, taken: loaded.taken, now });
    try {
      for (const chunk of chunkSteps(steps)) {
        current = await commitChunk(deps.store, group, schemaVersion, current, existed, chunk, now);
        existed = true;
        onCommitted(chunk.map((step) => step.outcome));
      }
      return;
    } catch (error) {
      if (!lostRace(error) || conflicts >= maxConflicts) throw error;
      await sleep(Math.random() * 10 * 2 ** conflicts);
      loaded = await load(deps.store, [group]);
    }
  }
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
  let loaded: Loaded;
  try {
    loaded = await load(deps.store, groups);
  } catch (error) {
    return { failedAt: 0, errors: [error], committed };
  }
  await eachLimited(groups, deps.concurrency ?? 16, async (group) => {
    try {
      await applyGroup(deps, group, loaded, (outcomes) => {
        committed += outcomes.length;
        try {
          deps.onCommitted?.(outcomes);
        } catch {
          // Observability only: a failing hook must not fail the batch.
        }
      });
    } catch (error) {
      errors.push(error);
      // Commands before the failed one may have committed in earlier chunks; the
      // snapshot checkpoint skips them on redelivery, so resuming at the group's
      // first record is safe and simple.
      const first = Math.min(...group.commands.map((c) => position.get(`${c.key}\u0000${c.seq}`)!));
      failedAt = failedAt === undefined ? first : Math.min(failedAt, first);
    }
  });
  return { failedAt, errors, committed };
};
