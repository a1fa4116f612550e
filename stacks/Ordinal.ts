import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { BillingMode } from "aws-cdk-lib/aws-dynamodb";
import { StartingPosition } from "aws-cdk-lib/aws-lambda";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import { SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import type { CfnQueue } from "aws-cdk-lib/aws-sqs";
import { Api, Function, Script, Table, type ApiRouteProps, type Function as Fn, type Queue, type Stack, type StackContext } from "sst/constructs";
import type { ExpandedApp } from "../core/app-definition.js";
import { routeKeyOf } from "../core/routing.js";
import { consumerFunctionEnv, tables as tableSpecs, type FunctionSpec, type ShardConsumerSpec, type TableSpec } from "../core/topology.js";
import { jwtConfigFromEnv, UNSET_JWT_ISSUER } from "../core/auth.js";
import { createFanout, mapValues } from "./fanout.js";
import { functionProps, type EventSource, type Resources } from "./permissions.js";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { deploySettingsFromEnv, type DeploySettings } from "./settings.js";
import { createMonitoring } from "./monitoring.js";
import { suppress } from "./nag.js";

/**
 * The stack of a deployment running `app`: every resource its expanded
 * topology names. `sst.config.ts` builds it for core/app.ts; a test can build
 * it for an app of its own.
 */
export const ordinalStack = (app: Pick<ExpandedApp, "topology">, settings: DeploySettings = deploySettingsFromEnv()) =>
  function Ordinal({ stack }: StackContext) {
    return buildOrdinal(stack, app, settings);
  };

function buildOrdinal(stack: Stack, { topology }: Pick<ExpandedApp, "topology">, settings: DeploySettings) {
  const { routes, fallbackRoute, streamConsumers, kinesisConsumers, queueConsumers } = topology;
  const tables = mapValues(tableSpecs, (spec) => createTable(stack, spec));
  const resources: Resources = { tables, ...createFanout(stack, topology.queues, settings) };
  const { streams, queues } = resources;

  /**
   * A function as its topology entry says, with a log group of its own that
   * keeps logs for the deployment's retention (Lambda's default keeps them
   * forever), and at most `concurrency` executions when given.
   */
  const props = (label: string, spec: FunctionSpec, options: { source?: EventSource; concurrency?: number } = {}) => ({
    ...functionProps(spec, resources, options.source),
    logGroup: new LogGroup(stack, `${label}-logs`, { retention: settings.logRetention, removalPolicy: RemovalPolicy.DESTROY }),
    ...(options.concurrency !== undefined ? { reservedConcurrentExecutions: options.concurrency } : {}),
  });
  // The API's functions are capped, so a burst of requests cannot take the
  // account's concurrency from the stream consumers, which have theirs reserved.
  const apiFunction = (label: string, spec: FunctionSpec) => props(`api-${label}`, spec, { concurrency: settings.apiConcurrency });

  // Users' tokens: issuer and audience are read at synth (ORDINAL_JWT_ISSUER,
  // ORDINAL_JWT_AUDIENCE); without an issuer no token passes, so no route is open.
  const jwt = jwtConfigFromEnv();
  const api = new Api(stack, "api", {
    authorizers: {
      users: { type: "jwt", jwt: { issuer: jwt.issuer ?? UNSET_JWT_ISSUER, audience: [jwt.audience] } },
    },
    defaults: { authorizer: "users", throttle: { rate: settings.apiRate, burst: settings.apiBurst } },
    // Browsers may call the API only from the deployment's allow-list; no CORS at all without one.
    cors: settings.corsOrigins.length
      ? { allowOrigins: [...settings.corsOrigins], allowMethods: ["GET", "POST", "DELETE"], allowHeaders: ["authorization", "content-type"], maxAge: "1 hour" }
      : false,
    accessLog: { retention: settings.logRetentionName },
    routes: {
      ...Object.fromEntries(
        routes.map((route): [string, ApiRouteProps<string>] => [
          routeKeyOf(route),
          { function: apiFunction(routeKeyOf(route).replace(/[^A-Za-z0-9]+/g, "-"), route), authorizer: route.auth === "iam" ? "iam" : "users" },
        ]),
      ),
      $default: { function: apiFunction("default", fallbackRoute), authorizer: "users" },
    },
  });

  // Every failure destination is a topology queue (expandTopology makes sure of it), which the redrive route reaches.
  const failureQueue = (name: string): Queue => queues[name]!;

  for (const [name, consumer] of Object.entries(streamConsumers)) {
    // Added after every table exists: the consumer's environment and policy
    // reference tables other than its source.
    tables[consumer.source].addConsumers(stack, {
      [name]: {
        function: props(name, consumer, { concurrency: settings.streamConsumerConcurrency }),
        cdk: { eventSource: shardEventSource(consumer, failureQueue(consumer.failureDestination)) },
      },
    });
  }

  for (const [name, consumer] of Object.entries(kinesisConsumers)) {
    streams[consumer.source].addConsumers(stack, {
      [name]: {
        function: props(name, consumer, { source: { kinesis: consumer.source } }),
        cdk: { eventSource: shardEventSource(consumer, failureQueue(consumer.failureDestination)) },
      },
    });
  }

  for (const consumer of Object.values(queueConsumers)) {
    const queue = queues[consumer.source];
    if (!queue) throw new Error(`queue consumer of '${consumer.source}', which the topology does not have`);
    queue.addConsumer(stack, {
      function: props(`${consumer.source}-consumer`, consumer, { source: { queue: consumer.source } }),
      cdk: { eventSource: { batchSize: consumer.batchSize, reportBatchItemFailures: true } },
    });
    // Lambda's advice: six times the function's timeout, so a message is not
    // received again while a retried batch still holds it.
    const timeout = (queue.consumerFunction as Fn).timeout ?? Duration.seconds(3);
    (queue.cdk.queue.node.defaultChild as CfnQueue).visibilityTimeout = 6 * timeout.toSeconds();
  }

  // A redrive hands re-read batches to the consumers they came from: it may invoke exactly those.
  for (const route of routes) {
    const fn = api.getFunction(routeKeyOf(route))!;
    for (const consumer of Object.keys(route.uses?.consumers ?? {})) {
      const spec = streamConsumers[consumer] ?? kinesisConsumers[consumer];
      const target = spec && (consumer in streamConsumers ? tables[spec.source as keyof typeof tables].getFunction(consumer) : streams[spec.source as keyof typeof streams].getFunction(consumer));
      if (!target) throw new Error(`${routeKeyOf(route)} invokes '${consumer}', which is not a stream consumer of the stack`);
      fn.addEnvironment(consumerFunctionEnv(consumer), target.functionName);
      fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ["lambda:InvokeFunction"], resources: [target.functionArn] }));
    }
  }

  // On a deployment that changes a projection's version (or adds a projection): its rebuild, as a replay job.
  // The Script runs it as the stack deploys, and again only when the versions change.
  const onDeploy = new Function(stack, "on-deploy", { ...props("on-deploy", topology.onDeploy), enableLiveDev: false });
  const script = new Script(stack, "on-deploy-script", {
    onCreate: onDeploy,
    onUpdate: onDeploy,
    version: JSON.stringify(topology.projectionVersions),
  });

  const monitoring = createMonitoring(stack, { topology, resources, api, settings, others: [["on-deploy", onDeploy]] });
  const parking = Object.entries(topology.queues).flatMap(([name, spec]) => (spec.parks ? [queues[name]!] : []));
  suppress(stack, {
    archive: resources.buckets.archive,
    parking,
    sqsMappings: Object.values(queueConsumers).map((c) => queues[c.source]!.consumerFunction as Fn),
    sst: [stack.node.tryFindChild("CustomResourceHandler")].filter((c) => c !== undefined),
    script: script.node.tryFindChild("ScriptHandler"),
  });
  stack.addOutputs({ ApiEndpoint: api.url, AlarmTopicArn: monitoring.alarmTopic.topicArn });
  return { api, ...resources, ...monitoring };
}

