// The fan-out's resources, one per topology entry: the Kinesis stream, the
// archive bucket, the topic, and the queues with their dead letters and
// SNS subscriptions.
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { StreamEncryption } from "aws-cdk-lib/aws-kinesis";
import { BlockPublicAccess, BucketEncryption, ObjectOwnership, type CfnBucket } from "aws-cdk-lib/aws-s3";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { SubscriptionFilter } from "aws-cdk-lib/aws-sns";
import { QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Bucket, KinesisStream, Queue, Topic, type App, type Stack } from "sst/constructs";
import {
  buckets as bucketSpecs,
  kinesisStreams as streamSpecs,
  topics as topicSpecs,
  type QueueName,
  type QueueSpec,
} from "../core/topology.js";
import type { Resources } from "./permissions.js";
import type { DeploySettings } from "./settings.js";
import { Alias } from "aws-cdk-lib/aws-kms";

/** A record with each value mapped: one construct per topology entry, keyed as the topology keys it. */
export const mapValues = <K extends string, V, R>(record: Record<K, V>, f: (value: V, key: K) => R) =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value as V, key as K)])) as Record<K, R>;

export function createFanout(stack: Stack, queueSpecs: Readonly<Record<QueueName, QueueSpec>>, settings: DeploySettings): Omit<Resources, "tables"> {
  const app = stack.node.root as App;

  // Every bucket: private, no ACLs (log delivery too writes under a bucket policy), encrypted, TLS only, kept.
  const privateBucket = {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    removalPolicy: RemovalPolicy.RETAIN,
    autoDeleteObjects: false,
  };

  // Who read and wrote the archive, kept as long as the logs.
  const accessLogs = new Bucket(stack, "archive-access-logs", {
    cors: false,
    cdk: { bucket: { ...privateBucket, lifecycleRules: [{ expiration: Duration.days(settings.logRetention) }] } },
  });

  const streams = mapValues(streamSpecs, (spec) =>
    new KinesisStream(stack, spec.name, {
      cdk: {
        stream: {
          shardCount: spec.shards,
          retentionPeriod: Duration.hours(spec.retentionHours),
          encryption: StreamEncryption.MANAGED,
        },
      },
    }),
  );

  // The archive is the only copy of the log kept forever.
  const buckets = mapValues(bucketSpecs, (spec) =>
    new Bucket(stack, spec.name, {
      // Only functions read and write it; SST's default allows every origin.
      cors: false,
      cdk: {
        bucket: {
          ...privateBucket,
          // Guards the archive against a faulty overwrite or delete; a retried
          // batch rewrites the same key, so old versions are only kept a while.
          versioned: true,
          lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
        },
      },
    }),
  );

  const snsKey = Alias.fromAliasName(stack, "aws-sns-key", "alias/aws/sns");
  // Server access logs, delivered under a bucket policy (the bucket has no ACLs), as S3's guide advises.
  for (const bucket of Object.values(buckets)) {
    const prefix = `${bucket.node.id}/`;
    (bucket.cdk.bucket.node.defaultChild as CfnBucket).loggingConfiguration = {
      destinationBucketName: accessLogs.bucketName,
      logFilePrefix: prefix,
    };
    accessLogs.cdk.bucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal("logging.s3.amazonaws.com")],
        actions: ["s3:PutObject"],
        resources: [accessLogs.cdk.bucket.arnForObjects(`${prefix}*`)],
        conditions: { ArnLike: { "aws:SourceArn": bucket.bucketArn }, StringEquals: { "aws:SourceAccount": stack.account } },
      }),
    );
  }

  // Construct ids are suffixed: topic names may repeat table names ("events").
  const topics = mapValues(topicSpecs, (spec) =>
    new Topic(stack, `${spec.name}-topic`, {
      // Encrypted at rest with SNS's AWS-managed key: its key policy lets the account's publishers use it through SNS.
      cdk: { topic: { topicName: app.logicalPrefixedName(spec.name), enforceSSL: true, masterKey: snsKey } },
    }),
  );

  const queues: Record<QueueName, Queue> = {};
  const queueOf = (name: string): Queue => {
    const spec = queueSpecs[name];
    if (!spec) throw new Error(`queue '${name}' is not in the topology`);
    queues[name] ??= createQueue(stack, spec.name, {
      fifo: spec.fifo,
      retain: spec.parks,
      deadLetter: spec.deadLetter && { queue: queueOf(spec.deadLetter.queue), maxReceiveCount: spec.deadLetter.maxReceiveCount },
    });
    return queues[name]!;
  };
  for (const name of Object.keys(queueSpecs)) queueOf(name);

  for (const [name, spec] of Object.entries(queueSpecs) as [QueueName, QueueSpec][]) {
    if (!spec.subscription) continue;
    topics[spec.subscription.topic].addSubscribers(stack, {
      [name]: {
        type: "queue",
        queue: queueOf(name),
        cdk: {
          subscription: {
            rawMessageDelivery: true,
            // What SNS cannot deliver to the queue waits here for a redrive, instead of being dropped.
            ...(spec.deadLetter && { deadLetterQueue: queueOf(spec.deadLetter.queue).cdk.queue }),
            filterPolicy: mapValues(spec.subscription.filterPolicy, (allowlist) =>
              SubscriptionFilter.stringFilter({ allowlist: [...allowlist] }),
            ),
          },
        },
      },
    });
  }

  return { queueSpecs, streams, buckets, topics, queues, accessLogs };
}

/**
 * A queue as Ordinal keeps them: encrypted, TLS only, messages kept the 14-day
 * maximum so parked failures wait for a redrive. `name` is the physical name
 * without the stage prefix; SST adds ".fifo" to FIFO queues itself.
 */
export function createQueue(
  stack: Stack,
  name: string,
  options: { fifo?: boolean; retain?: boolean; deadLetter?: { queue: Queue; maxReceiveCount: number } } = {},
): Queue {
  return new Queue(stack, name.replace(/\.fifo$/, ""), {
    cdk: {
      queue: {
        retentionPeriod: Duration.days(14),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        // A queue of parked failures or dead letters outlives the stack: what it holds was not handled.
        ...(options.retain && { removalPolicy: RemovalPolicy.RETAIN }),
        ...(options.fifo && { fifo: true, contentBasedDeduplication: false }),
        ...(options.deadLetter && {
          deadLetterQueue: { queue: options.deadLetter.queue.cdk.queue, maxReceiveCount: options.deadLetter.maxReceiveCount },
        }),
      },
    },
  });
}
