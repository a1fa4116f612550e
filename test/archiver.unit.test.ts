// The archive's format on plain data: keys derived from the batch only, and gzip JSON lines that round-trip.
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { archiveKey, decodeArchive, encodeArchive } from "../core/fanout/archiver.js";
import type { EventRecord } from "../core/records.js";
import { toArchiveBatch } from "../functions/archiver.js";
import { eventRecord, kinesisRecord } from "./support/event-records.js";

const event = (streamId: string, version: number) => eventRecord({ streamId, version, data: { sku: "é-ß", quantity: version } });

const record = (e: EventRecord, sequenceNumber: string, arrivedSeconds: number) =>
  kinesisRecord(JSON.stringify(e), { shardId: "shardId-000000000001", sequenceNumber, arrivedAt: new Date(arrivedSeconds * 1000), partitionKey: e.streamId });

describe("archive format", () => {
  it("keys a batch by the UTC hour of its first record, its shard and its first sequence number", () => {
    // Prepare: 2026-11-23T23:59:59.5Z, then a record in the next hour
    const records = [record(event("cart:a", 1), "4960001", 1_795_478_399.5), record(event("cart:a", 2), "4960002", 1_795_478_400.2)];

    // Act
    const batch = toArchiveBatch(records);

    // Assess
    expect(archiveKey(batch)).toBe("events/2026/11/23/23/shardId-000000000001-4960001.jsonl.gz");
    expect(batch).toMatchObject({ shardId: "shardId-000000000001", firstSequenceNumber: "4960001", lastSequenceNumber: "4960002" });
    expect(batch.events).toEqual([event("cart:a", 1), event("cart:a", 2)]);
    expect(archiveKey(toArchiveBatch(records))).toBe(archiveKey(batch));
  });

  it("falls back to a fixed shard name when the eventID carries none", () => {
    const bare = { ...record(event("cart:a", 1), "4960001", 1_795_478_399), eventID: "4960001" };
    expect(archiveKey(toArchiveBatch([bare]))).toBe("events/2026/11/23/23/shardId-unknown-4960001.jsonl.gz");
  });

  it("round-trips events through gzip JSON lines, in order, and reads bodies a client already gunzipped", () => {
    const events = [event("cart:b", 1), event("cart:a", 1), event("cart:b", 2)];
    const body = encodeArchive(events);
    expect([body[0], body[1]]).toEqual([0x1f, 0x8b]);
    expect(decodeArchive(body)).toEqual(events);
    expect(decodeArchive(gzipSync(Buffer.alloc(0)))).toEqual([]);
    expect(decodeArchive(Buffer.from(events.map((e) => JSON.stringify(e)).join("\n")))).toEqual(events);
  });
});
