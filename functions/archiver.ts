// Kinesis "all events" → archiver: each batch's events not archived yet as one gzip JSON-lines object in S3.
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from "aws-lambda";
import { archiveOnce } from "../core/fanout/archive-index.js";
import type { ArchiveBatch } from "../core/fanout/archiver.js";
import type { EventRecord } from "../core/records.js";
import { fanoutDepsFromEnv, logger, type FanoutDeps } from "./deps.js";
import { lazy } from "./http.js";

/** Lambda's eventID is `<shardId>:<sequenceNumber>`; without it, the sequence number alone still keeps keys apart. */
const shardOf = (record: KinesisStreamRecord): string => /^(shardId-[A-Za-z0-9_-]+):/.exec(record.eventID ?? "")?.[1] ?? "shardId-unknown";

/** Where a batch of records goes in the archive: by its first record's shard, sequence number and arrival. */
const placementOf = (records: readonly KinesisStreamRecord[]): Omit<ArchiveBatch, "events"> => {
  const first = records[0]!;
  // Lambda gives approximateArrivalTimestamp in seconds (with a fraction).
  const arrivedAt = new Date(first.kinesis.approximateArrivalTimestamp * 1000);
  if (Number.isNaN(arrivedAt.getTime())) throw new Error(`record ${first.kinesis.sequenceNumber} has no approximateArrivalTimestamp`);
  return {
    shardId: shardOf(first),
    firstSequenceNumber: first.kinesis.sequenceNumber,
    lastSequenceNumber: records[records.length - 1]!.kinesis.sequenceNumber,
    arrivedAt,
  };
};

export const toArchiveBatch = (records: readonly KinesisStreamRecord[]): ArchiveBatch => ({
  ...placementOf(records),
  events: records.map((r) => JSON.parse(Buffer.from(r.kinesis.data, "base64").toString("utf8")) as EventRecord),
});

export const makeHandler =
  (deps: Pick<FanoutDeps, "s3" | "names" | "store">) =>
  async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    if (event.Records.length === 0) return { batchItemFailures: [] };
    try {
      const { shardId, events } = toArchiveBatch(event.Records);
      await archiveOnce(deps.store, deps.s3, deps.names.archiveBucket, shardId, events, (first) => placementOf(event.Records.slice(first)));
      return { batchItemFailures: [] };
    } catch (error) {
      // All or nothing: a retry finds the index (and any pending marker) as this attempt left it.
      const first = event.Records[0]!.kinesis.sequenceNumber;
      logger.error("archiving failed; the whole batch is retried", { sequenceNumber: first, error: error as Error });
      return { batchItemFailures: [{ itemIdentifier: first }] };
    }
  };

export const handler = lazy(() => makeHandler(fanoutDepsFromEnv()));
