// The fan-out against real emulators: kinesis-mock for the "all events" stream,
// fauxqs for SNS, SQS and S3. Per-record failures, which neither emulator
// produces, are injected through wrapped clients around the real ones.
import { KinesisClient, PutRecordsCommand, type _Record, type PutRecordsResultEntry } from "@aws-sdk/client-kinesis";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { PublishBatchCommand, SNSClient } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documentClient, prefixedTableNames, type Store } from "../core/dynamo.js";
import { archiveKey, listArchive, readArchiveObject } from "../core/fanout/archiver.js";
import type { EventRecord } from "../core/records.js";
import { buckets, kinesisStreams, topics } from "../core/topology.js";
import { topology } from "./support/app.js";
import type { FanoutNames } from "../functions/deps.js";
import { makeHandler as makeArchiver, toArchiveBatch } from "../functions/archiver.js";
import { makeHandler as makePublisher } from "../functions/publisher.js";
import { fauxqsClientConfig, s3ClientConfig, startFauxqs, type LocalFauxqs } from "../local/fauxqs.js";
import { ensureKinesisStream, kinesisClientConfig, startKinesis, type LocalKinesis } from "../local/kinesis.js";
import { localAwsConfig, startDynamo, type LocalDynamo } from "../local/dynamodb.js";
import { createTables } from "../local/tables.js";
import { interceptedStore } from "./support/intercepted-store.js";
import { cartEvents, eventRecord, eventsTableStreamEvent, fromGetRecords, interleave, kinesisRecord } from "./support/event-records.js";
import { decode, readStream as readAll } from "./support/kinesis.js";

let kinesisMock: LocalKinesis;
let fauxqs: LocalFauxqs;
let dynamo: LocalDynamo;
/** The archive index and the log it fills gaps from. */
let store: Store;
let kinesis: KinesisClient;
let sns: SNSClient;
let sqs: SQSClient;
let s3: S3Client;
let names: FanoutNames;
/** A topic nobody subscribes to, for tests that look at Kinesis only. */
let unwatchedTopicArn: string;
let subscriberQueueUrl: string;

const subscriber = topology.queues["cart-closed-subscriber"]!;

beforeAll(async () => {
  [kinesisMock, fauxqs, dynamo] = await Promise.all([startKinesis(), startFauxqs(), startDynamo()]);
  const dynamoClient = new DynamoDBClient(localAwsConfig(dynamo.endpoint));
  store = { db: documentClient(dynamoClient), tables: prefixedTableNames("fanout-int-") };
  await createTables(dynamoClient, store.tables);
  kinesis = new KinesisClient(kinesisClientConfig(kinesisMock.endpoint));
  sns = new SNSClient(fauxqsClientConfig(fauxqs.endpoint));
  sqs = new SQSClient(fauxqsClientConfig(fauxqs.endpoint));
  s3 = new S3Client(s3ClientConfig(fauxqs.endpoint));
  await ensureKinesisStream(kinesis, kinesisStreams.allEvents.name, kinesisStreams.allEvents.shards);

  const { server } = fauxqs;
  const { topicArn } = server.createTopic(topics.events.name);
  unwatchedTopicArn = server.createTopic("unwatched").topicArn;
  subscriberQueueUrl = server.createQueue(subscriber.name).queueUrl;
  server.subscribe({
    topic: topics.events.name,
    queue: subscriber.name,
    attributes: { FilterPolicy: JSON.stringify(subscriber.subscription!.filterPolicy) },
  });
  const { bucketName } = server.createBucket(buckets.archive.name);
  names = { allEventsStream: kinesisStreams.allEvents.name, archiveBucket: bucketName, eventsTopicArn: topicArn, queueUrls: {} as FanoutNames["queueUrls"] };
});

afterAll(async () => {
  for (const client of [kinesis, sns, sqs, s3, store?.db]) client?.destroy();
  await Promise.all([kinesisMock?.stop(), fauxqs?.stop(), dynamo?.stop()]);
});

/** Every record of every shard of a stream, from the start. */
const readStream = (streamName: string) => readAll(kinesis, streamName);

/** Per stream id, the versions in the order Kinesis holds them, for the given streams only. */
const versionsInKinesis = async (streamIds: ReadonlySet<string>): Promise<Map<string, number[]>> => {
  const versions = new Map<string, number[]>();
  for (const { records } of await readStream(names.allEventsStream))
    for (const event of records.map(decode))
      if (streamIds.has(event.streamId)) versions.set(event.streamId, [...(versions.get(event.streamId) ?? []), event.version]);
  return versions;
};

