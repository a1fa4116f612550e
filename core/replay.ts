// Replay: archive objects in key order → the events one projection takes →
// that projection's FIFO replay queue, one page of objects per call, each
// event in an envelope naming the replay and the generation it builds.
// Replay jobs (replay-jobs.ts) call it page after page.
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { listArchive, readArchiveObject } from "./fanout/archiver.js";
import { partOf, type ExpandedApp } from "./app-definition.js";
import { accepts } from "./projections/projection.js";
import type { EventRecord } from "./records.js";
import { fifoId, sendMessages } from "./sqs.js";
import type { QueueName } from "./topology.js";

export interface ReplayDeps {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly names: { readonly archiveBucket: string; readonly queueUrls: Readonly<Record<QueueName, string>> };
  readonly app: Pick<ExpandedApp, "projections" | "topology">;
}

export interface ReplayPageInput {
  /** The projection to replay into. */
  readonly handler: string;
  /** Inclusive bounds on `recordedAt`, ms since epoch. */
  readonly from?: number;
  readonly to?: number;
  /** The last object key a previous page read. */
  readonly startAfter?: string;
  readonly maxObjects: number;
  /** The same for every page of one replay and new for each replay (see deduplicationIdOf). */
  readonly replayId: string;
  /** The generation of the projection's read models the events go to. */
  readonly generation: number;
  /**
   * Objects are listed this much wider than [from, to]: a key carries the
   * hour its batch's first record reached Kinesis, which is after the events
   * were recorded and before the batch's last one arrived. Default 1 hour.
   */
  readonly slackMs?: number;
}

export interface ReplayPageResult {
  readonly objectsRead: number;
  /** Events in the objects read, of every type. */
  readonly eventsRead: number;
  readonly eventsSent: number;
  /** Pass as `startAfter` for the next page; undefined when the range is done. */
  readonly nextStartAfter?: string;
}

/** A replay queue's message: the event, and the replay and generation it is for. */
export interface ReplayMessage {
  readonly replay: { readonly id: string; readonly generation: number };
  readonly event: EventRecord;
}

export const replayQueueOf = (app: Pick<ExpandedApp, "topology">, handler: string): QueueName => {
  const name = `${handler}-replay`;
  if (!Object.hasOwn(app.topology.queues, name)) throw new Error(`the topology has no replay queue '${name}'`);
  return name;
};

/** The replay's dead-letter queue: what its projector kept failing on. */
export const replayDeadLetterOf = (app: Pick<ExpandedApp, "topology">, handler: string): QueueName => {
  const queue = app.topology.queues[replayQueueOf(app, handler)]!.deadLetter?.queue;
  if (!queue) throw new Error(`the replay queue of '${handler}' has no dead-letter queue`);
  return queue;
};

/**
 * A retried page sends the same ids, so SQS drops the copies; a new replay
 * has a new `replayId`, so its messages are not mistaken for the last
 * replay's within SQS's five-minute deduplication window.
 */
export const deduplicationIdOf = (replayId: string, event: EventRecord): string => fifoId(`${replayId}:${event.eventId}`);

const DEFAULT_SLACK_MS = 3_600_000;

/** The archive objects that may hold events recorded in [from, to]: the range widened by `slackMs` (see ReplayPageInput). */
export const archiveRangeOf = ({ from, to, slackMs = DEFAULT_SLACK_MS }: Pick<ReplayPageInput, "from" | "to" | "slackMs">) => ({
  from: from === undefined ? undefined : new Date(from - slackMs),
  to: to === undefined ? undefined : new Date(to + slackMs),
});

const inRange = (event: EventRecord, from?: number, to?: number) =>
  (from === undefined || event.recordedAt >= from) && (to === undefined || event.recordedAt <= to);

export const replayPage = async (deps: ReplayDeps, input: ReplayPageInput): Promise<ReplayPageResult> => {
  const { handler, from, to, startAfter, maxObjects, replayId, generation } = input;
  const projection = partOf(deps.app.projections, "projection", handler);
  const queueUrl = deps.names.queueUrls[replayQueueOf(deps.app, handler)]!;
  const bucket = deps.names.archiveBucket;
  const page = await listArchive(deps.s3, bucket, { ...archiveRangeOf(input), startAfter, maxKeys: maxObjects });
  // Read in parallel; send strictly in key order, which is each stream's order.
  const objects = await Promise.all(page.keys.map((key) => readArchiveObject(deps.s3, bucket, key)));
  const read = objects.flat();
  const events = read.filter((e) => accepts(projection, e) && inRange(e, from, to));
  await sendMessages(
    deps.sqs,
    queueUrl,
    events.map((event) => ({
      body: JSON.stringify({ replay: { id: replayId, generation }, event } satisfies ReplayMessage),
      groupId: fifoId(event.streamId),
      deduplicationId: deduplicationIdOf(replayId, event),
    })),
  );
  return {
    objectsRead: page.keys.length,
    eventsRead: read.length,
    eventsSent: events.length,
    ...(page.next !== undefined ? { nextStartAfter: page.next } : {}),
  };
};
