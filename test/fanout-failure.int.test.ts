// A Kinesis consumer failing for one record, in process: cart-summary is wrapped
// to fail one chosen event while it handles the rest of the batch, the way a
// projection would on an item it cannot write. The batch's other records must
// proceed, the failing record must be parked after the retries, and
// POST /admin/redrive must bring it back.
import { ListShardsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from "aws-lambda";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventRecord } from "../core/records.js";
import { startStack, type LocalStack } from "../local/stack.js";
import { apiAt, cartCommand, type Api, type Json } from "./support/api.js";
import { decode, readShard } from "./support/kinesis.js";
import { stopLocalStack } from "./support/local-stack.js";
import { gate, until } from "./support/wait.js";
import { referenceApp } from "./support/app.js";

type KinesisHandler = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;

const USER = "u-fail";
const eventOf = (record: KinesisStreamRecord) => JSON.parse(Buffer.from(record.kinesis.data, "base64").toString("utf8")) as EventRecord;
const idsOf = (records: readonly KinesisStreamRecord[]) => records.map((r) => eventOf(r).eventId);
/** The shard Kinesis puts a partition key on: the one whose hash key range holds the key's MD5. */
const shardOf = (shards: readonly { id: string; start: bigint; end: bigint }[], partitionKey: string) => {
  const hash = BigInt(`0x${createHash("md5").update(partitionKey).digest("hex")}`);
  return shards.find((s) => hash >= s.start && hash <= s.end)!.id;
};

/** Event ids of one shard, in the shard's order, from the start. */
const eventIdsInShard = async (kinesis: KinesisClient, stream: string, shardId: string): Promise<string[]> =>
  (await readShard(kinesis, stream, shardId)).map((r) => decode(r).eventId);

