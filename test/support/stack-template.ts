// The synthesized CloudFormation must say exactly what the expanded topology
// says: tables and keys, routes, the fan-out's stream, bucket, topic and
// queues, every event source, runtimes, and IAM that follows each function's
// table-access map and `uses` and nothing more. One suite, run on the
// reference app (stacks.infra.test.ts) and on an app a test defines
// (your-own-app.infra.test.ts), so whatever an app adds is checked the same way.
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { Aspects } from "aws-cdk-lib";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { functionDefaults } from "../../stacks/index.js";
import { DEFAULT_SETTINGS } from "../../stacks/settings.js";
import type { CfnElement } from "aws-cdk-lib";
import { App, getStack, use, type Stack } from "sst/constructs";
import type { ordinalStack } from "../../stacks/Ordinal.js";
import { initProject, useProject } from "sst/project.js";
import { beforeAll, describe, expect, it } from "vitest";
import type { ExpandedApp } from "../../core/app-definition.js";
import {
  buckets,
  handlerEnv,
  kinesisStreams,
  tables,
  topics,
  type Access,
  type BucketName,
  type FunctionSpec,
  type KinesisConsumerSpec,
  type KinesisStreamName,
  type QueueConsumerSpec,
  type QueueName,
  type QueueSpec,
  type StreamConsumerSpec,
  type TableName,
  type TopicName,
} from "../../core/topology.js";

type OrdinalStack = ReturnType<typeof ordinalStack>;

export interface StackUnderTest {
  /** The app the stack runs. */
  readonly app: ExpandedApp;
  /** Adds the stack to an SST app as `sst deploy` would; answers the stack function, for getStack and use. */
  readonly build: (app: App) => Promise<OrdinalStack> | OrdinalStack;
}

/** What a function runs: its handler path and the settings that tell a generic handler what it runs. */
export const identityOf = (handler: string, environment: Readonly<Record<string, unknown>> | undefined): string =>
  [handler, ...Object.values(handlerEnv).flatMap((name) => (environment?.[name] === undefined ? [] : [`${name}=${String(environment[name])}`]))].join(" ");

export const describeStackTemplate = ({ app: expanded, build }: StackUnderTest) => {
const { routes, fallbackRoute, streamConsumers, kinesisConsumers, queueConsumers, queues, onDeploy } = expanded.topology;
let Ordinal: OrdinalStack;

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const tableNames = Object.keys(tables) as TableName[];
const streamNames = Object.keys(kinesisStreams) as KinesisStreamName[];
const bucketNames = Object.keys(buckets) as BucketName[];
const topicNames = Object.keys(topics) as TopicName[];
const queueNames = Object.keys(queues) as QueueName[];
const queueSpecs = Object.entries(queues) as [QueueName, QueueSpec][];
// Widened: the tests must not depend on which consumers exist today.
const streamConsumerSpecs = Object.entries(streamConsumers as Record<string, StreamConsumerSpec>);
const kinesisConsumerSpecs = Object.entries(kinesisConsumers as Record<string, KinesisConsumerSpec>);
const queueConsumerSpecs = Object.entries(queueConsumers as Record<string, QueueConsumerSpec>);
const isQueueName = (name: string): name is QueueName => Object.hasOwn(queues, name);
const writeActions = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:PartiQLInsert",
  "dynamodb:PartiQLUpdate",
  "dynamodb:PartiQLDelete",
];

const JWT_ISSUER = "https://auth.example.test/";
const JWT_AUDIENCE = "ordinal-test";

let app: App;
let stack: Stack;
let template: Template;
let resources: Record<string, Resource>;
/** What each Lambda runs (handler and generic settings, as identityOf writes them), by logical id. */
const handlerOf = new Map<string, string>();
const runtimeOf = new Map<string, string | undefined>();

beforeAll(async () => {
  // No credentials or network: synthesis must not need either.
  process.env.AWS_REGION ??= "us-east-1";
  // The JWT authorizer's settings are read at synth.
  process.env.ORDINAL_JWT_ISSUER = JWT_ISSUER;
  process.env.ORDINAL_JWT_AUDIENCE = JWT_AUDIENCE;
  await initProject({ stage: "test" });
  const { name, stage, region } = useProject().config;
  app = new App({ mode: "deploy", name, stage, region });
  // Through sst.config's stacks(), which calls app.stack(Ordinal), so the
  // app-wide function defaults under test are the ones `sst deploy` uses.
  Ordinal = await build(app);
  stack = getStack(Ordinal);
  // What `sst build` does after bundling: the placeholder runtime becomes the configured one.
  for (const fn of stack.getAllFunctions()) (fn.node.defaultChild as CfnFunction).runtime = fn.getConstructMetadata().data.runtime;
  // AWS's rule packs, run as the template is synthesized.
  Aspects.of(stack).add(new AwsSolutionsChecks());
  Aspects.of(stack).add(new ServerlessChecks());
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
  for (const fn of stack.getAllFunctions()) {
    const id = stack.getLogicalId(fn.node.defaultChild as CfnElement);
    const { handler, runtime } = fn.getConstructMetadata().data;
    handlerOf.set(id, identityOf(handler!, resources[id]?.Properties.Environment?.Variables));
    runtimeOf.set(id, runtime);
  }
});

// ---- template navigation ------------------------------------------------

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function tableId(name: TableName): string {
  const physical = app.logicalPrefixedName(tables[name].name);
  const found = ofType("AWS::DynamoDB::Table").filter(([, r]) => r.Properties.TableName === physical);
  expect(found, `table ${physical}`).toHaveLength(1);
  return found[0]![0];
}

function refId(value: any): string {
  return value?.Ref ?? value?.["Fn::GetAtt"]?.[0];
}

function routeFunctionId(routeKey: string): string {
  const route = ofType("AWS::ApiGatewayV2::Route").find(([, r]) => r.Properties.RouteKey === routeKey);
  expect(route, `route ${routeKey}`).toBeDefined();
  const integrationId = refId(route![1].Properties.Target["Fn::Join"][1][1]);
  return refId(resources[integrationId]!.Properties.IntegrationUri);
}