function createTable(stack: Stack, spec: TableSpec): Table {
  const fields: Record<string, TableSpec["partitionKey"]["type"]> = {
    [spec.partitionKey.name]: spec.partitionKey.type,
  };
  if (spec.sortKey) fields[spec.sortKey.name] = spec.sortKey.type;
  return new Table(stack, spec.name, {
    fields,
    primaryIndex: { partitionKey: spec.partitionKey.name, sortKey: spec.sortKey?.name },
    stream: spec.stream ?? false,
    cdk: {
      table: {
        billingMode: BillingMode.PAY_PER_REQUEST,
        removalPolicy: RemovalPolicy.RETAIN,
        // SST turns PITR on for every table through the deprecated boolean,
        // which CDK refuses next to the specification: clear it so the spec decides.
        pointInTimeRecovery: undefined,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: spec.pointInTimeRecovery ?? false },
        deletionProtection: spec.deletionProtection ?? false,
      },
    },
  });
}

/**
 * What every consumer of a sharded stream (DynamoDB Streams, Kinesis) shares:
 * the handler reports the first failed record and Lambda retries from there,
 * which keeps per-key order without bisecting; spent batches go to a queue.
 */
function shardEventSource(
  consumer: ShardConsumerSpec,
  failures: Queue,
) {
  return {
    startingPosition: StartingPosition.TRIM_HORIZON,
    batchSize: consumer.batchSize,
    maxBatchingWindow: Duration.seconds(consumer.maxBatchingWindowSeconds),
    retryAttempts: consumer.retryAttempts,
    parallelizationFactor: consumer.parallelizationFactor ?? 1,
    reportBatchItemFailures: true,
    bisectBatchOnError: false,
    onFailure: new SqsDlq(failures.cdk.queue),
  };
}
