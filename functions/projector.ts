// Projections, live from the Kinesis "all events" stream and replayed from
// their FIFO queues: the same runner, with each source's partial-failure rules.
// One handler for every projection: ORDINAL_PROJECTION names the one it runs.
import type { KinesisStreamBatchResponse, KinesisStreamEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { partOf, type ExpandedApp } from "../core/app-definition.js";
import type { Store } from "../core/dynamo.js";
import {
  acceptsReplayInto,
  inGeneration,
  generationsCache,
  liveGenerations,
  project,
  readModelCache,
  type AnyProjection,
  type ProjectResult,
  type ReadModelCache,
} from "../core/projections/index.js";
import { countApplied } from "../core/replay-jobs.js";
import { handlerEnv, settingOf, type FunctionSpec } from "../core/topology.js";
import { appFromEnv, logger, storeFromEnv } from "./deps.js";
import { decodeKinesisBatch, decodeReplayMessage } from "./event-records.js";
import { lazy } from "./http.js";
import { metricsFromEnv, MetricUnit, type Metrics } from "./metrics.js";
import type { EventRecord } from "../core/records.js";

export interface ProjectorDeps {
  readonly store: Store;
  readonly app: Pick<ExpandedApp, "projections">;
  readonly metrics?: Metrics;
}

/** How far behind the log a projection is: from the newest event's commit to now. */
const recordLag = (deps: ProjectorDeps, projection: AnyProjection, events: readonly EventRecord[]) => {
  if (!deps.metrics || events.length === 0) return;
  const newest = Math.max(...events.map((e) => e.recordedAt));
  const single = deps.metrics.singleMetric();
  single.addDimensions({ projection: projection.name });
  single.addMetric("ProjectionLag", MetricUnit.Milliseconds, Math.max(0, Date.now() - newest));
};

/** The projection a consumer runs, as its environment names it. */
const projectionOf = (deps: ProjectorDeps, spec: Pick<FunctionSpec, "environment">): AnyProjection =>
  partOf(deps.app.projections, "projection", settingOf(spec.environment, handlerEnv.projection));

const failedEventIds = (projection: AnyProjection, result: ProjectResult): Set<string> => {
  for (const failure of result.failures)
    logger.error("projection failed for an item; its records will be delivered again", {
      projection: projection.name,
      key: failure.key,
      events: failure.eventIds.length,
      error: failure.error as Error,
    });
  return new Set(result.failures.flatMap((f) => f.eventIds));
};

/** Each generation's result, as one: an event failed if it failed in any generation it went to. */
const projectInto = async (deps: ProjectorDeps, projection: AnyProjection, byGeneration: ReadonlyMap<number, readonly EventRecord[]>, cache?: ReadModelCache) => {
  const failed = new Set<string>();
  for (const [generation, events] of byGeneration)
    for (const id of failedEventIds(projection, await project(deps.store, inGeneration(projection, generation), events, { cache }))) failed.add(id);
  return failed;
};

/**
 * Kinesis: a batch resumes from the first record reported, so report the
 * first that failed or could not be decoded; records after it come again,
 * and those already applied are skipped by the item's versions. Every batch
 * goes to each generation that takes live events (the one serving, and one
 * being rebuilt), as the generations item said at most GENERATIONS_TTL_MS
 * ago: a rebuild reads the log only after that long, so every batch it does
 * not see in the archive fed it.
 */
export const makeLive = (deps: ProjectorDeps, spec: Pick<FunctionSpec, "environment">) => {
  const projection = projectionOf(deps, spec);
  const cache = readModelCache();
  const generationsOf = generationsCache(deps.store);
  return async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    const { records, poison, usable } = decodeKinesisBatch(event);
    if (poison !== -1) logger.error("a Kinesis record is not an event record", { projection: projection.name, sequenceNumber: records[poison]!.id });
    const events = usable.map((r) => r.event);
    const generations = liveGenerations(await generationsOf(projection.name), projection);
    const failed = await projectInto(deps, projection, new Map(generations.map((g) => [g, events])), cache);
    recordLag(deps, projection, events);
    const firstFailed = usable.findIndex((r) => failed.has(r.event.eventId));
    const at = firstFailed === -1 ? poison : firstFailed;
    return { batchItemFailures: at === -1 ? [] : [{ itemIdentifier: records[at]!.id }] };
  };
};

/**
 * SQS FIFO: report each failed message and every later one of its group,
 * so a group is never applied past a message that will come again. Other
 * groups' messages succeed. (Powertools' SqsFifoPartialProcessor does the
 * same one record at a time; the runner wants the batch at once, to read
 * and write each read-model item once per batch.) Each message names the
 * generation its replay builds; one whose generation is gone (a cancelled
 * rebuild) is dropped. What each replay's messages did is added to its job.
 */
export const makeReplay = (deps: ProjectorDeps, spec: Pick<FunctionSpec, "environment">) => {
  const projection = projectionOf(deps, spec);
  // No read-model cache here: a replay must see what is in the table, not what a cache remembers.
  const generationsOf = generationsCache(deps.store);
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const records = event.Records.map((r) => ({ id: r.messageId, group: r.attributes.MessageGroupId ?? "", message: decodeReplayMessage(r.body) }));
    for (const r of records)
      if (!r.message) logger.error("an SQS message is not a replayed event record", { projection: projection.name, messageId: r.id });
    const generations = await generationsOf(projection.name);
    const serving = generations?.serving.generation ?? 1;
    const byGeneration = new Map<number, EventRecord[]>();
    for (const { message } of records) {
      if (!message) continue;
      const generation = message.replay?.generation ?? serving;
      if (!acceptsReplayInto(generations, generation)) continue;
      const events = byGeneration.get(generation);
      if (events) events.push(message.event);
      else byGeneration.set(generation, [message.event]);
    }
    const failed = await projectInto(deps, projection, byGeneration);
    const failedGroups = new Set<string>();
    const batchItemFailures: { itemIdentifier: string }[] = [];
    const handled = new Map<string, number>();
    for (const r of records) {
      if (failedGroups.has(r.group) || !r.message || failed.has(r.message.event.eventId)) {
        failedGroups.add(r.group);
        batchItemFailures.push({ itemIdentifier: r.id });
      } else if (r.message.replay) handled.set(r.message.replay.id, (handled.get(r.message.replay.id) ?? 0) + 1);
    }
    await Promise.all([...handled].map(([replayId, count]) => countApplied(deps.store, replayId, count)));
    return { batchItemFailures };
  };
};

const depsFromEnv = (): ProjectorDeps => ({ store: storeFromEnv(), app: appFromEnv(), metrics: metricsFromEnv() });
export const live = lazy(() => makeLive(depsFromEnv(), { environment: process.env as Record<string, string> }));
export const replay = lazy(() => makeReplay(depsFromEnv(), { environment: process.env as Record<string, string> }));
