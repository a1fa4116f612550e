// What cdk-nag's AwsSolutions and Serverless rule packs flag in this stack and
// is so on purpose: each suppression names its rule, what it applies to where
// the rule allows (an action's resource), and why. test/support/stack-template.ts
// runs both packs on the synthesized stack and allows no unsuppressed error.
import { NagSuppressions, type NagPackSuppression } from "cdk-nag";
import type { IConstruct } from "constructs";
import type { Bucket, Queue, Stack } from "sst/constructs";

/** For every function of the stack. */
export const stackSuppressions = (archive: Bucket): NagPackSuppression[] => [
  {
    id: "AwsSolutions-IAM4",
    appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
    reason: "AWS's managed policy for a Lambda function's own logs (CreateLogStream, PutLogEvents): nothing beyond them",
  },
  {
    id: "AwsSolutions-IAM5",
    appliesTo: ["Resource::*"],
    reason: "xray:PutTraceSegments, xray:PutTelemetryRecords and dynamodb:ListStreams have no resource-level form; every other action names its resource",
  },
  {
    id: "AwsSolutions-IAM5",
    appliesTo: [`Resource::<${logicalIdOf(archive)}.Arn>/*`],
    reason: "the archive's object keys come from the data (events/YYYY/MM/DD/HH/...): the grant is GetObject or PutObject on that one bucket's objects",
  },
  {
    id: "Serverless-LambdaDLQ",
    reason: "no function is invoked asynchronously: API functions answer their caller, and stream and queue consumers park failed batches through their event source mapping's on-failure destination or their queue's redrive policy",
  },
];

/** SST's own custom resource (the stack's metadata): its runtime and tracing are SST's. */
export const sstSuppressions: NagPackSuppression[] = [
  { id: "AwsSolutions-L1", reason: "SST's stack-metadata handler: SST chooses its runtime" },
  { id: "Serverless-LambdaLatestVersion", reason: "SST's stack-metadata handler: SST chooses its runtime" },
  { id: "Serverless-LambdaTracing", reason: "SST's stack-metadata handler runs once per deploy" },
];

/** SST's Script handler (runs the on-deploy function as the stack deploys): SST's runtime, and CDK's grantInvoke. */
export const scriptSuppressions: NagPackSuppression[] = [
  ...sstSuppressions,
  {
    id: "AwsSolutions-IAM5",
    appliesTo: [{ regex: "/^Resource::<.+\\.Arn>:\\*$/" }],
    reason: "CDK's grantInvoke lets SST's Script handler invoke the on-deploy function and its versions (ARN:*): that one function only",
  },
];

/** A failure destination or dead-letter queue: it is where failures end, it needs none of its own. */
export const parkingSuppressions: NagPackSuppression[] = [
  { id: "AwsSolutions-SQS3", reason: "this queue is itself a failure destination or dead-letter queue, watched by an alarm" },
  { id: "Serverless-SQSRedrivePolicy", reason: "this queue is itself a failure destination or dead-letter queue, watched by an alarm" },
];

/** An SQS event source mapping (a replay queue's consumer). */
export const sqsMappingSuppressions: NagPackSuppression[] = [
  {
    id: "Serverless-LambdaEventSourceMappingDestination",
    reason: "an SQS event source mapping takes no on-failure destination: the queue's redrive policy moves a message to its dead-letter queue after 5 receives",
  },
];

function logicalIdOf(bucket: Bucket): string {
  const stack = bucket.cdk.bucket.stack;
  return stack.getLogicalId(bucket.cdk.bucket.node.defaultChild as unknown as import("aws-cdk-lib").CfnElement);
}

export function suppress(
  stack: Stack,
  what: { archive: Bucket; parking: readonly Queue[]; sqsMappings: readonly IConstruct[]; sst: readonly IConstruct[]; script?: IConstruct },
) {
  NagSuppressions.addStackSuppressions(stack, stackSuppressions(what.archive));
  for (const queue of what.parking) NagSuppressions.addResourceSuppressions(queue.cdk.queue, parkingSuppressions);
  for (const mapping of what.sqsMappings) NagSuppressions.addResourceSuppressions(mapping, sqsMappingSuppressions, true);
  for (const construct of what.sst) NagSuppressions.addResourceSuppressions(construct, sstSuppressions, true);
  if (what.script) NagSuppressions.addResourceSuppressions(what.script, scriptSuppressions, true);
}
