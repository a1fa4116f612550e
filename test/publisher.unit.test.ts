// Per-entry retries of batched sends (PutRecords, PublishBatch), on plain data:
// only failed entries go again, a stream's events never overtake one another,
// attempts are bounded, and a failed batch resumes at the first unpublished event.
import { PutRecordsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import { describe, expect, it } from "vitest";
import { deliver, type DeliverOptions } from "../core/fanout/deliver.js";
import { publish, snsEntryId, toKinesis } from "../core/fanout/publisher.js";
import type { EventRecord } from "../core/records.js";
import { makeHandler } from "../functions/publisher.js";
import { eventRecord, eventStreamRecord } from "./support/event-records.js";

interface Item {
  readonly stream: string;
  readonly version: number;
}
const id = (i: Item) => `${i.stream}#${i.version}`;
const items = (spec: Record<string, number>): Item[] =>
  Object.entries(spec).flatMap(([stream, n]) => Array.from({ length: n }, (_, v) => ({ stream, version: v + 1 })));

/**
 * A send that fails `id` on the listed attempts of that entry (1 = its first
 * try; "always" = every try) and records every call it receives.
 */
const flakySend = (failures: Record<string, readonly number[] | "always"> = {}) => {
  const calls: string[][] = [];
  const tries = new Map<string, number>();
  const send = async (batch: readonly Item[]) => {
    calls.push(batch.map(id));
    return batch.map((item) => {
      const attempt = (tries.get(id(item)) ?? 0) + 1;
      tries.set(id(item), attempt);
      const rule = failures[id(item)];
      return rule === "always" || rule?.includes(attempt) ? "ProvisionedThroughputExceededException" : undefined;
    });
  };
  return { send, calls };
};

type Sent = { readonly id: string; readonly ok: boolean };

const noWait = { sleep: async () => {} };
const ordered = (over: Partial<DeliverOptions<Item>> & Pick<DeliverOptions<Item>, "send">): DeliverOptions<Item> => ({
  maxEntries: 500,
  maxAttempts: 5,
  orderKey: (i) => i.stream,
  ...noWait,
  ...over,
});

/** Every entry of a stream is sent only after all of that stream's earlier entries were accepted, in earlier calls. */
const expectNoOvertaking = (calls: readonly (readonly Sent[])[]) => {
  const acceptedBefore = new Set<string>();
  for (const call of calls) {
    for (const { id } of call) {
      const [stream, version] = id.split("#") as [string, string];
      for (let v = 1; v < Number(version); v++) expect(acceptedBefore, `${id} sent before ${stream}#${v} was accepted`).toContain(`${stream}#${v}`);
    }
    for (const { id, ok } of call) if (ok) acceptedBefore.add(id);
  }
};

describe("deliver: per-entry retries", () => {
  it("resends only the entries that failed", async () => {
    // Prepare
    const input = items({ a: 1, b: 1, c: 1, d: 1, e: 1 });
    const { send, calls } = flakySend({ "b#1": [1], "d#1": [1, 2] });

    // Act
    const result = await deliver(input, { send, maxEntries: 10, maxAttempts: 5, ...noWait });

    // Assess
    expect(calls).toEqual([["a#1", "b#1", "c#1", "d#1", "e#1"], ["b#1", "d#1"], ["d#1"]]);
    expect(result.delivered).toEqual([true, true, true, true, true]);
    expect(result.error).toBeUndefined();
  });

  it("keeps to the count and size limits of one call", async () => {
    // Prepare
    const input = items({ a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1 });
    const { send, calls } = flakySend();

    // Act
    await deliver(input, { send, maxEntries: 3, maxBytes: 25, sizeOf: () => 10, maxAttempts: 1, ...noWait });

    // Assess: 25 bytes hold two 10-byte entries, although three would be allowed by count
    expect(calls.map((c) => c.length)).toEqual([2, 2, 2, 1]);
  });

  it("sends at most one entry per stream per call, so a stream's events never overtake one another", async () => {
    // Prepare
    const input = items({ a: 3, b: 2 });
    const { send, calls } = flakySend({ "a#1": [1] });

    // Act
    const result = await deliver(input, ordered({ send }));

    // Assess: a#2 waits until a#1 is accepted, b proceeds meanwhile
    expect(calls).toEqual([
      ["a#1", "b#1"],
      ["a#1", "b#2"],
      ["a#2"],
      ["a#3"],
    ]);
    expect(result.delivered.every(Boolean)).toBe(true);
  });

  it("never lets an event overtake an earlier failed one of its stream, under random failures", async () => {
    for (let seed = 1; seed <= 50; seed++) {
      // Prepare: 8 streams of up to 6 events, interleaved, each try failing with probability 0.3
      let state = seed;
      const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const queues = Array.from({ length: 8 }, (_, s) => items({ [`s${s}`]: 1 + Math.floor(random() * 6) }));
      const input: Item[] = [];
      while (queues.some((q) => q.length > 0)) {
        const open = queues.filter((q) => q.length > 0);
        input.push(open[Math.floor(random() * open.length)]!.shift()!);
      }
      const calls: Sent[][] = [];
      const send = async (batch: readonly Item[]) => {
        const call = batch.map((item) => ({ id: id(item), ok: random() >= 0.3 }));
        calls.push(call);
        return call.map(({ ok }) => (ok ? undefined : "InternalFailure"));
      };

      // Act
      const result = await deliver(input, ordered({ send, maxEntries: 4, maxAttempts: 20 }));

      // Assess
      expectNoOvertaking(calls);
      expect(result.delivered.every(Boolean), `seed ${seed}`).toBe(true);
      const accepted = calls.flat().filter((s) => s.ok).map((s) => s.id);
      expect(accepted.sort(), `seed ${seed}: each event accepted exactly once`).toEqual(input.map(id).sort());
      expect(calls.flat().filter((s) => !s.ok).length, `seed ${seed}: some tries failed`).toBeGreaterThan(0);
    }
  });

  it("gives up after maxAttempts, holds back the rest of that stream, and delivers the other streams", async () => {
    // Prepare
    const input = items({ a: 3, b: 2 });
    const { send, calls } = flakySend({ "a#2": "always" });
    const waits: number[] = [];

    // Act
    const result = await deliver(input, ordered({ send, maxAttempts: 3, sleep: async (ms) => void waits.push(ms) }));

    // Assess
    expect(calls.flat().filter((e) => e === "a#2")).toHaveLength(3);
    expect(calls.flat()).not.toContain("a#3");
    expect(result.delivered).toEqual([true, false, false, true, true]);
    expect(result.reasons).toEqual(new Map([[1, "ProvisionedThroughputExceededException"]]));
    expect(waits).toEqual([50, 100]);
  });

  it("stops at a call that throws and reports what was delivered before it", async () => {
    // Prepare
    const input = items({ a: 2 });
    let call = 0;
    const send = async (batch: readonly Item[]) => {
      if (++call === 2) throw new Error("network down");
      return batch.map(() => undefined);
    };

    // Act
    const result = await deliver(input, ordered({ send }));

    // Assess
    expect(result.delivered).toEqual([true, false]);
    expect(String(result.error)).toContain("network down");
  });
});

describe("publish: Kinesis and SNS", () => {
  const event = (streamId: string, version: number, type = "ItemAdded") => eventRecord({ streamId, version, type });

  /** Clients whose `send` answers per entry, failing the event ids listed for each service. */
  const fakeClients = (failKinesis: ReadonlySet<string>, failSns: ReadonlySet<string>) => {
    const kinesisCalls: string[][] = [];
    const snsCalls: { ids: string[]; attributes: unknown[] }[] = [];
    const kinesis = {
      send: async (command: PutRecordsCommand) => {
        const records = command.input.Records!.map((r) => JSON.parse(Buffer.from(r.Data!).toString("utf8")) as EventRecord);
        kinesisCalls.push(records.map((r) => r.eventId));
        return { Records: records.map((r) => (failKinesis.has(r.eventId) ? { ErrorCode: "InternalFailure" } : { SequenceNumber: "1", ShardId: "s" })) };
      },
    } as unknown as KinesisClient;
    const sns = {
      send: async (command: PublishBatchCommand) => {
        const entries = command.input.PublishBatchRequestEntries!;
        const ids = entries.map((e) => (JSON.parse(e.Message!) as EventRecord).eventId);
        snsCalls.push({ ids, attributes: entries.map((e) => e.MessageAttributes) });
        return {
          Successful: entries.filter((_, i) => !failSns.has(ids[i]!)).map((e) => ({ Id: e.Id })),
          Failed: entries.filter((_, i) => failSns.has(ids[i]!)).map((e) => ({ Id: e.Id, Code: "InternalError", SenderFault: false })),
        };
      },
    } as unknown as SNSClient;
    return { kinesis, sns, kinesisCalls, snsCalls };
  };
  const deps = (clients: { kinesis: KinesisClient; sns: SNSClient }) => ({ ...clients, streamName: "all", topicArn: "arn:t", maxAttempts: 3, backoff: () => 0 });

  it("sends each event to both, with its microservice and type as SNS attributes", async () => {
    // Prepare
    const events = [event("cart:a", 1, "CartOpened"), event("cart:b", 1), event("cart:a", 2, "CartClosed")];
    const clients = fakeClients(new Set(), new Set());

    // Act
    const result = await publish(events, deps(clients));

    // Assess
    expect(result).toEqual({ errors: [] });
    expect(clients.kinesisCalls).toEqual([["cart:a#1", "cart:b#1"], ["cart:a#2"]]);
    expect(clients.snsCalls.map((c) => c.ids)).toEqual([["cart:a#1", "cart:b#1", "cart:a#2"]]);
    expect(clients.snsCalls[0]!.attributes[2]).toEqual({
      microservice: { DataType: "String", StringValue: "cart" },
      type: { DataType: "String", StringValue: "CartClosed" },
    });
  });

  it("reports the first event not on both services once the retries are spent", async () => {
    // Prepare: b#1 never reaches SNS, c#2 never reaches Kinesis
    const events = [event("cart:a", 1), event("cart:c", 1), event("cart:b", 1), event("cart:c", 2), event("cart:c", 3)];
    const clients = fakeClients(new Set(["cart:c#2"]), new Set(["cart:b#1"]));

    // Act
    const result = await publish(events, deps(clients));

    // Assess
    expect(result.failedAt).toBe(2);
    expect(result.errors.map(String)).toEqual([
      "Error: Kinesis: cart:c#2 still failing after all attempts (InternalFailure)",
      "Error: SNS: cart:b#1 still failing after all attempts (InternalError)",
    ]);
    expect(clients.kinesisCalls.flat()).not.toContain("cart:c#3");
  });

  it("the handler publishes inserts only and resumes the stream batch at the first unpublished event", async () => {
    // Prepare
    const clients = fakeClients(new Set(["cart:b#1"]), new Set());
    const handler = makeHandler({ ...clients, names: { allEventsStream: "all", eventsTopicArn: "arn:t", archiveBucket: "", queueUrls: {} as never } });

    // Act
    const response = await handler({
      Records: [
        eventStreamRecord(event("cart:a", 1), "100"),
        { eventName: "REMOVE", dynamodb: { SequenceNumber: "101" } },
        eventStreamRecord(event("cart:a", 1), "102", "MODIFY"),
        eventStreamRecord(event("cart:b", 1), "103"),
      ],
    });

    // Assess
    expect(clients.snsCalls.flatMap((c) => c.ids)).toEqual(["cart:a#1", "cart:b#1"]);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "103" }] });
  }, 20_000);

  it("derives SNS entry ids from event ids: allowed characters only, at most 80, unique in a call", () => {
    const long = `cart:${"x".repeat(100)}#7`;
    expect(snsEntryId("cart:c-1#12", 0)).toBe("0-cart_c-1_12");
    expect(snsEntryId(long, 3)).toMatch(/^[A-Za-z0-9_-]{80}$/);
    expect(snsEntryId("a:b#1", 0)).not.toBe(snsEntryId("a_b#1", 1));
  });
});

describe("the Kinesis partition key", () => {
  it("is the event's stream id, whatever the event's microservice, type or version", () => {
    // Prepare
    const events = [
      eventRecord({ streamId: "cart:c-1", version: 1 }),
      eventRecord({ streamId: "account:acc-1", version: 7, microservice: "account", type: "MoneyDeposited" }),
      eventRecord({ streamId: "cart:c-1", version: 2 }),
      eventRecord({ streamId: "inventory:main", version: 3, microservice: "inventory", type: "StockReserved" }),
    ];

    // Act
    const entries = toKinesis(events.map((event) => ({ event, body: JSON.stringify(event), bytes: 0 })));

    // Assess
    expect(entries.map((e) => e.PartitionKey)).toEqual(["cart:c-1", "account:acc-1", "cart:c-1", "inventory:main"]);
    expect(entries.map((e) => JSON.parse(Buffer.from(e.Data!).toString("utf8")).eventId)).toEqual(events.map((e) => e.eventId));
  });
});
