// What handlers need, built from the Lambda environment. The local runtime
// builds the same shapes itself and passes them to each handler's `make…`.
import { Logger } from "@aws-lambda-powertools/logger";
import type { AnyMicroservice } from "../core/decider.js";
import { documentClient, tableNamesFromEnv, type Store } from "../core/dynamo.js";
import { microservices } from "../core/microservices.js";
import type { ParkedBatches } from "../core/redrive.js";
import { buckets, kinesisStreams, queues, topics, type QueueName } from "../core/topology.js";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";

export const logger = new Logger({ serviceName: "ordinal" });

export interface ApiDeps {
  readonly store: Store;
  readonly microservices: Readonly<Record<string, AnyMicroservice>>;
  readonly clock: () => number;
  /** Where the stack's services can be reached, as GET /health reports them. */
  readonly endpoints: Readonly<Record<string, string>>;
  /**
   * Whether a request without an authorizer's context may say in its body who
   * sends it: only the local stack started without --auth. False on AWS, where
   * such a request is refused (401).
   */
  readonly identityFromBody: boolean;
}

export const storeFromEnv = (env: NodeJS.ProcessEnv = process.env): Store => ({
  db: documentClient(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {}),
  tables: tableNamesFromEnv(env),
});

export const apiDepsFromEnv = (env: NodeJS.ProcessEnv = process.env): ApiDeps => ({
  store: storeFromEnv(env),
  microservices,
  clock: Date.now,
  endpoints: { dynamodb: env.DYNAMODB_ENDPOINT ?? `https://dynamodb.${env.AWS_REGION ?? "us-east-1"}.amazonaws.com` },
  identityFromBody: false,
});

/** A microservice the deployment must serve; its absence is a wiring error, not a client's. */
export const microserviceOf = (deps: Pick<ApiDeps, "microservices">, name: string): AnyMicroservice => {
  const microservice = deps.microservices[name];
  if (!microservice) throw new Error(`microservice '${name}' is not registered`);
  return microservice;
};

/** Where the fan-out's resources are: physical names and URLs, by topology name. */
export interface FanoutNames {
  readonly allEventsStream: string;
  readonly archiveBucket: string;
  readonly eventsTopicArn: string;
  readonly queueUrls: Readonly<Record<QueueName, string>>;
}

export interface FanoutDeps extends ApiDeps {
  readonly kinesis: KinesisClient;
  readonly s3: S3Client;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly names: FanoutNames;
  /** Re-delivery of parked stream batches, where the deployment offers it (the local stack). */
  readonly parked?: ParkedBatches;
}

export const fanoutNamesFromEnv = (env: NodeJS.ProcessEnv = process.env): FanoutNames => ({
  allEventsStream: env[kinesisStreams.allEvents.env] ?? "",
  archiveBucket: env[buckets.archive.env] ?? "",
  eventsTopicArn: env[topics.events.env] ?? "",
  queueUrls: Object.fromEntries(Object.entries(queues).map(([name, spec]) => [name, env[spec.env] ?? ""])) as Record<QueueName, string>,
});

export const fanoutDepsFromEnv = (env: NodeJS.ProcessEnv = process.env): FanoutDeps => ({
  ...apiDepsFromEnv(env),
  kinesis: new KinesisClient({}),
  s3: new S3Client({}),
  sns: new SNSClient({}),
  sqs: new SQSClient({}),
  names: fanoutNamesFromEnv(env),
});
