// What handlers need, built from the Lambda environment. The local runtime
// builds the same shapes itself and passes them to each handler's `make…`.
// The one place a Lambda learns which app it runs: core/app.ts.
import type { PipelineFigures } from "../core/pipeline.js";
import type { ReplayTimings } from "../core/replay-jobs.js";
import { Logger } from "@aws-lambda-powertools/logger";
import { app } from "../core/app.js";
import { expandApp, partOf, type ExpandedApp } from "../core/app-definition.js";
import type { OutcomeFeed } from "../core/commands.js";
import type { AnyMicroservice } from "../core/decider.js";
import { documentClient, tableNamesFromEnv, type Store } from "../core/dynamo.js";
import type { ParkedBatches } from "../core/redrive.js";
import { upcasterOf } from "../core/upcast.js";
import { metricsFromEnv, type Metrics } from "./metrics.js";
import { buckets, kinesisStreams, topics, type QueueName, type Topology } from "../core/topology.js";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";

export const logger = new Logger({ serviceName: "ordinal" });

export interface ApiDeps {
  readonly store: Store;
  /** The app the deployment runs, expanded: its microservices, projections, managers and topology. */
  readonly app: ExpandedApp;
  readonly clock: () => number;
  /** Where the stack's services can be reached, as GET /health reports them. */
  readonly endpoints: Readonly<Record<string, string>>;
  /**
   * Whether a request without an authorizer's context may say in its body who
   * sends it: only the local stack started without --auth. False on AWS, where
   * such a request is refused (401).
   */
  readonly identityFromBody: boolean;
  /** Where the pipeline's metrics go (CloudWatch EMF on AWS); none on the local stack. */
  readonly metrics?: Metrics;
  /**
   * Outcomes told as the sequencer commits them, where it runs in this process
   * (the local stack): `?wait` is told rather than reading. Absent on AWS, where it polls.
   */
  readonly outcomes?: OutcomeFeed;
}

export const storeFromEnv = (env: NodeJS.ProcessEnv = process.env): Store => ({
  db: documentClient(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {}),
  tables: tableNamesFromEnv(env),
  upcast: upcasterOf(appFromEnv().microservices),
});

let expanded: ExpandedApp | undefined;
/** The deployment's app (core/app.ts), expanded once per Lambda instance. */
export const appFromEnv = (): ExpandedApp => (expanded ??= expandApp(app));

export const apiDepsFromEnv = (env: NodeJS.ProcessEnv = process.env): ApiDeps => ({
  store: storeFromEnv(env),
  app: appFromEnv(),
  clock: Date.now,
  endpoints: { dynamodb: env.DYNAMODB_ENDPOINT ?? `https://dynamodb.${env.AWS_REGION ?? "us-east-1"}.amazonaws.com` },
  identityFromBody: false,
  metrics: metricsFromEnv(env),
});

/** A microservice the deployment must serve; its absence is a wiring error, not a client's. */
export const microserviceOf = (deps: Pick<ApiDeps, "app">, name: string): AnyMicroservice =>
  partOf(deps.app.microservices, "microservice", name);

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
  /** Replay jobs' timings, where a deployment shortens them (tests of the local stack). */
  readonly timings?: Partial<ReplayTimings>;
  /** Aborted as the local stack stops: a replay runner's turn ends at its next step. */
  readonly stopping?: AbortSignal;
  /** The pipeline's figures, where the deployment meters itself (the local stack). */
  readonly pipeline?: PipelineFigures;
}

/** The names a function was given: a queue it may not use has no URL. */
export const fanoutNamesFromEnv = (topology: Pick<Topology, "queues">, env: NodeJS.ProcessEnv = process.env): FanoutNames => ({
  allEventsStream: env[kinesisStreams.allEvents.env] ?? "",
  archiveBucket: env[buckets.archive.env] ?? "",
  eventsTopicArn: env[topics.events.env] ?? "",
  queueUrls: Object.fromEntries(Object.entries(topology.queues).flatMap(([name, spec]) => (env[spec.env] ? [[name, env[spec.env]!]] : []))),
});

export const fanoutDepsFromEnv = (env: NodeJS.ProcessEnv = process.env): FanoutDeps => ({
  ...apiDepsFromEnv(env),
  kinesis: new KinesisClient({}),
  s3: new S3Client({}),
  sns: new SNSClient({}),
  sqs: new SQSClient({}),
  names: fanoutNamesFromEnv(appFromEnv().topology, env),
});
