// The events table's stream → publisher: every new event to Kinesis "all events" and the SNS topic.
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { publish } from "../core/fanout/publisher.js";
import type { EventRecord } from "../core/records.js";
import { fanoutDepsFromEnv, logger, type FanoutDeps } from "./deps.js";
import { lazy } from "./http.js";
import { MetricUnit, publishing } from "./metrics.js";
import { newImages } from "./stream-images.js";

export const makeHandler = (deps: Pick<FanoutDeps, "kinesis" | "sns" | "names" | "metrics">) =>
  publishing(deps.metrics, async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    // Events are written once and never changed, so only inserts are news.
    const delivered = newImages<EventRecord>(event, "INSERT");
    const result = await publish(
      delivered.map((d) => d.item),
      { kinesis: deps.kinesis, sns: deps.sns, streamName: deps.names.allEventsStream, topicArn: deps.names.eventsTopicArn },
    );
    deps.metrics?.addMetric("EventsPublished", MetricUnit.Count, result.failedAt ?? delivered.length);
    if (result.failedAt === undefined) return { batchItemFailures: [] };
    const failed = delivered[result.failedAt]!;
    logger.error("publishing failed; the batch resumes at the first event not on both Kinesis and SNS", {
      eventId: failed.item.eventId,
      correlationId: failed.item.correlationId,
      errors: result.errors.map(String),
    });
    return { batchItemFailures: [{ itemIdentifier: failed.sequenceNumber }] };
  });

export const handler = lazy(() => makeHandler(fanoutDepsFromEnv()));