function consumerMapping(source: TableName): [string, Resource] {
  const found = ofType("AWS::Lambda::EventSourceMapping").filter(
    ([, r]) => refId(r.Properties.EventSourceArn) === tableId(source) &&
      r.Properties.EventSourceArn["Fn::GetAtt"][1] === "StreamArn",
  );
  expect(found, `event source mapping on ${source}`).toHaveLength(1);
  return found[0]!;
}

/** The one resource of `type` whose `nameProperty` is the stage-prefixed topology name. */
function named(type: string, nameProperty: string, name: string): string {
  const physical = app.logicalPrefixedName(name);
  const found = ofType(type).filter(([, r]) => r.Properties[nameProperty] === physical);
  expect(found, `${type} ${physical}`).toHaveLength(1);
  return found[0]![0];
}

const streamId = (name: KinesisStreamName) => named("AWS::Kinesis::Stream", "Name", kinesisStreams[name].name);
const topicId = (name: TopicName) => named("AWS::SNS::Topic", "TopicName", topics[name].name);
/** A topology queue, or a failure destination the stack creates under that name. */
const queueId = (name: string) => named("AWS::SQS::Queue", "QueueName", isQueueName(name) ? queues[name]!.name : name);

// Bucket names are left to CloudFormation (they are global), so the bucket is
// found through the construct the stack returns.
function bucketId(name: BucketName): string {
  return stack.getLogicalId(use(Ordinal).buckets[name].cdk.bucket.node.defaultChild as CfnElement);
}

const arnOf = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });

/** The event source mapping from `sourceId` to the function running `consumer`. */
function mappingFrom(sourceId: string, consumer: FunctionSpec): [string, Resource] {
  const handler = identityOf(consumer.handler, consumer.environment);
  const found = ofType("AWS::Lambda::EventSourceMapping").filter(
    ([, r]) => JSON.stringify(r.Properties.EventSourceArn) === JSON.stringify(arnOf(sourceId)) &&
      handlerOf.get(refId(r.Properties.FunctionName)) === handler,
  );
  expect(found, `event source mapping ${sourceId} → ${handler}`).toHaveLength(1);
  return found[0]!;
}

interface Statement { Effect: string; Action: string | string[]; Resource: unknown }

function statementsOf(functionId: string): Statement[] {
  const roleId = refId(resources[functionId]!.Properties.Role);
  return ofType("AWS::IAM::Policy")
    .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

const isArnOf = (r: any, id: string) => r?.Ref === id || JSON.stringify(r) === JSON.stringify(arnOf(id));
const isObjectsOf = (r: any, id: string) => {
  const join = r?.["Fn::Join"];
  return join?.[0] === "" && join[1].length === 2 && isArnOf(join[1][0], id) && join[1][1] === "/*";
};

/** Actions a function may perform on a resource's ARN, or with "objects" on `${arn}/*`. */
function grantedOn(functionId: string, id: string, on: "arn" | "objects" = "arn"): Set<string> {
  const matches = on === "arn" ? isArnOf : isObjectsOf;
  return new Set(
    statementsOf(functionId)
      .filter((s) => s.Effect === "Allow" && list(s.Resource).some((r) => matches(r, id)))
      .flatMap((s) => list(s.Action)),
  );
}

/** Every action of a service a function may perform, on anything. */
function serviceActions(functionId: string, service: string): string[] {
  return statementsOf(functionId)
    .filter((s) => s.Effect === "Allow")
    .flatMap((s) => list(s.Action))
    .filter((a) => a.startsWith(`${service}:`));
}

/** DynamoDB actions a function may perform on a table's items (not its stream). */
function actionsOn(functionId: string, table: TableName): Set<string> {
  const arn = { "Fn::GetAtt": [tableId(table), "Arn"] };
  const actions = statementsOf(functionId)
    .filter((s) => s.Effect === "Allow" && list(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(arn)))
    .flatMap((s) => list(s.Action));
  return new Set(actions);
}

/** What every shard consumer's event source mapping says, from its topology entry. */
const shardMapping = (consumer: StreamConsumerSpec | KinesisConsumerSpec) => ({
  StartingPosition: "TRIM_HORIZON",
  BatchSize: consumer.batchSize,
  MaximumRetryAttempts: consumer.retryAttempts,
  MaximumBatchingWindowInSeconds: consumer.maxBatchingWindowSeconds,
  ParallelizationFactor: consumer.parallelizationFactor ?? 1,
  FunctionResponseTypes: ["ReportBatchItemFailures"],
});

const kinesisMapping = (consumer: KinesisConsumerSpec) => mappingFrom(streamId(consumer.source), consumer);
const queueMapping = (consumer: QueueConsumerSpec) => mappingFrom(queueId(consumer.source), consumer);

const allFunctions: [string, FunctionSpec][] = [
  ...routes.map((r): [string, FunctionSpec] => [`${r.method} ${r.path}`, r]),
  ["$default", fallbackRoute],
  ["on deploy", onDeploy],
  ...streamConsumerSpecs.map(([name, c]): [string, FunctionSpec] => [`stream consumer ${name}`, c]),
  ...kinesisConsumerSpecs.map(([name, c]): [string, FunctionSpec] => [`kinesis consumer ${name}`, c]),
  ...queueConsumerSpecs.map(([name, c]): [string, FunctionSpec] => [`queue consumer ${name}`, c]),
];
const isConsumer = (label: string) => / consumer /.test(label);
/** A function the API runs: neither a consumer nor the on-deploy script's. */
const isApiFunction = (label: string) => !isConsumer(label) && label !== "on deploy";

function functionIdFor(label: string): string {
  const stream = streamConsumerSpecs.find(([name]) => label === `stream consumer ${name}`);
  if (stream) return refId(consumerMapping(stream[1].source)[1].Properties.FunctionName);
  const kinesis = kinesisConsumerSpecs.find(([name]) => label === `kinesis consumer ${name}`);
  if (kinesis) return refId(kinesisMapping(kinesis[1])[1].Properties.FunctionName);
  const queue = queueConsumerSpecs.find(([name]) => label === `queue consumer ${name}`);
  if (queue) return refId(queueMapping(queue[1])[1].Properties.FunctionName);
  if (label === "on deploy") {
    const found = [...handlerOf].filter(([, handler]) => handler === identityOf(onDeploy.handler, onDeploy.environment));
    expect(found, "the on-deploy function").toHaveLength(1);
    return found[0]![0];
  }
  return routeFunctionId(label);
}

// ---- tables -------------------------------------------------------------

describe("tables", () => {
  it("creates exactly the topology's tables", () => {
    expect(ofType("AWS::DynamoDB::Table")).toHaveLength(tableNames.length);
  });

  it.each(tableNames)("%s has exactly its key schema, stream, PITR, on-demand billing and is retained", (name) => {
    const spec = tables[name];
    const table = resources[tableId(name)]!;
    const keys: { name: string; type: string; role: string }[] = [
      { ...spec.partitionKey, role: "HASH" },
      ...("sortKey" in spec ? [{ ...spec.sortKey, role: "RANGE" }] : []),
    ];
    expect(table.Properties.KeySchema).toEqual(keys.map((k) => ({ AttributeName: k.name, KeyType: k.role })));
    expect(table.Properties.AttributeDefinitions).toEqual(
      keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type === "string" ? "S" : "N" })),
    );
    expect(table.Properties.GlobalSecondaryIndexes).toBeUndefined();
    expect(table.Properties.LocalSecondaryIndexes).toBeUndefined();
    expect(table.Properties.StreamSpecification).toEqual(
      "stream" in spec ? { StreamViewType: spec.stream.toUpperCase() } : undefined,
    );
    expect(table.Properties.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled ?? false).toBe(
      "pointInTimeRecovery" in spec ? spec.pointInTimeRecovery : false,
    );
    expect(table.Properties.BillingMode).toBe("PAY_PER_REQUEST");
    expect(table.DeletionPolicy).toBe("Retain");
  });
});