const versionsOf = (events: readonly EventRecord[]) => {
  const versions = new Map<string, number[]>();
  for (const e of events) versions.set(e.streamId, [...(versions.get(e.streamId) ?? []), e.version]);
  return versions;
};

/** Drains a queue: every SNS message it holds, unwrapped from the SNS envelope. */
const drainSubscriber = async (): Promise<{ event: EventRecord; attributes: Record<string, { Value: string }> }[]> => {
  const received: { event: EventRecord; attributes: Record<string, { Value: string }> }[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: subscriberQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    if (Messages.length === 0) return received;
    for (const m of Messages) {
      const envelope = JSON.parse(m.Body!) as { Message: string; MessageAttributes: Record<string, { Value: string }> };
      received.push({ event: JSON.parse(envelope.Message) as EventRecord, attributes: envelope.MessageAttributes });
    }
  }
};

/** A Kinesis client that fails the records `fails(eventId, attempt)` picks, and sends the rest to the real stream. */
const kinesisFailing = (fails: (eventId: string, attempt: number) => boolean) => {
  const tries = new Map<string, number>();
  const send = async (command: PutRecordsCommand) => {
    const records = command.input.Records!;
    const failed = records.map((r) => {
      const { eventId } = JSON.parse(Buffer.from(r.Data!).toString("utf8")) as EventRecord;
      const attempt = (tries.get(eventId) ?? 0) + 1;
      tries.set(eventId, attempt);
      return fails(eventId, attempt);
    });
    const passed = records.filter((_, i) => !failed[i]);
    const answer = passed.length ? await kinesis.send(new PutRecordsCommand({ ...command.input, Records: passed })) : { Records: [] };
    const results = [...(answer.Records ?? [])];
    const merged: PutRecordsResultEntry[] = failed.map((f) =>
      f ? { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "injected" } : results.shift()!,
    );
    return { FailedRecordCount: merged.filter((r) => r.ErrorCode).length, Records: merged };
  };
  return { send } as unknown as KinesisClient;
};

describe("publisher", () => {
  // 12 carts of 1 to 6 events, every third one closed, mixed as one stream batch would mix them.
  const carts = Array.from({ length: 12 }, (_, i) => cartEvents(`pub-${i}`, i % 5, i % 3 === 0));
  // Another microservice's event of the same type: the subscription must filter on both attributes.
  const lookalike = eventRecord({ streamId: "wishlist:w-1", version: 1, type: "CartClosed" });
  const batch = [...interleave(carts), lookalike];

  beforeAll(async () => {
    const response = await makePublisher({ kinesis, sns, names })(eventsTableStreamEvent(batch));
    expect(response.batchItemFailures).toEqual([]);
  });

  it("puts every event on Kinesis exactly once, in version order per stream, each stream on one shard", async () => {
    // Act
    const shards = await readStream(names.allEventsStream);

    // Assess
    const streamIds = new Set(batch.map((e) => e.streamId));
    expect(await versionsInKinesis(streamIds)).toEqual(versionsOf(batch));
    for (const streamId of streamIds) expect(shards.filter((s) => s.records.some((r) => r.PartitionKey === streamId))).toHaveLength(1);
    expect(shards).toHaveLength(kinesisStreams.allEvents.shards);
    expect(shards.every((s) => s.records.length > 0), "both shards are used").toBe(true);
  });

  it("delivers exactly the cart service's CartClosed events to the filtered SNS subscriber, with their attributes", async () => {
    // Act
    const received = await drainSubscriber();

    // Assess
    const expected = batch.filter((e) => e.microservice === "cart" && e.type === "CartClosed");
    expect(expected).toHaveLength(4);
    expect(received.map((r) => r.event).sort((a, b) => a.eventId.localeCompare(b.eventId))).toEqual(
      [...expected].sort((a, b) => a.eventId.localeCompare(b.eventId)),
    );
    expect(received[0]!.attributes.microservice!.Value).toBe("cart");
    expect(received[0]!.attributes.type!.Value).toBe("CartClosed");
  });
});

