import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Bucket, FunctionProps, KinesisStream, Queue, Table, Topic } from "sst/constructs";
import {
  buckets as bucketSpecs,
  kinesisStreams as streamSpecs,
  tables as tableSpecs,
  topics as topicSpecs,
  type Access,
  type BucketName,
  type FunctionSpec,
  type KinesisStreamName,
  type QueueName,
  type QueueSpec,
  type TableName,
  type TopicName,
} from "../core/topology.js";

/** Every construct built from the expanded topology, by topology name, with the queues' specs. */
export interface Resources {
  readonly queueSpecs: Readonly<Record<QueueName, QueueSpec>>;
  readonly tables: Record<TableName, Table>;
  readonly streams: Record<KinesisStreamName, KinesisStream>;
  readonly buckets: Record<BucketName, Bucket>;
  readonly topics: Record<TopicName, Topic>;
  readonly queues: Record<QueueName, Queue>;
  /** The archive's server access logs. */
  readonly accessLogs: Bucket;
}

// TransactWriteItems and TransactGetItems have no IAM action of their own: each
// item is authorized as PutItem / UpdateItem / ConditionCheckItem / GetItem.
const read = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"];
const write = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"];
// A pending archive marker's DeleteItem; a retired generation's BatchWriteItem of deletes.
const deletes = ["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];

export const dynamodbActions: Record<Access, readonly string[]> = {
  read,
  write,
  readwrite: [...new Set([...read, ...write])],
  scan: [...read, "dynamodb:Scan"],
  manage: [...new Set([...read, ...write, ...deletes])],
};

// What the event source mapping itself calls (CDK grants the same when it is
// the function's event source, so these are only written for other readers).
export const kinesisActions = {
  read: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
  write: ["kinesis:PutRecord", "kinesis:PutRecords"],
} as const;

/** Reading a table's stream directly: what a redrive needs to re-read a parked batch. */
export const dynamodbStreamActions = ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"] as const;

// SendMessageBatch is authorized as SendMessage; URLs come in the environment,
// so GetQueueUrl is never needed. GetQueueAttributes lets redrive count a queue.
export const sqsActions = {
  send: ["sqs:SendMessage"],
  consume: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
  // A replay job sends to a replay queue and watches it drain, and its dead letters.
  feed: ["sqs:SendMessage", "sqs:GetQueueAttributes"],
  count: ["sqs:GetQueueAttributes"],
} as const;

// PublishBatch is authorized as Publish.
export const snsActions = { publish: ["sns:Publish"] } as const;

/** The resource an event source mapping reads for the function: CDK grants that access itself. */
export type EventSource = { readonly kinesis: KinesisStreamName } | { readonly queue: QueueName };

const allow = (actions: readonly string[], ...resources: string[]) =>
  new PolicyStatement({ effect: Effect.ALLOW, actions: [...actions], resources });

const entries = <K extends string, V>(record: Partial<Record<K, V>> | undefined) =>
  Object.entries(record ?? {}) as [K, V][];

/**
 * The environment and IAM statements a function gets from its topology entry:
 * one statement per resource, only the actions its access implies. Used
 * instead of `bind`, which grants `dynamodb:*`, `s3:*`, `sns:*`, `kinesis:*`.
 */
export function access(
  spec: FunctionSpec,
  resources: Resources,
  source?: EventSource,
): Required<Pick<FunctionProps, "environment" | "permissions">> {
  const environment: Record<string, string> = {};
  const permissions: PolicyStatement[] = [];
  for (const [name, level] of entries(spec.tables)) {
    const table = resources.tables[name];
    environment[tableSpecs[name].env] = table.tableName;
    permissions.push(allow(dynamodbActions[level], table.tableArn));
  }
  for (const [name, level] of entries(spec.uses?.kinesis)) {
    const stream = resources.streams[name];
    environment[streamSpecs[name].env] = stream.streamName;
    const granted = source && "kinesis" in source && source.kinesis === name && level === "read";
    if (!granted) permissions.push(allow(kinesisActions[level], stream.streamArn));
  }
  for (const [name] of entries(spec.uses?.streams)) {
    const table = resources.tables[name];
    permissions.push(allow(dynamodbStreamActions, table.cdk.table.tableStreamArn!));
  }
  for (const [name, level] of entries(spec.uses?.buckets)) {
    const bucket = resources.buckets[name];
    environment[bucketSpecs[name].env] = bucket.bucketName;
    if (level === "read") {
      permissions.push(allow(["s3:ListBucket"], bucket.bucketArn), allow(["s3:GetObject"], `${bucket.bucketArn}/*`));
    } else {
      permissions.push(allow(["s3:PutObject"], `${bucket.bucketArn}/*`));
    }
  }
  for (const [name, level] of entries(spec.uses?.topics)) {
    const topic = resources.topics[name];
    environment[topicSpecs[name].env] = topic.topicArn;
    permissions.push(allow(snsActions[level], topic.topicArn));
  }
  for (const [name, level] of entries(spec.uses?.queues)) {
    const queue = resources.queues[name];
    const queueSpec = resources.queueSpecs[name];
    if (!queue || !queueSpec) throw new Error(`a function uses queue '${name}', which the topology does not have`);
    environment[queueSpec.env] = queue.queueUrl;
    const granted = source && "queue" in source && source.queue === name && level === "consume";
    if (!granted) permissions.push(allow(sqsActions[level], queue.queueArn));
  }
  return { environment, permissions };
}

/** A function as its topology entry describes it: handler, its generic handler's settings, environment and grants. */
export function functionProps(spec: FunctionSpec, resources: Resources, source?: EventSource): FunctionProps {
  const { environment, permissions } = access(spec, resources, source);
  return {
    handler: spec.handler,
    environment: { ...spec.environment, ...environment },
    permissions,
    ...(spec.timeoutSeconds !== undefined ? { timeout: spec.timeoutSeconds } : {}),
  };
}
