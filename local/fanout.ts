// The fan-out half of the local stack: kinesis-mock for the "all events"
// stream, fauxqs for SQS, SNS and S3, and every resource the topology names,
// created through the same APIs as on AWS.
import { DescribeStreamSummaryCommand, KinesisClient } from "@aws-sdk/client-kinesis";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { buckets, kinesisStreams, topics, type QueueName, type QueueSpec } from "../core/topology.js";
import type { FanoutNames } from "../functions/deps.js";
import { fauxqsClientConfig, s3ClientConfig, startFauxqs } from "./fauxqs.js";
import { ensureKinesisStream, kinesisClientConfig, startKinesis } from "./kinesis.js";
import { restoreObjects, restoreQueues, saveAfterSends, snapshotQueues, writeObjectsThrough, type QueueSnapshots } from "./persistence.js";
import { join } from "node:path";

export interface LocalFanout {
  readonly endpoints: { readonly kinesis: string; readonly sqs: string; readonly sns: string; readonly s3: string };
  readonly clients: { readonly kinesis: KinesisClient; readonly s3: S3Client; readonly sns: SNSClient; readonly sqs: SQSClient };
  readonly names: FanoutNames;
  readonly allEventsStreamArn: string;
  /** The stream's creation time: a checkpoint on it means nothing for a stream made anew (kinesis-local lost its state), so checkpoints are scoped to it. */
  readonly allEventsCreatedAt: number;
  readonly queueArns: Readonly<Record<QueueName, string>>;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

// Short locally, so a failed replay message is retried within seconds, not minutes.
const LOCAL_VISIBILITY_TIMEOUT_SECONDS = "2";

const queueAttributes = (spec: QueueSpec, arns: Partial<Record<string, string>>): Record<string, string> => ({
  VisibilityTimeout: String(spec.localVisibilityTimeoutSeconds ?? LOCAL_VISIBILITY_TIMEOUT_SECONDS),
  ...(spec.fifo ? { FifoQueue: "true" } : {}),
  ...(spec.deadLetter
    ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arns[spec.deadLetter.queue], maxReceiveCount: spec.deadLetter.maxReceiveCount }) }
    : {}),
});

/**
 * With `dataDir`, kinesis-local keeps its state under `<dataDir>/kinesis`, the
 * archive is written through to `<dataDir>/s3` and the queues to
 * `<dataDir>/sqs.json` (see persistence.ts); without, everything is in memory.
 */
export const startFanout = async (prefix: string, queues: Readonly<Record<QueueName, QueueSpec>>, dataDir?: string): Promise<LocalFanout> => {
  const kinesisMock = await startKinesis({ dataDir: dataDir && join(dataDir, "kinesis") });
  const fauxqs = await startFauxqs().catch(async (error) => {
    await kinesisMock.stop();
    throw error;
  });
  const clients = {
    kinesis: new KinesisClient(kinesisClientConfig(kinesisMock.endpoint)),
    s3: new S3Client(s3ClientConfig(fauxqs.endpoint)),
    sns: new SNSClient(fauxqsClientConfig(fauxqs.endpoint)),
    sqs: new SQSClient(fauxqsClientConfig(fauxqs.endpoint)),
  };
  let snapshots: QueueSnapshots | undefined;
  const stop = async () => {
    snapshots?.stop();
    for (const client of Object.values(clients)) client.destroy();
    await Promise.all([kinesisMock.stop(), fauxqs.stop()]);
  };
  try {
    const stream = `${prefix}${kinesisStreams.allEvents.name}`;
    await ensureKinesisStream(clients.kinesis, stream, kinesisStreams.allEvents.shards);
    const summary = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));

    const bucket = `${prefix}${buckets.archive.name}`;
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    if (dataDir) {
      await restoreObjects(clients.s3, join(dataDir, "s3"), bucket);
      writeObjectsThrough(clients.s3, join(dataDir, "s3"));
    }
    const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: `${prefix}${topics.events.name}` }));

    // Dead-letter queues first: the queues that use them name them by ARN.
    const ordered = (Object.entries(queues) as [QueueName, QueueSpec][]).sort(([, a], [, b]) => Number(!!a.deadLetter) - Number(!!b.deadLetter));
    const queueUrls: Partial<Record<QueueName, string>> = {};
    const queueArns: Partial<Record<QueueName, string>> = {};
    /** Physical queue name → URL. */
    const urlByName = new Map<string, string>();
    for (const [name, spec] of ordered) {
      const { QueueUrl } = await clients.sqs.send(
        new CreateQueueCommand({ QueueName: `${prefix}${spec.name}`, Attributes: queueAttributes(spec, queueArns) }),
      );
      urlByName.set(`${prefix}${spec.name}`, QueueUrl!);
      const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
      queueUrls[name] = QueueUrl!;
      queueArns[name] = Attributes!.QueueArn!;
      if (spec.subscription)
        await clients.sns.send(
          new SubscribeCommand({
            TopicArn,
            Protocol: "sqs",
            Endpoint: queueArns[name],
            Attributes: { FilterPolicy: JSON.stringify(spec.subscription.filterPolicy), RawMessageDelivery: "true" },
          }),
        );
    }
    if (dataDir) {
      const file = join(dataDir, "sqs.json");
      await restoreQueues(clients.sqs, file, (name) => urlByName.get(name));
      snapshots = snapshotQueues(fauxqs.server, file, [...urlByName.keys()]);
      saveAfterSends(clients.sqs, snapshots);
    }
    return {
      endpoints: { kinesis: kinesisMock.endpoint, sqs: fauxqs.endpoint, sns: fauxqs.endpoint, s3: fauxqs.endpoint },
      clients,
      names: { allEventsStream: stream, archiveBucket: bucket, eventsTopicArn: TopicArn!, queueUrls: queueUrls as Record<QueueName, string> },
      allEventsStreamArn: summary.StreamDescriptionSummary!.StreamARN!,
      allEventsCreatedAt: summary.StreamDescriptionSummary!.StreamCreationTimestamp!.getTime(),
      queueArns: queueArns as Record<QueueName, string>,
      pids: [kinesisMock.pid],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
};
