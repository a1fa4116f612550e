// The local stack in process, with its sequencer wrapped to hold or fail
// chosen commands: what HTTP alone cannot make happen on demand — a command
// pending behind a busy sequencer, one that keeps failing until it is parked in
// the failure destination, and a poller resuming from its checkpoint.
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type LocalStack, type StackOptions } from "../local/stack.js";
import type { ParkedBatch } from "../local/failures.js";
import { apiAt, cartCommand, type Api, type Json } from "./support/api.js";
import { stopLocalStack } from "./support/local-stack.js";
import { gate, until } from "./support/wait.js";
import { referenceApp } from "./support/app.js";

type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

const commandOf = (record: DynamoDBRecord) => {
  const image = record.dynamodb?.NewImage;
  return { key: image?.key?.S ?? "", seq: Number(image?.seq?.N), aggregateId: image?.aggregateId?.S ?? "" };
};

describe("the sequencer's failure destination", () => {
  const POISON = /^poison-/;
  const held = gate();
  const batches: { key: string; seq: number }[][] = [];
  let stack: LocalStack;
  let api: Api;

  // Carts named poison-… fail in the sequencer every time, the way one
  // aggregate's transaction would on a persistent DynamoDB error: the other
  // aggregates of the batch commit, and the poisoned record is reported as the
  // batch's first failure.
  const poisoned = (sequencer: StreamHandler): StreamHandler => async (event) => {
    batches.push(event.Records.map(commandOf).map(({ key, seq }) => ({ key, seq })));
    await held.passed();
    const poison = event.Records.find((r) => POISON.test(commandOf(r).aggregateId));
    const response = await sequencer({ Records: event.Records.filter((r) => r !== poison) });
    if (!poison) return response;
    const failed = new Set([poison.dynamodb?.SequenceNumber, ...response.batchItemFailures.map((f) => f.itemIdentifier)]);
    const first = event.Records.find((r) => failed.has(r.dynamodb?.SequenceNumber));
    return { batchItemFailures: [{ itemIdentifier: first!.dynamodb!.SequenceNumber! }] };
  };

  const parkedFor = async (key: string): Promise<ParkedBatch[]> =>
    (await stack.failures.sequencer!.list()).filter((batch) => batch.records.some((r) => commandOf(r).key === key));

  beforeAll(async () => {
    stack = await startStack({
    app: referenceApp,
      port: 0,
      retryAttempts: 1,
      wrapStreamHandler: (name, handler) => (name === "sequencer" ? poisoned(handler) : handler),
    });
    api = apiAt(stack.url);
    for (const cart of ["calm-1", "calm-2", "hold"]) expect((await api.send(cartCommand("OpenCart", cart, `open-${cart}`), 5)).status).toBe(200);
  });

  afterAll(async () => {
    held.open();
    if (stack) await stopLocalStack(stack);
  });

  it("parks a command that keeps failing after its retries, while the rest of its batch is sequenced", async () => {
    // Prepare: hold the sequencer on one batch so the next three commands arrive together in the next one.
    held.close();
    const holding = await api.send(cartCommand("AddItem", "hold", "h-1", { sku: "SKU-1", quantity: 1, unitPrice: 1 }));
    await until("the held batch", async () => (batches.at(-1)?.some((c) => c.key === "cart:hold" && c.seq === 2) ? true : undefined));
    const calm1 = await api.send(cartCommand("AddItem", "calm-1", "c1-1", { sku: "SKU-1", quantity: 1, unitPrice: 100 }));
    const poison = await api.send(cartCommand("OpenCart", "poison-1", "p-1"));
    const calm2 = await api.send(cartCommand("AddItem", "calm-2", "c2-1", { sku: "SKU-2", quantity: 2, unitPrice: 100 }));
    const whileHeld = await Promise.all([holding, calm1, poison, calm2].map((sent) => api.get(sent.body.outcomeUrl)));

    // Act
    held.open();
    const parked = await until("the parked batch", async () => ((await parkedFor("cart:poison-1")).length > 0 ? parkedFor("cart:poison-1") : undefined));

    // Assess
    expect(whileHeld.map((a) => [a.status, a.body.status])).toEqual([[200, "pending"], [200, "pending"], [200, "pending"], [200, "pending"]]);
    const together = batches.find((b) => b.some((c) => c.key === "cart:poison-1"));
    expect(together).toEqual([
      { key: "cart:calm-1", seq: 2 },
      { key: "cart:poison-1", seq: 1 },
      { key: "cart:calm-2", seq: 2 },
    ]);
    // As on Lambda, the batch is retried and parked from the failed record on, after 1 + retryAttempts tries.
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ consumer: "sequencer", attempts: 2, error: expect.any(String) });
    expect(parked[0]!.records.map(commandOf).map(({ key, seq }) => ({ key, seq }))).toEqual([
      { key: "cart:poison-1", seq: 1 },
      { key: "cart:calm-2", seq: 2 },
    ]);
    expect(await api.settle(holding.body.outcomeUrl)).toMatchObject({ status: "accepted" });
    expect(await api.settle(calm1.body.outcomeUrl)).toMatchObject({ status: "accepted", events: [{ version: 2 }] });
    expect(await api.settle(calm2.body.outcomeUrl)).toMatchObject({ status: "accepted", events: [{ version: 2 }] });
    expect((await api.get(poison.body.outcomeUrl)).body).toMatchObject({ status: "pending", key: "cart:poison-1", seq: 1 });
    expect((await api.get("/carts/poison-1")).status).toBe(404);
    expect((await api.get("/streams/cart:poison-1/events")).status).toBe(404);
    // Redelivering calm-2's command with the failed one applied it no second time.
    expect((await api.allEvents("cart:calm-2")).map((e: Json) => e.version)).toEqual([1, 2]);
  });

  it("moves past the parked batch: later commands are sequenced", async () => {
    // Act
    const later = await api.send(cartCommand("AddItem", "calm-2", "c2-2", { sku: "SKU-2", quantity: 1, unitPrice: 100 }), 5);

    // Assess
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ seq: 3, status: "accepted", events: [{ version: 3 }] });
    expect(await api.get("/carts/calm-2")).toMatchObject({ body: { version: 3, items: [{ sku: "SKU-2", quantity: 3 }] } });
  });

  it("?wait answers 202 pending when the outcome does not come in time, and the outcome reads pending", async () => {
    // Act
    const waited = await api.send(cartCommand("OpenCart", "poison-2", "p-2"), 1);

    // Assess
    expect(waited.status).toBe(202);
    expect(waited.body).toEqual({ key: "cart:poison-2", seq: 1, status: "pending", correlationId: "cart:poison-2/1", outcomeUrl: "/commands/cart%3Apoison-2/1" });
    const outcome = await api.get(waited.body.outcomeUrl);
    expect(outcome.status).toBe(200);
    expect(outcome.body).toMatchObject({ key: "cart:poison-2", seq: 1, status: "pending" });
  });
});

