// The commands table's stream → sequencer: events, snapshot and outcomes per aggregate in one transaction.
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import type { CommandRecord, OutcomeRecord } from "../core/records.js";
import { sequence, snapshotCache, type SequencerDeps } from "../core/sequencer/sequencer.js";
import { appFromEnv, logger, storeFromEnv } from "./deps.js";
import { lazy } from "./http.js";
import { countBy, metricsFromEnv, MetricUnit, publishing, type Metrics } from "./metrics.js";
import { newImages } from "./stream-images.js";

/** Outcomes written, by microservice and status: the dashboard's "outcomes by status". */
const outcomeCounts = (outcomes: readonly OutcomeRecord[], into: Map<string, { dimensions: Record<string, string>; count: number }>) => {
  for (const outcome of outcomes) {
    const microservice = outcome.key.split(":")[0]!;
    const at = `${microservice}\u0000${outcome.status}`;
    const entry = into.get(at) ?? { dimensions: { microservice, status: outcome.status }, count: 0 };
    entry.count++;
    into.set(at, entry);
  }
};

export const makeHandler = (deps: SequencerDeps & { readonly metrics?: Metrics }) =>
  publishing(deps.metrics, async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const started = Date.now();
    const delivered = newImages<CommandRecord>(event);
    const counts = new Map<string, { dimensions: Record<string, string>; count: number }>();
    const result = await sequence(
      delivered.map((d) => d.item),
      {
        ...deps,
        onCommitted: (outcomes) => {
          outcomeCounts(outcomes, counts);
          deps.onCommitted?.(outcomes);
        },
      },
    );
    countBy(deps.metrics, "Outcomes", counts);
    deps.metrics?.addMetric("SequencerBatchSize", MetricUnit.Count, delivered.length);
    deps.metrics?.addMetric("SequencerBatchDuration", MetricUnit.Milliseconds, Date.now() - started);
    if (result.failedAt === undefined) return { batchItemFailures: [] };
    const failed = delivered[result.failedAt]!;
    logger.error("sequencing failed; the batch resumes at the first command not committed", {
      key: failed.item.key,
      seq: failed.item.seq,
      correlationId: failed.item.correlationId ?? `${failed.item.key}/${failed.item.seq}`,
      errors: result.errors.map(String),
    });
    return { batchItemFailures: [{ itemIdentifier: failed.sequenceNumber }] };
  });

export const handler = lazy(() =>
  makeHandler({ store: storeFromEnv(), microservices: appFromEnv().microservices, clock: Date.now, snapshots: snapshotCache(), metrics: metricsFromEnv() }),
);
