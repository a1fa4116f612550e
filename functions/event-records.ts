// Event records as the fan-out hands them on (Kinesis data, SQS bodies), with
// the records that are not one (poison) singled out.
import type { KinesisStreamEvent } from "aws-lambda";
import type { EventRecord } from "../core/records.js";
import type { ReplayMessage } from "../core/replay.js";

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** An event record from JSON, or undefined when the text is not one (a poison record). */
export const decodeEventRecord = (text: string): EventRecord | undefined => asEventRecord(parsed(text));

/**
 * A replay queue's message, or undefined when the text is not one. A bare
 * event record (sent before replays named their generation) is taken as one
 * for the generation that serves.
 */
export const decodeReplayMessage = (text: string): { replay?: ReplayMessage["replay"]; event: EventRecord } | undefined => {
  const value = parsed(text) as Partial<ReplayMessage> | undefined;
  if (typeof value === "object" && value !== null && "event" in value) {
    const event = asEventRecord(value.event);
    const replay = value.replay;
    const valid = typeof replay === "object" && replay !== null && typeof replay.id === "string" && Number.isInteger(replay.generation);
    return event && valid ? { replay, event } : undefined;
  }
  const event = asEventRecord(value);
  return event && { event };
};

const asEventRecord = (value: unknown): EventRecord | undefined => {
  const e = value as Partial<EventRecord> | null;
  return typeof e === "object" && e !== null &&
    typeof e.streamId === "string" && Number.isInteger(e.version) && (e.version as number) > 0 &&
    typeof e.type === "string" && typeof e.eventId === "string" &&
    typeof e.microservice === "string" && typeof e.aggregateId === "string" &&
    typeof e.occurredAt === "number" && typeof e.recordedAt === "number"
    ? (e as EventRecord)
    : undefined;
};

/**
 * A Kinesis batch decoded: every record's sequence number, the index of the
 * first that is not an event record (-1 when none), and the events before it,
 * which are all a consumer may act on, since the batch resumes at the poison.
 */
export const decodeKinesisBatch = (event: KinesisStreamEvent) => {
  const records = event.Records.map((r) => ({
    id: r.kinesis.sequenceNumber,
    event: decodeEventRecord(Buffer.from(r.kinesis.data, "base64").toString("utf8")),
  }));
  const poison = records.findIndex((r) => r.event === undefined);
  const usable = (poison === -1 ? records : records.slice(0, poison)) as { id: string; event: EventRecord }[];
  return { records, poison, usable };
};
