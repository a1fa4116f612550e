// What keeps fauxqs's S3 and SQS across restarts (it keeps everything in
// memory, by design): the archive is written through to disk before the
// archiver's PutObject returns, so an archived batch is never lost; the queues
// are written to disk after every send through the stack's SQS client (replay,
// redrive), every second and at a stop. What SNS delivers into a queue is only
// in the next second's write, and the publisher's checkpoints lag further
// behind, so a delivery a crash loses is published again (laggingCheckpoints).
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { MessageAttributeValue, SQSClient } from "@aws-sdk/client-sqs";
import { sendMessages } from "../core/sqs.js";
import type { FauxqsServer } from "fauxqs";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { aroundCalls } from "./middleware.js";

/** Writes `data` to `path` whole or not at all: a crash mid-write leaves the old file. */
const writeAtomically = (path: string, data: string | Uint8Array) => {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { flush: true });
  renameSync(temporary, path);
};

const filesUnder = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)) : [];

interface StoredObject {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly metadata?: Record<string, string>;
}

/** Copies every object PutObject writes through `s3` to `<dir>/<bucket>/<key>` (body, and a .meta.json beside it). */
export const writeObjectsThrough = (s3: S3Client, dir: string) =>
  aroundCalls(s3, "ordinalWriteThrough", {
    after: ({ name, input }) => {
      if (name !== "PutObjectCommand") return;
      const { Bucket, Key, Body, ContentType, ContentEncoding, Metadata } = input as PutObjectCommand["input"];
      if (!(Body instanceof Uint8Array)) throw new Error(`only in-memory bodies are kept on disk (${Key})`);
      const path = join(dir, Bucket!, Key!);
      const meta: StoredObject = { contentType: ContentType, contentEncoding: ContentEncoding, metadata: Metadata };
      writeAtomically(`${path}.meta.json`, JSON.stringify(meta));
      writeAtomically(path, Body);
    },
  });

/** Puts back into `bucket` every object kept under `<dir>/<bucket>`; answers how many. */
export const restoreObjects = async (s3: S3Client, dir: string, bucket: string): Promise<number> => {
  const root = join(dir, bucket);
  const bodies = filesUnder(root).filter((f) => !f.endsWith(".meta.json") && !f.endsWith(".tmp"));
  for (const path of bodies) {
    const meta = existsSync(`${path}.meta.json`) ? (JSON.parse(readFileSync(`${path}.meta.json`, "utf8")) as StoredObject) : {};
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: relative(root, path).split("\\").join("/"),
        Body: readFileSync(path),
        ContentType: meta.contentType,
        ContentEncoding: meta.contentEncoding,
        Metadata: meta.metadata,
      }),
    );
  }
  return bodies.length;
};

interface StoredMessage {
  readonly body: string;
  readonly attributes: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
  readonly groupId?: string;
  readonly deduplicationId?: string;
}

export interface QueueSnapshots {
  /** Writes the queues' messages now. */
  save(): void;
  /** Stops the timer and writes a last time. */
  stop(): void;
}

/**
 * Every `everyMs`, writes each queue's messages (ready, delayed and in flight:
 * a message not deleted is not yet delivered) to `file`.
 */
export const snapshotQueues = (server: FauxqsServer, file: string, queueNames: readonly string[], everyMs = 1000): QueueSnapshots => {
  const save = () => {
    const queues: Record<string, StoredMessage[]> = {};
    for (const name of queueNames) {
      const queue = server.inspectQueue(name);
      if (!queue) continue;
      const messages = [...queue.messages.inflight.map((m) => m.message), ...queue.messages.ready, ...queue.messages.delayed];
      // Send order, which is each FIFO group's order.
      messages.sort((a, b) => a.sentTimestamp - b.sentTimestamp || (a.sequenceNumber ?? "").localeCompare(b.sequenceNumber ?? ""));
      queues[name] = messages.map((m) => ({
        body: m.body,
        attributes: m.messageAttributes,
        groupId: m.messageGroupId,
        deduplicationId: m.messageDeduplicationId ?? (m.messageGroupId ? m.messageId : undefined),
      }));
    }
    writeAtomically(file, JSON.stringify({ savedAt: new Date().toISOString(), queues }));
  };
  const timer = setInterval(save, everyMs);
  timer.unref();
  return {
    save,
    stop: () => {
      clearInterval(timer);
      save();
    },
  };
};

/** fauxqs keeps a binary attribute as base64; the SDK sends bytes. */
const attributesOf = (m: StoredMessage): Record<string, MessageAttributeValue> =>
  Object.fromEntries(
    Object.entries(m.attributes).map(([name, { DataType, StringValue, BinaryValue }]) => [
      name,
      { DataType, StringValue, ...(BinaryValue === undefined ? {} : { BinaryValue: Buffer.from(BinaryValue, "base64") }) },
    ]),
  );

/**
 * Writes the queues to disk after each send through `sqs` succeeds, before the
 * sender hears of it: a replay page or a redrive acknowledged is on disk. Each
 * write holds every queue's messages, so it costs what the queues hold.
 */
export const saveAfterSends = (sqs: SQSClient, snapshots: QueueSnapshots) =>
  aroundCalls(sqs, "ordinalSaveAfterSends", {
    after: ({ name }) => {
      if (name === "SendMessageCommand" || name === "SendMessageBatchCommand") snapshots.save();
    },
  });

/** Sends back the messages `file` kept, to the queues of the same names; answers how many. */
export const restoreQueues = async (sqs: SQSClient, file: string, urlOf: (name: string) => string | undefined): Promise<number> => {
  if (!existsSync(file)) return 0;
  const { queues } = JSON.parse(readFileSync(file, "utf8")) as { queues: Record<string, StoredMessage[]> };
  let restored = 0;
  for (const [name, messages] of Object.entries(queues)) {
    const url = urlOf(name);
    if (!url) continue;
    await sendMessages(
      sqs,
      url,
      messages.map((m) => ({
        body: m.body,
        attributes: Object.keys(m.attributes).length > 0 ? attributesOf(m) : undefined,
        groupId: m.groupId,
        deduplicationId: m.deduplicationId,
      })),
    );
    restored += messages.length;
  }
  return restored;
};