// ---- API ----------------------------------------------------------------

describe("api", () => {
  it("has every topology route plus $default, and nothing else", () => {
    const keys = ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties.RouteKey as string);
    expect(keys.sort()).toEqual([...routes.map((r) => `${r.method} ${r.path}`), "$default"].sort());
  });

  it.each(allFunctions.filter(([label]) => isApiFunction(label)))(
    "%s is served by the topology's handler",
    (label, spec) => {
      expect(handlerOf.get(routeFunctionId(label))).toBe(identityOf(spec.handler, spec.environment));
    },
  );

  it("outputs the endpoint", () => {
    template.hasOutput("ApiEndpoint", {});
  });
});

describe("on deploy", () => {
  it("runs the on-deploy function when the stack is created and whenever a projection's version changes", () => {
    const scripts = ofType("Custom::SSTScript");
    expect(scripts).toHaveLength(1);
    const { Version, UserCreateFunction, UserUpdateFunction } = scripts[0]![1].Properties;
    const fn = functionIdFor("on deploy");
    // The custom resource changes, so the script runs again, exactly when the versions do.
    expect(Version).toBe(JSON.stringify(expanded.topology.projectionVersions));
    expect(Object.keys(expanded.topology.projectionVersions).sort()).toEqual([...expanded.topology.projections].sort());
    expect(refId(UserCreateFunction)).toBe(fn);
    expect(refId(UserUpdateFunction)).toBe(fn);
  });
});

describe("api authorization", () => {
  const routeResources = () => ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties);
  const jwtAuthorizers = () => ofType("AWS::ApiGatewayV2::Authorizer").filter(([, a]) => a.Properties.AuthorizerType === "JWT");

  it("leaves no route without an authorizer: each is JWT or AWS_IAM", () => {
    const routesFound = routeResources();
    expect(routesFound.length).toBe(routes.length + 1);
    for (const route of routesFound) expect(["JWT", "AWS_IAM"], route.RouteKey).toContain(route.AuthorizationType);
  });

  it("checks users' tokens with one JWT authorizer, issuer and audience from the configuration", () => {
    expect(jwtAuthorizers()).toHaveLength(1);
    expect(jwtAuthorizers()[0]![1].Properties).toMatchObject({
      IdentitySource: ["$request.header.Authorization"],
      JwtConfiguration: { Issuer: JWT_ISSUER, Audience: [JWT_AUDIENCE] },
    });
  });

  it.each([...routes.map((r) => [`${r.method} ${r.path}`, r.auth ?? "jwt"] as const), ["$default", "jwt"] as const])(
    "%s is behind the %s authorizer its topology entry names",
    (routeKey, auth) => {
      const route = routeResources().find((r) => r.RouteKey === routeKey)!;
      if (auth === "iam") {
        expect(route.AuthorizationType).toBe("AWS_IAM");
        expect(route.AuthorizerId).toBeUndefined();
      } else {
        expect(route.AuthorizationType).toBe("JWT");
        expect(route.AuthorizerId).toEqual({ Ref: jwtAuthorizers()[0]![0] });
      }
    },
  );

  it("takes services on POST /service/command, with IAM", () => {
    expect(routeResources().find((r) => r.RouteKey === "POST /service/command")?.AuthorizationType).toBe("AWS_IAM");
  });
});

// ---- stream consumers ---------------------------------------------------

describe.each(streamConsumerSpecs)("stream consumer %s", (_name, consumer) => {
  it("reads its source table's stream with the topology's batching and retry settings", () => {
    const [, mapping] = consumerMapping(consumer.source);
    expect(mapping.Properties).toMatchObject(shardMapping(consumer));
    expect(handlerOf.get(refId(mapping.Properties.FunctionName))).toBe(identityOf(consumer.handler, consumer.environment));
  });

  it("sends spent batches to its own SQS failure queue, and may send to it", () => {
    const [, mapping] = consumerMapping(consumer.source);
    const queueId = refId(mapping.Properties.DestinationConfig?.OnFailure?.Destination);
    expect(resources[queueId]?.Type).toBe("AWS::SQS::Queue");
    expect(resources[queueId]!.Properties.QueueName).toBe(app.logicalPrefixedName(consumer.failureDestination));
    const functionId = refId(mapping.Properties.FunctionName);
    const canSend = statementsOf(functionId).some(
      (s) => list(s.Action).includes("sqs:SendMessage") && refId(s.Resource) === queueId,
    );
    expect(canSend).toBe(true);
  });
});