describe("publisher under per-record failures", () => {
  it("resends only failed records and never lets a stream's later event overtake a failed one", async () => {
    // Prepare: an early event of two carts fails its first tries while the same carts' later events would go through
    const carts = [cartEvents("retry-0", 3, true), cartEvents("retry-1", 3, true), cartEvents("retry-2", 2, false)];
    const batch = interleave(carts);
    const failing: Record<string, number> = { "cart:retry-0#1": 2, "cart:retry-2#2": 1 };
    const flaky = kinesisFailing((id, attempt) => attempt <= (failing[id] ?? 0));

    // Act
    const response = await makePublisher({ kinesis: flaky, sns, names: { ...names, eventsTopicArn: unwatchedTopicArn } })(eventsTableStreamEvent(batch));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await versionsInKinesis(new Set(batch.map((e) => e.streamId)))).toEqual(versionsOf(batch));
  });

  it("once retries are spent, resumes at the first unpublished event, holds back the rest of its stream, and a redelivery completes it", async () => {
    // Prepare: held-2's second event never gets through while the first delivery lasts
    const carts = [cartEvents("held-1", 2, false), cartEvents("held-2", 2, true), cartEvents("held-3", 2, false)];
    const batch = interleave(carts);
    const streamEvent = eventsTableStreamEvent(batch, 500);
    const blocked = "cart:held-2#2";
    const publisherDeps = { sns, names: { ...names, eventsTopicArn: unwatchedTopicArn } };

    // Act
    const first = await makePublisher({ ...publisherDeps, kinesis: kinesisFailing((id) => id === blocked) })(streamEvent);
    const resumeAt = streamEvent.Records.findIndex((r) => r.dynamodb!.SequenceNumber === first.batchItemFailures[0]?.itemIdentifier);
    const afterFirst = await versionsInKinesis(new Set(batch.map((e) => e.streamId)));
    const second = await makePublisher({ ...publisherDeps, kinesis })({ Records: streamEvent.Records.slice(resumeAt) });

    // Assess
    expect(batch[resumeAt]!.eventId).toBe(blocked);
    expect(afterFirst.get("cart:held-2")).toEqual([1]);
    expect(second.batchItemFailures).toEqual([]);
    const final = await versionsInKinesis(new Set(batch.map((e) => e.streamId)));
    expect(final.get("cart:held-2")).toEqual([1, 2, 3, 4]);
    // At least once: events after the resume point that had gone through go again; in first-seen order each stream is still 1..n.
    for (const [streamId, versions] of versionsOf(batch)) expect([...new Set(final.get(streamId))], streamId).toEqual(versions);
    expect(final.get("cart:held-3")!.length).toBeGreaterThan(3);
  });
});

/** A Kinesis record carrying `event`, at sequence number `seq` of `shardId`. */
const recordOf = (event: EventRecord, seq: number, shardId = "shardId-000000000000") =>
  kinesisRecord(JSON.stringify(event), { shardId, sequenceNumber: String(seq).padStart(20, "0"), arrivedAt: new Date(), partitionKey: event.streamId });

/** Writes events to the events table, where the archiver fills gaps from. */
const intoTheLog = async (events: readonly EventRecord[]) => {
  for (const event of events) await store.db.send(new PutCommand({ TableName: store.tables.events, Item: event }));
};

