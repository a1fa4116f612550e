// Redrive: messages parked in a dead-letter queue go back to the queue they
// came from (the topology's deadLetter relation), in the order received.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { fifoId, queueDepth, sendMessages } from "./sqs.js";
import { deadLetterMoves, type QueueName, type Topology } from "./topology.js";

/** Hands parked batches of a stream consumer back to it; what succeeds leaves the failure destination. */
export interface ParkedBatches {
  /** `note` says why a redrive stopped early (a batch past the stream's retention, a consumer that refused it). */
  redrive(destination: string, consumer: string): Promise<{ readonly redriven: number; readonly remaining: number; readonly note?: string }>;
  /** The batches a failure destination holds, where the deployment keeps them whole (the local stack). */
  list?(destination: string): Promise<readonly ParkedSummary[] | undefined>;
}

/** A parked batch as GET /admin/parked shows it. */
export interface ParkedSummary {
  readonly consumer: string;
  readonly shardId: string;
  readonly records: number;
  readonly error: string;
  readonly attempts: number;
  readonly parkedAt?: string;
}

/**
 * What every failure destination and dead-letter queue holds: the batches
 * themselves where the deployment keeps them (the local stack's stream
 * consumers), else the queue's message count.
 */
export const parkedReport = async (deps: RedriveDeps) => {
  const report: { queue: string; kind: RedrivePlan["kind"]; target: string; count: number; batches?: readonly ParkedSummary[] }[] = [];
  for (const [queue, plan] of [...redrivePlans(deps.app.topology)].sort(([a], [b]) => a.localeCompare(b))) {
    const target = plan.kind === "move" ? plan.to : plan.consumer;
    const batches = plan.kind === "parked" ? await deps.parked?.list?.(queue) : undefined;
    if (batches) {
      report.push({ queue, kind: plan.kind, target, count: batches.length, batches });
      continue;
    }
    const url = deps.names.queueUrls[queue];
    if (url) report.push({ queue, kind: plan.kind, target, count: await queueDepth(deps.sqs, url) });
  }
  return report;
};

export interface RedriveDeps {
  readonly sqs: SQSClient;
  readonly names: { readonly queueUrls: Readonly<Record<QueueName, string>> };
  /** Where the deployment can re-deliver parked stream batches (the local stack can); else they are only counted. */
  readonly parked?: ParkedBatches;
  readonly app: { readonly topology: Topology };
}

export type RedrivePlan =
  /** A dead-letter queue: its messages are moved back to `to`. */
  | { readonly kind: "move"; readonly to: QueueName }
  /** A stream consumer's failure destination: it holds parked batches. */
  | { readonly kind: "parked"; readonly consumer: string };

const plansOf = new WeakMap<Topology, ReadonlyMap<string, RedrivePlan>>();

/** Where each queue `POST /admin/redrive` takes sends its messages, by queue (worked out once per topology). */
export const redrivePlans = (topology: Topology): ReadonlyMap<string, RedrivePlan> => {
  let plans = plansOf.get(topology);
  if (!plans) {
    plans = new Map<string, RedrivePlan>([
      ...deadLetterMoves(topology.queues).map(([from, to]): [string, RedrivePlan] => [from, { kind: "move", to }]),
      ...Object.entries({ ...topology.streamConsumers, ...topology.kinesisConsumers }).map(([consumer, spec]): [string, RedrivePlan] => [
        spec.failureDestination,
        { kind: "parked", consumer },
      ]),
    ]);
    plansOf.set(topology, plans);
  }
  return plans;
};

/** Queues `POST /admin/redrive` takes, in name order. */
export const redrivableQueues = (topology: Topology): readonly string[] => [...redrivePlans(topology).keys()].sort();

export interface RedriveResult {
  readonly queue: string;
  readonly to?: string;
  readonly moved: number;
  /** Messages left, when only counted. */
  readonly parked?: number;
  /** True when the queue answered empty; false when `maxMessages` stopped this call first. */
  readonly done: boolean;
  /** Why a redrive of parked batches stopped before the queue was empty. */
  readonly note?: string;
}

/**
 * Moves up to `maxMessages`. Each message is deleted only after its copy was
 * accepted; a copy's deduplication id comes from `redriveId` and the message
 * id, so a retried call does not send it twice, and a message redriven again
 * later (in a new redrive) is not swallowed by the deduplication window.
 */
export const redrive = async (
  deps: RedriveDeps,
  { queue, redriveId, maxMessages = 1_000 }: { queue: string; redriveId: string; maxMessages?: number },
): Promise<RedriveResult> => {
  const plan = redrivePlans(deps.app.topology).get(queue);
  if (!plan) throw new Error(`'${queue}' is neither a dead-letter queue nor a failure destination`);
  if (plan.kind === "parked" && deps.parked) {
    const { redriven, remaining, note } = await deps.parked.redrive(queue, plan.consumer);
    return { queue, to: plan.consumer, moved: redriven, parked: remaining, done: remaining === 0, ...(note ? { note } : {}) };
  }
  const fromUrl = deps.names.queueUrls[queue];
  if (plan.kind === "parked") {
    // On AWS the queue holds Lambda's on-failure records (shard and sequence range), counted here.
    if (!fromUrl) return { queue, moved: 0, parked: 0, done: true };
    return { queue, moved: 0, parked: await queueDepth(deps.sqs, fromUrl), done: true };
  }
  const toUrl = deps.names.queueUrls[plan.to];
  if (!fromUrl || !toUrl) throw new Error(`redrive of ${queue} needs both queues' URLs; this function has ${fromUrl ? "none for " + plan.to : "none for " + queue}`);
  const fifo = Boolean(deps.app.topology.queues[plan.to]?.fifo);
  let moved = 0;
  while (moved < maxMessages) {
    const { Messages = [] } = await deps.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: fromUrl,
        MaxNumberOfMessages: Math.min(10, maxMessages - moved),
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ["MessageGroupId"],
        MessageAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return { queue, to: plan.to, moved, done: true };
    try {
      await sendMessages(
        deps.sqs,
        toUrl,
        Messages.map((m) => ({
          body: m.Body ?? "",
          attributes: m.MessageAttributes,
          ...(fifo
            ? { groupId: m.Attributes?.MessageGroupId ?? "redriven", deduplicationId: fifoId(`redrive:${redriveId}:${m.MessageId}`) }
            : {}),
        })),
      );
    } catch (error) {
      // Nothing was deleted: show the messages again at once, so the next redrive can take them.
      await deps.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: fromUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
          }),
        )
        .catch(() => {}); // they show again after their visibility timeout anyway
      throw new Error(`redrive of ${queue} stopped after ${moved} messages: sending to ${plan.to} failed (${(error as Error).message}); the rest stay in ${queue}`, {
        cause: error,
      });
    }
    const { Failed = [] } = await deps.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: fromUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    // An undeleted message comes back after its visibility timeout: SQS drops a resent copy within five
    // minutes (same id), and after that the projector skips what it already applied.
    if (Failed.length > 0) throw new Error(`${Failed.length} redriven messages could not be deleted from ${queue}: ${Failed.map((f) => f.Code).join(", ")}`);
    moved += Messages.length;
  }
  return { queue, to: plan.to, moved, done: false };
};