// ---- fan-out resources --------------------------------------------------

describe("fan-out resources", () => {
  it.each(streamNames)("Kinesis stream %s has the topology's shards and retention, KMS-encrypted", (name) => {
    const spec = kinesisStreams[name];
    expect(resources[streamId(name)]!.Properties).toEqual({
      Name: app.logicalPrefixedName(spec.name),
      ShardCount: spec.shards,
      RetentionPeriodHours: spec.retentionHours,
      StreamEncryption: { EncryptionType: "KMS", KeyId: "alias/aws/kinesis" },
    });
  });

  describe.each(bucketNames)("bucket %s", (name) => {
    it("blocks public access, disables ACLs, is encrypted and versioned, and allows no CORS", () => {
      const bucket = resources[bucketId(name)]!;
      expect(bucket.Type).toBe("AWS::S3::Bucket");
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] });
      expect(bucket.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      });
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
      expect(bucket.Properties.CorsConfiguration).toBeUndefined();
    });

    it("is retained on removal, with no auto-delete of its objects", () => {
      const bucket = resources[bucketId(name)]!;
      expect(bucket.DeletionPolicy).toBe("Retain");
      expect(bucket.UpdateReplacePolicy).toBe("Retain");
      expect(ofType("Custom::S3AutoDeleteObjects")).toEqual([]);
    });

    it("denies every request not made over TLS", () => {
      const id = bucketId(name);
      const policies = ofType("AWS::S3::BucketPolicy").filter(([, p]) => p.Properties.Bucket.Ref === id);
      expect(policies).toHaveLength(1);
      const statements = policies[0]![1].Properties.PolicyDocument.Statement as any[];
      expect(statements).toContainEqual({
        Action: "s3:*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
        Effect: "Deny",
        Principal: { AWS: "*" },
        Resource: [arnOf(id), { "Fn::Join": ["", [arnOf(id), "/*"]] }],
      });
    });
  });

  it.each(topicNames)("topic %s denies every request not made over TLS", (name) => {
    const id = topicId(name);
    const statements = ofType("AWS::SNS::TopicPolicy")
      .filter(([, p]) => p.Properties.Topics.some((t: any) => t.Ref === id))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: "sns:Publish",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
        Effect: "Deny",
        Resource: { Ref: id },
      }),
    );
  });

  describe.each(queueSpecs)("queue %s", (name, spec) => {
    it("is FIFO exactly when the topology says, without content-based de-duplication", () => {
      const queue = resources[queueId(name)]!.Properties;
      expect(queue.FifoQueue ?? false).toBe(spec.fifo ?? false);
      expect(queue.ContentBasedDeduplication).toBe(spec.fifo ? false : undefined);
    });

    it("sends what it cannot deliver to its dead-letter queue after maxReceiveCount receives", () => {
      expect(resources[queueId(name)]!.Properties.RedrivePolicy).toEqual(
        spec.deadLetter
          ? { deadLetterTargetArn: arnOf(queueId(spec.deadLetter.queue)), maxReceiveCount: spec.deadLetter.maxReceiveCount }
          : undefined,
      );
    });

    it("is encrypted, keeps messages 14 days and denies every request not made over TLS", () => {
      const id = queueId(name);
      expect(resources[id]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
      const statements = ofType("AWS::SQS::QueuePolicy")
        .filter(([, p]) => p.Properties.Queues.some((q: any) => q.Ref === id))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
      expect(statements).toContainEqual({
        Action: "sqs:*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
        Effect: "Deny",
        Principal: { AWS: "*" },
        Resource: arnOf(id),
      });
    });
  });

  const subscribed = queueSpecs.filter(([, spec]) => spec.subscription);

  it.each(subscribed)("queue %s is subscribed to its topic with its filter policy and raw delivery", (name, spec) => {
    const queue = queueId(name);
    const topic = topicId(spec.subscription!.topic);
    const subscriptions = ofType("AWS::SNS::Subscription").filter(
      ([, s]) => JSON.stringify(s.Properties.Endpoint) === JSON.stringify(arnOf(queue)),
    );
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]![1].Properties).toEqual({
      Protocol: "sqs",
      TopicArn: { Ref: topic },
      Endpoint: arnOf(queue),
      FilterPolicy: spec.subscription!.filterPolicy,
      RawMessageDelivery: true,
      // What SNS cannot deliver waits in the subscriber's dead-letter queue.
      RedrivePolicy: { deadLetterTargetArn: arnOf(queueId(spec.deadLetter!.queue)) },
    });
    // SNS may deliver to the queue, and only from that topic.
    const statements = ofType("AWS::SQS::QueuePolicy")
      .filter(([, p]) => p.Properties.Queues.some((q: any) => q.Ref === queue))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
    expect(statements).toContainEqual({
      Action: "sqs:SendMessage",
      Condition: { ArnEquals: { "aws:SourceArn": { Ref: topic } } },
      Effect: "Allow",
      Principal: { Service: "sns.amazonaws.com" },
      Resource: arnOf(queue),
    });
  });

  it("has exactly the topology's subscriptions", () => {
    expect(ofType("AWS::SNS::Subscription")).toHaveLength(subscribed.length);
  });
});

// ---- topology and template agree ------------------------------------------