describe("a restart of the local stack on the same data folder", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ordinal-checkpoint-"));
  const stacks: LocalStack[] = [];
  const start = async (options: Partial<StackOptions> = {}) => {
    const stack = await startStack({ app: referenceApp, port: 0, dataDir, ...options });
    stacks.push(stack);
    return stack;
  };

  afterAll(async () => {
    for (const stack of stacks) await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("resumes the sequencer at its checkpoint: it delivers the new command and none of the old ones", async () => {
    // Prepare
    const before = await start();
    const api = apiAt(before.url);
    expect((await api.send(cartCommand("OpenCart", "r-1", "r-1"), 5)).status).toBe(200);
    expect((await api.send(cartCommand("AddItem", "r-1", "r-2", { sku: "SKU-1", quantity: 1, unitPrice: 10 }), 5)).status).toBe(200);
    expect((await api.send(cartCommand("OpenCart", "r-2", "r-3"), 5)).status).toBe(200);
    await stopLocalStack(before);
    const delivered: { key: string; seq: number }[] = [];

    // Act
    const after = await start({
      wrapStreamHandler: (name, handler) => async (event) => {
        if (name === "sequencer") delivered.push(...event.Records.map(commandOf).map(({ key, seq }) => ({ key, seq })));
        return handler(event);
      },
    });
    const added = await apiAt(after.url).send(cartCommand("AddItem", "r-1", "r-4", { sku: "SKU-1", quantity: 1, unitPrice: 10 }), 5);
    await stopLocalStack(after);

    // Assess
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ seq: 3, status: "accepted", events: [{ version: 3 }] });
    expect(delivered).toEqual([{ key: "cart:r-1", seq: 3 }]);
  });
});
