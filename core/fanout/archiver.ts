// The long-term archive: each Kinesis batch as one gzip JSON-lines object in S3,
// under a key derived from the batch itself, and the reader the replayer uses.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { gunzipSync, gzipSync } from "node:zlib";
import type { EventRecord } from "../records.js";
import type { Upcast } from "../upcast.js";

export interface ArchiveBatch {
  readonly shardId: string;
  readonly firstSequenceNumber: string;
  readonly lastSequenceNumber: string;
  /** When the batch's first record reached Kinesis. */
  readonly arrivedAt: Date;
  /** In the batch's order. */
  readonly events: readonly EventRecord[];
}

const PREFIX = "events/";

const pad = (n: number) => String(n).padStart(2, "0");

/** `events/YYYY/MM/DD/HH/` of a time, in UTC: the unit `from`/`to` select by. */
export const hourPrefix = (time: Date): string =>
  `${PREFIX}${time.getUTCFullYear()}/${pad(time.getUTCMonth() + 1)}/${pad(time.getUTCDate())}/${pad(time.getUTCHours())}/`;

/**
 * Only data goes into the key, so a retried batch (same shard, same first
 * record) overwrites its object instead of adding a second one. Within an
 * hour, keys sort by shard, then by sequence number (Kinesis gives them a
 * fixed width), which is each stream's order.
 */
export const archiveKey = (batch: Pick<ArchiveBatch, "shardId" | "firstSequenceNumber" | "arrivedAt">): string =>
  `${hourPrefix(batch.arrivedAt)}${batch.shardId}-${batch.firstSequenceNumber}.jsonl.gz`;

export const encodeArchive = (events: readonly EventRecord[]): Buffer =>
  gzipSync(events.map((e) => `${JSON.stringify(e)}\n`).join(""));

export const decodeArchive = (body: Uint8Array): EventRecord[] => {
  // Some HTTP clients undo `Content-Encoding: gzip` themselves; gunzip only what is still gzip.
  const text = (body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : Buffer.from(body)).toString("utf8");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as EventRecord);
};

/** Writes the batch's object and answers its key. */
export const archive = async (s3: S3Client, bucket: string, batch: ArchiveBatch): Promise<string> => {
  const key = archiveKey(batch);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: encodeArchive(batch.events),
      ContentType: "application/x-ndjson",
      ContentEncoding: "gzip",
      Metadata: {
        count: String(batch.events.length),
        "shard-id": batch.shardId,
        "first-sequence-number": batch.firstSequenceNumber,
        "last-sequence-number": batch.lastSequenceNumber,
      },
    }),
  );
  return key;
};

export interface ArchiveRange {
  /** Objects whose first record arrived in this hour or later. */
  readonly from?: Date;
  /** Objects whose first record arrived in this hour or earlier. */
  readonly to?: Date;
  /** A key already read: the page continues after it. */
  readonly startAfter?: string;
  /** At most this many keys per page; default 1,000. */
  readonly maxKeys?: number;
}

export interface ArchivePage {
  readonly keys: readonly string[];
  /** Pass as `startAfter` for the next page; undefined when the range is exhausted. */
  readonly next?: string;
}

/**
 * One page of archive keys in key order. The range works at the hour of each
 * object's first record: a batch can hold events that arrived a little later,
 * so a caller wanting exact bounds filters the events themselves.
 */
export const listArchive = async (s3: S3Client, bucket: string, range: ArchiveRange = {}): Promise<ArchivePage> => {
  const maxKeys = range.maxKeys ?? 1_000;
  const fromKey = range.from ? hourPrefix(range.from) : PREFIX;
  const startAfter = range.startAfter !== undefined && range.startAfter > fromKey ? range.startAfter : fromKey;
  const last = range.to ? hourPrefix(range.to) : undefined;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: PREFIX,
        ...(token ? { ContinuationToken: token } : { StartAfter: startAfter }),
        MaxKeys: maxKeys - keys.length,
      }),
    );
    for (const { Key } of page.Contents ?? []) {
      if (Key === undefined) continue;
      if (last !== undefined && Key.slice(0, last.length) > last) return { keys };
      keys.push(Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token && keys.length < maxKeys);
  // A truncated last page means more keys; otherwise the listing is complete.
  return { keys, next: token ? keys[keys.length - 1] : undefined };
};

/** An archive object's events, as stored or, given `upcast`, at their types' current versions. */
export const readArchiveObject = async (s3: S3Client, bucket: string, key: string, upcast?: Upcast): Promise<EventRecord[]> => {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!Body) throw new Error(`archive object ${key} has no body`);
  const events = decodeArchive(await Body.transformToByteArray());
  return upcast ? events.map(upcast) : events;
};