describe("no drift between topology and template", () => {
  // Failure destinations outside `queues` get a queue of their own from the stack.
  const ownFailureQueues = [
    ...new Set([...streamConsumerSpecs, ...kinesisConsumerSpecs].map(([, c]) => c.failureDestination).filter((q) => !isQueueName(q))),
  ];

  it("every Kinesis stream, bucket, topic and queue in the topology is in the template, and nothing more", () => {
    for (const name of streamNames) streamId(name);
    for (const name of bucketNames) expect(resources[bucketId(name)]?.Type).toBe("AWS::S3::Bucket");
    for (const name of topicNames) topicId(name);
    for (const name of [...queueNames, ...ownFailureQueues]) queueId(name);
    expect(ofType("AWS::Kinesis::Stream")).toHaveLength(streamNames.length);
    // And the archive's access-log bucket.
    expect(ofType("AWS::S3::Bucket")).toHaveLength(bucketNames.length + 1);
    // And the alarm topic.
    expect(ofType("AWS::SNS::Topic")).toHaveLength(topicNames.length + 1);
    expect(ofType("AWS::SQS::Queue")).toHaveLength(queueNames.length + ownFailureQueues.length);
  });

  it("every consumer in the topology has exactly one event source mapping, and there are no others", () => {
    for (const [, c] of streamConsumerSpecs) consumerMapping(c.source);
    for (const [, c] of kinesisConsumerSpecs) kinesisMapping(c);
    for (const [, c] of queueConsumerSpecs) queueMapping(c);
    expect(ofType("AWS::Lambda::EventSourceMapping")).toHaveLength(
      streamConsumerSpecs.length + kinesisConsumerSpecs.length + queueConsumerSpecs.length,
    );
  });
});

// ---- Kinesis and SQS consumers -------------------------------------------

describe.each(kinesisConsumerSpecs)("kinesis consumer %s", (_name, consumer) => {
  it("reads its stream from the start with the topology's batching and retries, one batch per shard at a time", () => {
    const [, mapping] = kinesisMapping(consumer);
    expect(mapping.Properties).toMatchObject({
      ...shardMapping(consumer),
      BisectBatchOnFunctionError: false,
    });
    // One batch per shard at a time: a projection's item may take events of many streams.
    expect(mapping.Properties.ParallelizationFactor).toBe(1);
  });

  it("parks spent batches in its failure destination queue, and may send to it", () => {
    const [, mapping] = kinesisMapping(consumer);
    const queue = queueId(consumer.failureDestination);
    expect(mapping.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: arnOf(queue) } });
    expect(grantedOn(refId(mapping.Properties.FunctionName), queue)).toContain("sqs:SendMessage");
  });
});

