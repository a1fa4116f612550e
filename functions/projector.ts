// Projections, live from the Kinesis "all events" stream and replayed from
// their FIFO queues: the same runner, with each source's partial-failure rules.
// One handler for every projection: ORDINAL_PROJECTION names the one it runs.
import type { KinesisStreamBatchResponse, KinesisStreamEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { partOf, type ExpandedApp } from "../core/app-definition.js";
import type { Store } from "../core/dynamo.js";
import { project, readModelCache, type AnyProjection, type ProjectResult } from "../core/projections/index.js";
import { handlerEnv, settingOf, type FunctionSpec } from "../core/topology.js";
import { appFromEnv, logger, storeFromEnv } from "./deps.js";
import { decodeEventRecord, decodeKinesisBatch } from "./event-records.js";
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

/**
 * Kinesis: a batch resumes from the first record reported, so report the
 * first that failed or could not be decoded; records after it come again,
 * and those already applied are skipped by the item's versions.
 */
export const makeLive = (deps: ProjectorDeps, spec: Pick<FunctionSpec, "environment">) => {
  const projection = projectionOf(deps, spec);
  const cache = readModelCache();
  return async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    const { records, poison, usable } = decodeKinesisBatch(event);
    if (poison !== -1) logger.error("a Kinesis record is not an event record", { projection: projection.name, sequenceNumber: records[poison]!.id });
    const failed = failedEventIds(projection, await project(deps.store, projection, usable.map((r) => r.event), { cache }));
    recordLag(deps, projection, usable.map((r) => r.event));
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
 * and write each read-model item once per batch.)
 */
export const makeReplay = (deps: ProjectorDeps, spec: Pick<FunctionSpec, "environment">) => {
  const projection = projectionOf(deps, spec);
  // No read-model cache here: a replay after a reset must see the items gone. One that remembered
  // them would find every event applied and write nothing (only a write's condition notices).
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const records = event.Records.map((r) => ({ id: r.messageId, group: r.attributes.MessageGroupId ?? "", event: decodeEventRecord(r.body) }));
    for (const r of records)
      if (!r.event) logger.error("an SQS message is not an event record", { projection: projection.name, messageId: r.id });
    const failed = failedEventIds(projection, await project(deps.store, projection, records.flatMap((r) => (r.event ? [r.event] : []))));
    const failedGroups = new Set<string>();
    const batchItemFailures: { itemIdentifier: string }[] = [];
    for (const r of records) {
      if (failedGroups.has(r.group) || !r.event || failed.has(r.event.eventId)) {
        failedGroups.add(r.group);
        batchItemFailures.push({ itemIdentifier: r.id });
      }
    }
    return { batchItemFailures };
  };
};

const depsFromEnv = (): ProjectorDeps => ({ store: storeFromEnv(), app: appFromEnv(), metrics: metricsFromEnv() });
export const live = lazy(() => makeLive(depsFromEnv(), { environment: process.env as Record<string, string> }));
export const replay = lazy(() => makeReplay(depsFromEnv(), { environment: process.env as Record<string, string> }));
