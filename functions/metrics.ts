// Powertools Metrics (CloudWatch embedded metric format) for the pipeline:
// what the dashboard plots. Built from the Lambda environment only; the local
// stack passes none, so its logs stay readable lines, not EMF blobs.
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

export const METRICS_NAMESPACE = "Ordinal";

/** The metrics of one function instance, or undefined where none are published. */
export const metricsFromEnv = (env: NodeJS.ProcessEnv = process.env): Metrics | undefined =>
  env.AWS_LAMBDA_FUNCTION_NAME ? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "ordinal" }) : undefined;

/** Runs one invocation and publishes what it recorded, also when it throws. */
export const publishing =
  <E, R>(metrics: Metrics | undefined, handler: (event: E) => Promise<R>) =>
  async (event: E): Promise<R> => {
    try {
      return await handler(event);
    } finally {
      if (metrics?.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };

/** Counts by one or more dimensions, each set as its own EMF line (a batch holds several microservices). */
export const countBy = (metrics: Metrics | undefined, name: string, counts: ReadonlyMap<string, { dimensions: Record<string, string>; count: number }>) => {
  if (!metrics) return;
  for (const { dimensions, count } of counts.values()) {
    const single = metrics.singleMetric();
    single.addDimensions(dimensions);
    single.addMetric(name, MetricUnit.Count, count);
  }
};

export { MetricUnit, type Metrics };