describe("a Kinesis consumer that fails one record", () => {
  const held = gate();
  /** Every batch the wrapped cart-summary consumer was handed, in order. */
  const batches: KinesisStreamRecord[][] = [];
  let failing = true;
  let stack: LocalStack;
  let api: Api;
  let shardId: string;
  // Carts on one shard, so their events can share a batch with the poisoned one.
  let hold: string;
  let poison: string;
  let calm: string[];
  let poisonEventId: string;

  const holdsAt = (records: readonly KinesisStreamRecord[]) => records.some((r) => eventOf(r).eventId === `cart:${hold}#2`);

  // Holds the batch with the hold cart's second event until the gate opens,
  // and while `failing`, handles every record but the poisoned one and
  // reports the poisoned one (or an earlier real failure) as the first failure.
  const wrap = (handler: KinesisHandler): KinesisHandler => async (event) => {
    batches.push(event.Records);
    if (holdsAt(event.Records)) await held.passed();
    const poisoned = failing ? event.Records.find((r) => eventOf(r).eventId === poisonEventId) : undefined;
    if (!poisoned) return handler(event);
    const response = await handler({ Records: event.Records.filter((r) => r !== poisoned) });
    const failed = new Set([poisoned.kinesis.sequenceNumber, ...response.batchItemFailures.map((f) => f.itemIdentifier)]);
    const first = event.Records.find((r) => failed.has(r.kinesis.sequenceNumber))!;
    return { batchItemFailures: [{ itemIdentifier: first.kinesis.sequenceNumber }] };
  };

  const summaries = async (): Promise<Json[]> => {
    const answer = await api.get(`/users/${USER}/carts`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.carts;
  };
  const summaryOf = async (cartId: string) => (await summaries()).find((c) => c.cartId === cartId);

  const send = async (command: string, cartId: string, id: string, payload?: Record<string, unknown>) => {
    const answer = await api.send(cartCommand(command, cartId, id, payload, { user: USER }), 10);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.status).toBe("accepted");
  };

  beforeAll(async () => {
    stack = await startStack({
    app: referenceApp,
      port: 0,
      retryAttempts: 1,
      wrapKinesisHandler: (name, handler) => (name === "cart-summary" ? wrap(handler) : handler),
    });
    api = apiAt(stack.url);
    const { Shards = [] } = await stack.deps.kinesis.send(new ListShardsCommand({ StreamName: stack.deps.names.allEventsStream }));
    const ranges = Shards.map((s) => ({ id: s.ShardId!, start: BigInt(s.HashKeyRange!.StartingHashKey!), end: BigInt(s.HashKeyRange!.EndingHashKey!) }));
    shardId = ranges[0]!.id;
    const onShard = Array.from({ length: 64 }, (_, i) => `f-${i}`).filter((cart) => shardOf(ranges, `cart:${cart}`) === shardId);
    [hold, poison, ...calm] = onShard.slice(0, 6) as [string, string, ...string[]];
    poisonEventId = `cart:${poison}#2`;
    await send("OpenCart", hold, "hold-open");
    await until("the hold cart in cart-summary", async () => (await summaryOf(hold)) ?? undefined);
  });

  afterAll(async () => {
    held.open();
    if (stack) await stopLocalStack(stack);
  });

  it("applies the rest of the batch and parks the failing record after the retries", async () => {
    // Prepare: hold cart-summary on one batch, so every event sent meanwhile comes in the next one.
    held.close();
    await send("AddItem", hold, "hold-add", { sku: "SKU-H", quantity: 1, unitPrice: 100 });
    await until("the held batch", async () => (batches.some(holdsAt) ? true : undefined));
    const [before1, before2, after1, after2] = calm as [string, string, string, string];
    for (const [i, cart] of [before1, before2, poison, after1, after2].entries()) {
      await send("OpenCart", cart, `${cart}-open`);
      await send("AddItem", cart, `${cart}-add`, { sku: `SKU-${i}`, quantity: i + 1, unitPrice: 250 });
    }
    const sent = [before1, before2, poison, after1, after2].flatMap((cart) => [`cart:${cart}#1`, `cart:${cart}#2`]);
    const stream = stack.deps.names.allEventsStream;
    const inShard = await until("the events on the shard", async () => {
      const ids = await eventIdsInShard(stack.deps.kinesis, stream, shardId);
      return sent.every((id) => ids.includes(id)) ? ids : undefined;
    });
    const firstDeliveries = batches.length;

    // Act
    held.open();
    const parked = await until("the parked batch", async () => {
      const found = (await stack.kinesisFailures["cart-summary"]!.list()).filter((b) => idsOf(b.records).includes(poisonEventId));
      return found.length > 0 ? found : undefined;
    });

    // Assess
    // Everything sent while the consumer was held came in one batch, the poisoned record amid the others.
    const withPoison = batches.slice(firstDeliveries).find((b) => idsOf(b).includes(poisonEventId))!;
    expect(idsOf(withPoison)).toEqual(inShard.filter((id) => sent.includes(id)));
    // As on Lambda: retried from the failed record, parked from it on after 1 + retryAttempts tries.
    const fromPoison = idsOf(withPoison).slice(idsOf(withPoison).indexOf(poisonEventId));
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ consumer: "cart-summary", shardId, attempts: 2, error: expect.stringContaining(withPoison.find((r) => eventOf(r).eventId === poisonEventId)!.kinesis.sequenceNumber) });
    expect(idsOf(parked[0]!.records)).toEqual(fromPoison);
    // The other carts of the batch, before and after the poisoned record, are in the read model; the poisoned item is not.
    expect(await summaries()).toEqual([
      { cartId: before1, status: "open", itemCount: 1, total: 250 },
      { cartId: before2, status: "open", itemCount: 2, total: 500 },
      { cartId: poison, status: "open", itemCount: 0, total: 0 },
      { cartId: after1, status: "open", itemCount: 4, total: 1000 },
      { cartId: after2, status: "open", itemCount: 5, total: 1250 },
      { cartId: hold, status: "open", itemCount: 1, total: 100 },
    ].sort((a, b) => (a.cartId < b.cartId ? -1 : 1)));
  });

  it("moves past the parked record: a later event is applied", async () => {
    // Act
    await send("AddItem", calm[0]!, "later-add", { sku: "SKU-L", quantity: 1, unitPrice: 10 });

    // Assess
    expect(await until("the later event", async () => {
      const summary = await summaryOf(calm[0]!);
      return summary?.itemCount === 2 ? summary : undefined;
    })).toEqual({ cartId: calm[0], status: "open", itemCount: 2, total: 260 });
    expect(await summaryOf(poison)).toEqual({ cartId: poison, status: "open", itemCount: 0, total: 0 });
  });

  it("POST /admin/redrive hands the parked batch back to the consumer, which now applies it", async () => {
    // Prepare: the failure is over.
    failing = false;

    // Act
    const redriven = await api.post("/admin/redrive", { queue: "cart-summary-failures" });

    // Assess
    expect(redriven.status, JSON.stringify(redriven.body)).toBe(200);
    expect(redriven.body).toMatchObject({ queue: "cart-summary-failures", to: "cart-summary", moved: 1, parked: 0, done: true });
    expect(await summaryOf(poison)).toEqual({ cartId: poison, status: "open", itemCount: 3, total: 750 });
    expect(await stack.kinesisFailures["cart-summary"]!.list()).toEqual([]);
    // The records redriven with it were applied already and are skipped.
    expect(await summaryOf(calm[2]!)).toEqual({ cartId: calm[2], status: "open", itemCount: 4, total: 1000 });
  });
});
