// The events table's stream → publisher: every new event to Kinesis "all events" and the SNS topic.
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { publish } from "../core/fanout/publisher.js";
import type { EventRecord } from "../core/records.js";
import { fanoutDepsFromEnv, logger, type FanoutDeps } from "./deps.js";
import { lazy } from "./http.js";

export const makeHandler =
  (deps: Pick<FanoutDeps, "kinesis" | "sns" | "names">) =>
  async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    // Events are written once and never changed, so only inserts are news.
    const delivered = event.Records.flatMap((record) => {
      const image = record.dynamodb?.NewImage;
      return record.eventName === "INSERT" && image
        ? [{ sequenceNumber: record.dynamodb!.SequenceNumber!, event: unmarshall(image as Record<string, AttributeValue>) as EventRecord }]
        : [];
    });
    const result = await publish(
      delivered.map((d) => d.event),
      { kinesis: deps.kinesis, sns: deps.sns, streamName: deps.names.allEventsStream, topicArn: deps.names.eventsTopicArn },
    );
    if (result.failedAt === undefined) return { batchItemFailures: [] };
    const failed = delivered[result.failedAt]!;
    logger.error("publishing failed; the batch resumes at the first event not on both Kinesis and SNS", {
      eventId: failed.event.eventId,
      errors: result.errors.map(String),
    });
    return { batchItemFailures: [{ itemIdentifier: failed.sequenceNumber }] };
  };

export const handler = lazy(() => makeHandler(fanoutDepsFromEnv()));