describe("archiver", () => {
  const sourceStream = "archiver-source";
  let shards: { shardId: string; records: _Record[] }[];

  const objectCount = async (bucket: string) => (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount ?? 0;

  beforeAll(async () => {
    await ensureKinesisStream(kinesis, sourceStream, 2);
    const batch = interleave(Array.from({ length: 6 }, (_, i) => cartEvents(`arc-${i}`, 4, true)));
    const published = await makePublisher({ kinesis, sns, names: { ...names, allEventsStream: sourceStream, eventsTopicArn: unwatchedTopicArn } })(
      eventsTableStreamEvent(batch),
    );
    expect(published.batchItemFailures).toEqual([]);
    shards = await readStream(sourceStream);
  });

  it("writes one object per batch under a key derived from the batch, and a redelivered batch rewrites the same key", async () => {
    // Prepare: each shard's records in batches of 5, as the event source mapping would hand them over
    expect(shards.flatMap((s) => s.records), "6 carts of 6 events on the source stream").toHaveLength(36);
    const archiver = makeArchiver({ s3, names, store });
    const batches = shards.flatMap(({ shardId, records }) =>
      Array.from({ length: Math.ceil(records.length / 5) }, (_, i) => fromGetRecords(shardId, records.slice(i * 5, i * 5 + 5))),
    );

    // Act
    for (const records of batches) expect(await archiver({ Records: records })).toEqual({ batchItemFailures: [] });
    const keys = (await listArchive(s3, names.archiveBucket)).keys;
    const redelivered = await archiver({ Records: batches[1]! });

    // Assess
    expect(redelivered).toEqual({ batchItemFailures: [] });
    expect(await objectCount(names.archiveBucket)).toBe(batches.length);
    expect((await listArchive(s3, names.archiveBucket)).keys).toEqual(keys);
    for (const records of batches) {
      const key = archiveKey(toArchiveBatch(records));
      expect(key).toMatch(/^events\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/shardId-\d{12}-\d+\.jsonl\.gz$/);
      expect(await readArchiveObject(s3, names.archiveBucket, key)).toEqual(toArchiveBatch(records).events);
    }
    // Every event is archived exactly once, and each stream's events read back in order.
    const archived = (await Promise.all(keys.map((k) => readArchiveObject(s3, names.archiveBucket, k)))).flat();
    expect(archived.map((e) => e.eventId).sort()).toEqual(shards.flatMap((s) => s.records.map((r) => decode(r).eventId)).sort());
    const perStream = versionsOf(archived);
    for (const versions of perStream.values()) expect(versions).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("archives an event once though Kinesis carries it twice, and fills a version that never came from the log", async () => {
    // Prepare: a stream whose versions 1-2 are archived; then a re-publish of 2,
    // 3 and 5 (4 lost on the way), as after a crash of the local stack.
    const bucket = "archive-once";
    fauxqs.server.createBucket(bucket);
    const archiver = makeArchiver({ s3, store, names: { ...names, archiveBucket: bucket } });
    const log = [1, 2, 3, 4, 5].map((version) => eventRecord({ streamId: "cart:once", version }));
    await intoTheLog(log);
    expect(await archiver({ Records: [recordOf(log[0]!, 1), recordOf(log[1]!, 2)] })).toEqual({ batchItemFailures: [] });

    // Act
    const again = await archiver({ Records: [recordOf(log[1]!, 3), recordOf(log[2]!, 4), recordOf(log[4]!, 5)] });
    const repeated = await archiver({ Records: [recordOf(log[4]!, 6)] });

    // Assess
    expect([again, repeated]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    const { keys } = await listArchive(s3, bucket);
    const archived = (await Promise.all(keys.map((k) => readArchiveObject(s3, bucket, k)))).flat();
    expect(keys).toHaveLength(2);
    expect(archived.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
  });

  it("finishes a batch that died between its object and the index, so the same events on other records are not archived again", async () => {
    // Prepare: the first delivery writes its object, then fails to move the index (as a crash would stop it).
    const bucket = "archive-pending";
    fauxqs.server.createBucket(bucket);
    const log = [1, 2, 3].map((version) => eventRecord({ streamId: "cart:pending", version }));
    await intoTheLog(log);
    const dying = interceptedStore(dynamo.endpoint, store.tables, (sent) => {
      if (sent.name === "UpdateItemCommand") throw new Error("the process died here");
    });
    const first = await makeArchiver({ s3, store: dying.store, names: { ...names, archiveBucket: bucket } })({
      Records: log.slice(0, 2).map((e, i) => recordOf(e, i + 1, "shardId-000000000001")),
    });
    dying.destroy();

    // Act: the same events again, on new records (a re-publish), and the next one.
    const after = await makeArchiver({ s3, store, names: { ...names, archiveBucket: bucket } })({ Records: log.map((e, i) => recordOf(e, 10 + i, "shardId-000000000001")) });

    // Assess
    expect(first.batchItemFailures).toHaveLength(1);
    expect(after).toEqual({ batchItemFailures: [] });
    const { keys } = await listArchive(s3, bucket);
    const archived = (await Promise.all(keys.map((k) => readArchiveObject(s3, bucket, k)))).flat();
    expect(archived.map((e) => e.version).sort()).toEqual([1, 2, 3]);
  });

  it("fails the whole batch at its first record when the object cannot be written", async () => {
    // Prepare
    const archiver = makeArchiver({ s3, store, names: { ...names, archiveBucket: "no-such-bucket" } });
    const log = [1, 2, 3].map((version) => eventRecord({ streamId: "cart:unwritable", version }));
    await intoTheLog(log);
    const records = log.map((event, i) => recordOf(event, i + 1));

    // Act
    const response = await archiver({ Records: records });

    // Assess: failed whole, and the retry archives all three, once.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.kinesis.sequenceNumber }] });
    expect(await makeArchiver({ s3, store, names })({ Records: records })).toEqual({ batchItemFailures: [] });
    expect((await readArchiveObject(s3, names.archiveBucket, archiveKey(toArchiveBatch(records)))).map((e) => e.version)).toEqual([1, 2, 3]);
  });
});

describe("listArchive", () => {
  const bucket = "archive-listing";
  const at = (iso: string) => new Date(iso);
  // Batches of two shards over four hours; sequence numbers of one width, as Kinesis gives them.
  const written = [
    { shardId: "shardId-000000000000", seq: "49000000000000000100", arrivedAt: at("2026-01-01T10:05:00Z") },
    { shardId: "shardId-000000000001", seq: "49000000000000000150", arrivedAt: at("2026-01-01T10:40:00Z") },
    { shardId: "shardId-000000000000", seq: "49000000000000000200", arrivedAt: at("2026-01-01T11:05:00Z") },
    { shardId: "shardId-000000000001", seq: "49000000000000000300", arrivedAt: at("2026-01-01T12:10:00Z") },
    { shardId: "shardId-000000000000", seq: "49000000000000000310", arrivedAt: at("2026-01-01T12:20:00Z") },
    { shardId: "shardId-000000000000", seq: "49000000000000000400", arrivedAt: at("2026-01-01T13:59:59Z") },
  ];
  const keysIn = (...hours: number[]) =>
    written
      .filter((w) => hours.includes(w.arrivedAt.getUTCHours()))
      .map((w) => archiveKey({ shardId: w.shardId, firstSequenceNumber: w.seq, arrivedAt: w.arrivedAt }))
      .sort();

  beforeAll(async () => {
    fauxqs.server.createBucket(bucket);
    const archiver = makeArchiver({ s3, store, names: { ...names, archiveBucket: bucket } });
    // Written out of order, so the listing's order is the keys' and not the writes'.
    for (const w of [...written].reverse()) {
      const event = eventRecord({ streamId: `cart:list-${w.seq}`, version: 1 });
      const record = kinesisRecord(JSON.stringify(event), { shardId: w.shardId, sequenceNumber: w.seq, arrivedAt: w.arrivedAt, partitionKey: event.streamId });
      expect(await archiver({ Records: [record] })).toEqual({ batchItemFailures: [] });
    }
  });

  it("lists every object in key order: by hour, then shard, then sequence number", async () => {
    const { keys, next } = await listArchive(s3, bucket);
    expect(keys).toEqual(keysIn(10, 11, 12, 13));
    expect(keys[3]).toContain("/12/shardId-000000000000-");
    expect(next).toBeUndefined();
  });

  it("selects by the hour of each object's first record with from and to", async () => {
    expect((await listArchive(s3, bucket, { from: at("2026-01-01T11:30:00Z") })).keys).toEqual(keysIn(11, 12, 13));
    expect((await listArchive(s3, bucket, { to: at("2026-01-01T12:00:00Z") })).keys).toEqual(keysIn(10, 11, 12));
    expect((await listArchive(s3, bucket, { from: at("2026-01-01T11:00:00Z"), to: at("2026-01-01T12:59:59Z") })).keys).toEqual(keysIn(11, 12));
    expect((await listArchive(s3, bucket, { from: at("2026-01-02T00:00:00Z") })).keys).toEqual([]);
  });

  it("pages with maxKeys and next, and continues after startAfter", async () => {
    // Act
    const pages: (readonly string[])[] = [];
    let startAfter: string | undefined;
    do {
      const page = await listArchive(s3, bucket, { maxKeys: 4, startAfter, to: at("2026-01-01T12:00:00Z") });
      pages.push(page.keys);
      startAfter = page.next;
    } while (startAfter);

    // Assess
    expect(pages).toEqual([keysIn(10, 11, 12).slice(0, 4), keysIn(10, 11, 12).slice(4)]);
    const all = keysIn(10, 11, 12, 13);
    expect((await listArchive(s3, bucket, { startAfter: all[2] })).keys).toEqual(all.slice(3));
  });
});