describe.each(queueConsumerSpecs)("queue consumer %s", (_name, consumer) => {
  it("reads its queue with the topology's batch size and reports partial failures", () => {
    const [, mapping] = queueMapping(consumer);
    expect(mapping.Properties).toMatchObject({
      BatchSize: consumer.batchSize,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("its queue hides a received message for six times the function's timeout", () => {
    const [, mapping] = queueMapping(consumer);
    const timeout = resources[refId(mapping.Properties.FunctionName)]!.Properties.Timeout as number;
    expect(timeout).toBeGreaterThan(0);
    expect(resources[queueId(consumer.source)]!.Properties.VisibilityTimeout).toBe(6 * timeout);
  });
});

// ---- runtime ------------------------------------------------------------

describe("runtime", () => {
  it(`every function of the stack runs ${functionDefaults.runtime}, as sst build writes it`, () => {
    expect(runtimeOf.size).toBe(allFunctions.length);
    for (const runtime of runtimeOf.values()) expect(runtime).toBe(functionDefaults.runtime);
    for (const id of runtimeOf.keys()) expect(resources[id]!.Properties.Runtime).toBe(functionDefaults.runtime);
  });
});

// ---- production: alarms, limits, retention -------------------------------

describe("alarms and dashboard", () => {
  const alarms = () => ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
  const alarmTopicId = () => {
    const output = template.toJSON().Outputs?.AlarmTopicArn;
    expect(output, "the AlarmTopicArn output").toBeDefined();
    return refId(output.Value);
  };
  const alarmOn = (metricName: string, dimension: { name: string; ref: string }) =>
    alarms().filter(
      (a) => a.MetricName === metricName && (a.Dimensions ?? []).some((d: any) => d.Name === dimension.name && refId(d.Value) === dimension.ref),
    );

  it("sends every alarm to the alarm topic, which is an output", () => {
    const topic = alarmTopicId();
    expect(resources[topic]?.Type).toBe("AWS::SNS::Topic");
    // Its key must let CloudWatch publish (SNS's AWS-managed key does not).
    const key = resources[refId(resources[topic]!.Properties.KmsMasterKeyId)]!;
    expect(key.Type).toBe("AWS::KMS::Key");
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({ Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"] }),
    );
    expect(alarms().length).toBeGreaterThan(0);
    for (const a of alarms()) expect(a.AlarmActions, a.AlarmDescription).toEqual([{ Ref: topic }]);
  });

  const shardConsumers = (): [string, FunctionSpec, string][] => [
    ...streamConsumerSpecs.map(([name, c]): [string, FunctionSpec, string] => [name, c, refId(consumerMapping(c.source)[1].Properties.FunctionName)]),
    ...kinesisConsumerSpecs.map(([name, c]): [string, FunctionSpec, string] => [name, c, refId(kinesisMapping(c)[1].Properties.FunctionName)]),
  ];

  it("watches every stream consumer's iterator age, paging at one hour behind (the DynamoDB streams keep 24 h)", () => {
    for (const [name, , fn] of shardConsumers()) {
      const found = alarmOn("IteratorAge", { name: "FunctionName", ref: fn });
      expect(found, name).toHaveLength(1);
      expect(found[0]).toMatchObject({ Statistic: "Maximum", Threshold: 3_600_000, ComparisonOperator: "GreaterThanOrEqualToThreshold", Period: 300 });
    }
  });

  it("raises an alarm on any message in a failure destination or dead-letter queue", () => {
    const parking = [
      ...queueSpecs.filter(([, q]) => q.parks).map(([name]) => name),
      ...[...streamConsumerSpecs, ...kinesisConsumerSpecs].map(([, c]) => c.failureDestination),
    ];
    expect(parking.length).toBeGreaterThan(0);
    for (const name of new Set(parking)) {
      const found = alarmOn("ApproximateNumberOfMessagesVisible", { name: "QueueName", ref: queueId(name) });
      expect(found, name).toHaveLength(1);
      expect(found[0]).toMatchObject({ Threshold: 1, TreatMissingData: "notBreaching" });
    }
  });

  it("watches every function's errors and throttles", () => {
    for (const id of runtimeOf.keys()) {
      for (const metric of ["Errors", "Throttles"]) expect(alarmOn(metric, { name: "FunctionName", ref: id }), `${metric} of ${handlerOf.get(id)}`).toHaveLength(1);
    }
  });

  it("watches the API's 5xx rate and Kinesis write throttling", () => {
    const math = alarms().filter((a) => a.Metrics?.some((m: any) => String(m.Expression ?? "").includes("100 * errors / requests")));
    expect(math).toHaveLength(1);
    expect(math[0]!.Threshold).toBe(1);
    for (const name of streamNames) expect(alarmOn("WriteProvisionedThroughputExceeded", { name: "StreamName", ref: streamId(name) }), name).toHaveLength(1);
  });

  it("has a dashboard of the pipeline", () => {
    const dashboards = ofType("AWS::CloudWatch::Dashboard");
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]![1].Properties.DashboardBody);
    for (const title of ["Commands in", "Outcomes by status", "Sequencer batch duration", "Iterator age", "Parked batches"]) expect(body).toContain(title);
  });
});

describe("limits", () => {
  it("throttles the API's default route", () => {
    const stages = ofType("AWS::ApiGatewayV2::Stage");
    expect(stages).toHaveLength(1);
    expect(stages[0]![1].Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: DEFAULT_SETTINGS.apiRate, ThrottlingBurstLimit: DEFAULT_SETTINGS.apiBurst });
  });

  it("reserves concurrency for the DynamoDB-stream consumers and caps every API function", () => {
    for (const [name, c] of streamConsumerSpecs)
      expect(resources[refId(consumerMapping(c.source)[1].Properties.FunctionName)]!.Properties.ReservedConcurrentExecutions, name).toBe(DEFAULT_SETTINGS.streamConsumerConcurrency);
    for (const [label] of allFunctions.filter(([l]) => isApiFunction(l)))
      expect(resources[routeFunctionId(label)]!.Properties.ReservedConcurrentExecutions, label).toBe(DEFAULT_SETTINGS.apiConcurrency);
  });

  it("allows no CORS origin unless the deployment lists some", () => {
    const apis = ofType("AWS::ApiGatewayV2::Api");
    expect(apis).toHaveLength(1);
    expect(apis[0]![1].Properties.CorsConfiguration).toBeUndefined();
  });
});

describe("retention and protection", () => {
  it("gives every function a log group of its own with a retention, and the API's access log one too", () => {
    const groups = ofType("AWS::Logs::LogGroup");
    expect(groups.length).toBeGreaterThan(runtimeOf.size);
    for (const [id, group] of groups) expect(group.Properties.RetentionInDays, id).toBe(30);
    for (const id of runtimeOf.keys()) expect(resources[refId(resources[id]!.Properties.LoggingConfig?.LogGroup)]?.Type, id).toBe("AWS::Logs::LogGroup");
  });

  it("encrypts every topic with KMS", () => {
    for (const [id, topic] of ofType("AWS::SNS::Topic")) expect(topic.Properties.KmsMasterKeyId, id).toBeDefined();
  });

  it("protects the log and the outcomes from deletion, and keeps point-in-time recovery on the commands", () => {
    for (const name of ["events", "outcomes"] as const) expect(resources[tableId(name)]!.Properties.DeletionProtectionEnabled, name).toBe(true);
    expect(resources[tableId("commands")]!.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it("keeps every failure destination and dead-letter queue when the stack is deleted", () => {
    for (const [name] of queueSpecs.filter(([, q]) => q.parks)) expect(resources[queueId(name)]!.DeletionPolicy, name).toBe("Retain");
    for (const [, c] of streamConsumerSpecs) expect(resources[queueId(c.failureDestination)]!.DeletionPolicy, c.failureDestination).toBe("Retain");
  });

  it("gives every SNS subscription a dead-letter queue", () => {
    const subscriptions = ofType("AWS::SNS::Subscription");
    expect(subscriptions.length).toBeGreaterThan(0);
    for (const [id, s] of subscriptions) expect(s.Properties.RedrivePolicy?.deadLetterTargetArn, id).toBeDefined();
  });
});

// ---- AWS's rule packs ---------------------------------------------------

describe("cdk-nag: AwsSolutions and Serverless", () => {
  const findings = (level: "error" | "warning") =>
    (level === "error" ? Annotations.fromStack(stack).findError("*", Match.anyValue()) : Annotations.fromStack(stack).findWarning("*", Match.anyValue()))
      .map((m) => `${String(m.entry.data).split(":")[0]} at ${m.id}`);

  it("has no unsuppressed error", () => {
    expect(findings("error")).toEqual([]);
  });

  it("ran both packs: their suppressions are in the template's metadata, each with a reason", () => {
    const json = template.toJSON();
    const suppressed = [json, ...Object.values(resources)].flatMap((r: any) => r.Metadata?.cdk_nag?.rules_to_suppress ?? []);
    expect(suppressed.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining(["AwsSolutions-IAM4", "AwsSolutions-IAM5", "Serverless-LambdaDLQ"]));
    for (const s of suppressed as { id: string; reason: string }[]) expect(s.reason.length, s.id).toBeGreaterThan(20);
  });

  it("leaves only warnings it was told of", () => {
    // Projections are rebuilt from the archive (no PITR); SST writes the API's access-log format.
    expect(findings("warning").map((w) => w.split(" at ")[0]).sort()).toEqual(["AwsSolutions-DDB3", "Serverless-APIGWStructuredLogging"]);
  });
});

// ---- least privilege ----------------------------------------------------

describe("permissions", () => {
  const grants = (access: Access | undefined, kind: "read" | "write") =>
    access === kind || access === "readwrite" || access === "manage" || (kind === "read" && access === "scan");

  it.each(allFunctions)("%s gets exactly the table access and environment its topology entry declares", (label, spec) => {
    const functionId = functionIdFor(label);
    const env = resources[functionId]!.Properties.Environment?.Variables ?? {};
    for (const table of tableNames) {
      const access = spec.tables[table];
      const actions = actionsOn(functionId, table);
      const write = writeActions.filter((a) => actions.has(a));
      if (grants(access, "write"))
        expect(write.sort(), `${table} write`).toEqual(
          access === "manage" ? ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] : ["dynamodb:PutItem", "dynamodb:UpdateItem"],
        );
      else expect(write, `no write on ${table}`).toEqual([]);
      if (grants(access, "read")) {
        expect(actions, `${table} read`).toContain("dynamodb:GetItem");
        expect(actions, `${table} read`).toContain("dynamodb:Query");
      } else {
        expect(actions.has("dynamodb:GetItem") || actions.has("dynamodb:Query"), `no read on ${table}`).toBe(false);
      }
      expect(actions.has("dynamodb:Scan"), `${table} scan`).toBe(access === "scan");
      if (!access) expect(actions.size, `nothing on ${table}`).toBe(0);
      expect(env[tables[table].env], `${tables[table].env}`).toEqual(access ? { Ref: tableId(table) } : undefined);
    }
  });

  it("POST /command can UpdateItem commands and read outcomes, and write nothing else", () => {
    const fn = routeFunctionId("POST /command");
    expect(actionsOn(fn, "commands")).toContain("dynamodb:UpdateItem");
    expect(actionsOn(fn, "outcomes")).toContain("dynamodb:GetItem");
    for (const table of ["events", "snapshots", "outcomes", "requests"] as const) {
      expect(writeActions.filter((a) => actionsOn(fn, table).has(a)), table).toEqual([]);
    }
  });

  it("the sequencer can write events", () => {
    const fn = refId(consumerMapping(streamConsumers.sequencer!.source)[1].Properties.FunctionName);
    expect(actionsOn(fn, "events")).toContain("dynamodb:PutItem");
  });

  it("no policy grants a DynamoDB wildcard, and only ListStreams is granted on every resource", () => {
    const statements = ofType("AWS::IAM::Policy").flatMap(
      ([, p]) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    for (const s of statements) {
      const actions = list(s.Action);
      expect(actions.filter((a) => a === "*" || (a.startsWith("dynamodb:") && a.includes("*")))).toEqual([]);
      if (list(s.Resource).includes("*")) {
        expect(actions.filter((a) => a.startsWith("dynamodb:") && a !== "dynamodb:ListStreams")).toEqual([]);
      }
    }
  });

  const kinesisRead = ["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream", "kinesis:ListShards"];
  const kinesisWrite = ["kinesis:PutRecord", "kinesis:PutRecords"];
  const sqsConsume = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"];

  it.each(allFunctions)("%s gets exactly the fan-out access and environment its topology entry declares", (label, spec) => {
    const functionId = functionIdFor(label);
    const env = resources[functionId]!.Properties.Environment?.Variables ?? {};
    const uses = spec.uses ?? {};

    for (const name of streamNames) {
      const id = streamId(name);
      const actions = grantedOn(functionId, id);
      const use = uses.kinesis?.[name];
      expect(kinesisRead.filter((a) => actions.has(a)), `${name} read`).toEqual(use === "read" ? kinesisRead : []);
      expect(kinesisWrite.filter((a) => actions.has(a)), `${name} write`).toEqual(use === "write" ? kinesisWrite : []);
      if (!use) expect(actions.size, `nothing on ${name}`).toBe(0);
      expect(env[kinesisStreams[name].env], kinesisStreams[name].env).toEqual(use ? { Ref: id } : undefined);
    }

    for (const name of bucketNames) {
      const id = bucketId(name);
      const onBucket = grantedOn(functionId, id);
      const onObjects = grantedOn(functionId, id, "objects");
      const use = uses.buckets?.[name];
      expect([...onBucket], `${name} bucket`).toEqual(use === "read" ? ["s3:ListBucket"] : []);
      expect([...onObjects], `${name} objects`).toEqual(use === "read" ? ["s3:GetObject"] : use === "write" ? ["s3:PutObject"] : []);
      expect(env[buckets[name].env], buckets[name].env).toEqual(use ? { Ref: id } : undefined);
    }

    for (const name of topicNames) {
      const id = topicId(name);
      const use = uses.topics?.[name];
      expect([...grantedOn(functionId, id)], `${name} topic`).toEqual(use === "publish" ? ["sns:Publish"] : []);
      expect(env[topics[name].env], topics[name].env).toEqual(use ? { Ref: id } : undefined);
    }

    const failureDestination = "failureDestination" in spec ? (spec.failureDestination as string) : undefined;
    for (const name of queueNames) {
      const id = queueId(name);
      const actions = grantedOn(functionId, id);
      const use = uses.queues?.[name];
      // A queue consumer consumes its source: its event source mapping's grant.
      const consumes = use === "consume" || ("source" in spec && spec.source === name);
      const sends = use === "send" || use === "feed" || failureDestination === name;
      expect(actions.has("sqs:SendMessage"), `${name} send`).toBe(sends);
      expect(sqsConsume.filter((a) => actions.has(a)), `${name} consume`).toEqual(consumes ? sqsConsume : []);
      // CDK's grant to an on-failure destination includes GetQueueAttributes.
      expect(actions.has("sqs:GetQueueAttributes"), `${name} depth`).toBe(consumes || use === "feed" || use === "count" || failureDestination === name);
      if (!use && !sends) expect(actions.size, `nothing on ${name}`).toBe(0);
      expect(env[queues[name]!.env], queues[name]!.env).toEqual(use ? { Ref: id } : undefined);
    }
  });

  const kinesisConsumerId = (name: string) => {
    const consumer = kinesisConsumerSpecs.find(([n]) => n === name);
    expect(consumer, `kinesis consumer ${name}`).toBeDefined();
    return refId(kinesisMapping(consumer![1])[1].Properties.FunctionName);
  };
  const tableWrites = (functionId: string) =>
    tableNames.flatMap((t) => writeActions.filter((a) => actionsOn(functionId, t).has(a)));

  it("the archiver reads all events, may PutObject in the archive and write its index in the projections table, and nothing else there or beyond", () => {
    const fn = kinesisConsumerId("archiver");
    const archive = bucketId("archive");
    expect(grantedOn(fn, streamId("allEvents"))).toContain("kinesis:GetRecords");
    expect([...grantedOn(fn, archive, "objects")]).toEqual(["s3:PutObject"]);
    expect(serviceActions(fn, "s3")).toEqual(["s3:PutObject"]);
    expect(serviceActions(fn, "sns")).toEqual([]);
    expect(serviceActions(fn, "kinesis").filter((a) => kinesisWrite.includes(a))).toEqual([]);
    expect(tableWrites(fn).every((action) => actionsOn(fn, "projections").has(action))).toBe(true);
    for (const table of tableNames.filter((t) => t !== "projections")) expect(writeActions.filter((a) => actionsOn(fn, table).has(a)), table).toEqual([]);
  });

  it("the replay jobs' runner reads the archive, feeds and watches the replay queues, scans the snapshots, and cannot write the archive", () => {
    const fn = refId(queueMapping(queueConsumers.replays!)[1].Properties.FunctionName);
    const archive = bucketId("archive");
    expect(grantedOn(fn, archive)).toContain("s3:ListBucket");
    expect(grantedOn(fn, archive, "objects")).toContain("s3:GetObject");
    expect(serviceActions(fn, "s3").filter((a) => !["s3:ListBucket", "s3:GetObject"].includes(a))).toEqual([]);
    const replayQueues = queueNames.filter((q) => q.endsWith("-replay"));
    const deadLetters = replayQueues.map((q) => queues[q]!.deadLetter!.queue);
    expect(replayQueues.length).toBeGreaterThan(0);
    for (const q of replayQueues) expect([...grantedOn(fn, queueId(q))].sort(), q).toEqual(["sqs:GetQueueAttributes", "sqs:SendMessage"]);
    for (const q of deadLetters) expect([...grantedOn(fn, queueId(q))], q).toEqual(["sqs:GetQueueAttributes"]);
    for (const q of queueNames.filter((q) => ![...replayQueues, ...deadLetters, "replays"].includes(q))) expect(grantedOn(fn, queueId(q)).size, q).toBe(0);
    expect(actionsOn(fn, "snapshots")).toContain("dynamodb:Scan");
    expect(tableWrites(fn)).toEqual(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]);
    expect(serviceActions(fn, "kinesis")).toEqual([]);
    expect(serviceActions(fn, "sns")).toEqual([]);
  });

  it("POST /admin/replays starts a job: it writes the projections table and sends to the runners' queue, nothing else", () => {
    const fn = routeFunctionId("POST /admin/replays");
    expect(tableNames.filter((t) => actionsOn(fn, t).size > 0)).toEqual(["projections"]);
    expect(queueNames.filter((q) => grantedOn(fn, queueId(q)).size > 0)).toEqual(["replays"]);
    expect(serviceActions(fn, "s3")).toEqual([]);
  });

  it("POST /admin/redrive may re-read the redrivable consumers' streams and invoke exactly those consumers", () => {
    const fn = routeFunctionId("POST /admin/redrive");
    const route = routes.find((r) => `${r.method} ${r.path}` === "POST /admin/redrive")!;
    const consumers = Object.keys(route.uses?.consumers ?? {});
    expect(consumers).toEqual(expect.arrayContaining(["sequencer", "publisher", "archiver"]));
    const invokable = statementsOf(fn).filter((s) => list(s.Action).includes("lambda:InvokeFunction")).flatMap((s) => list(s.Resource).map(refId));
    const consumerIds = consumers.map((name) => {
      const stream = streamConsumerSpecs.find(([n]) => n === name);
      if (stream) return refId(consumerMapping(stream[1].source)[1].Properties.FunctionName);
      return refId(kinesisMapping(kinesisConsumerSpecs.find(([n]) => n === name)![1])[1].Properties.FunctionName);
    });
    expect(invokable.sort()).toEqual([...consumerIds].sort());
    const env = resources[fn]!.Properties.Environment.Variables;
    for (const [i, name] of consumers.entries()) expect(env[`ORDINAL_CONSUMER_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_FUNCTION`], name).toEqual({ Ref: consumerIds[i] });
    for (const [, c] of streamConsumerSpecs) {
      const streamArn = { "Fn::GetAtt": [tableId(c.source), "StreamArn"] };
      const onStream = statementsOf(fn).filter((s) => list(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(streamArn))).flatMap((s) => list(s.Action));
      expect(onStream.sort(), c.source).toEqual(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]);
    }
  });

  const publisher = (streamConsumers as Record<string, StreamConsumerSpec>).publisher;

  it.runIf(publisher)("the publisher may PutRecords to all events and publish to the topic, and touches no bucket", () => {
    const fn = refId(consumerMapping(publisher!.source)[1].Properties.FunctionName);
    expect(grantedOn(fn, streamId("allEvents"))).toContain("kinesis:PutRecords");
    expect(serviceActions(fn, "kinesis").filter((a) => !kinesisWrite.includes(a))).toEqual([]);
    expect([...grantedOn(fn, topicId("events"))]).toEqual(["sns:Publish"]);
    expect(serviceActions(fn, "s3")).toEqual([]);
    expect(tableWrites(fn)).toEqual([]);
  });

  it("POST /command touches none of the fan-out", () => {
    const fn = routeFunctionId("POST /command");
    for (const service of ["kinesis", "s3", "sns", "sqs"]) expect(serviceActions(fn, service), service).toEqual([]);
  });

  it("no policy allows a wildcard action, and fan-out actions name their resources", () => {
    const everywhere = new Set(["dynamodb:ListStreams", "xray:PutTraceSegments", "xray:PutTelemetryRecords"]);
    const statements = ofType("AWS::IAM::Policy").flatMap(
      ([, p]) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    for (const s of statements) {
      expect(s.Effect).toBe("Allow");
      const actions = list(s.Action);
      expect(actions.filter((a) => a.includes("*"))).toEqual([]);
      for (const resource of list(s.Resource)) {
        // Every resource is a reference to one the stack made, except the few
        // actions that have no resource of their own.
        if (typeof resource === "string") {
          expect(resource).toBe("*");
          expect(actions.filter((a) => !everywhere.has(a))).toEqual([]);
        }
      }
    }
  });
});
};
