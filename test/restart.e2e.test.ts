// End to end over HTTP: `npm start --data <dir>`, stopped with SIGTERM and
// started again on the same folder, keeps its carts and carries on sequencing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { apiAt, cartCommand, type Api, type Json } from "./support/api.js";
import { expectCleanStop, startChildStack, type ChildStack } from "./support/local-stack.js";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { kinesisStreams } from "../core/topology.js";
import { kinesisClientConfig } from "../local/kinesis.js";
import { TABLE_PREFIX } from "../local/stack.js";
import { checkHistory } from "./support/history.js";
import { decode, readStream } from "./support/kinesis.js";
import { tablesAt } from "./support/tables.js";
import { eventually } from "./support/wait.js";

const dataDir = mkdtempSync(join(tmpdir(), "ordinal-restart-"));
const args = ["--data", dataDir, "--port", "0"];
let stack: ChildStack | undefined;

/** A stream's records on the "all events" stream, as `eventId@sequenceNumber`, in order. */
const kinesisRecordsOf = async (endpoint: string, streamId: string): Promise<string[]> => {
  const kinesis = new KinesisClient(kinesisClientConfig(endpoint));
  try {
    const shards = await readStream(kinesis, `${TABLE_PREFIX}${kinesisStreams.allEvents.name}`);
    return shards.flatMap((s) => s.records).filter((r) => decode(r).streamId === streamId).map((r) => `${decode(r).eventId}@${r.SequenceNumber}`);
  } finally {
    kinesis.destroy();
  }
};

/** Stops a test's stack, checking it took everything down, and removes its data folder. */
const cleanUp = async (running: ChildStack | undefined, dir: string) => {
  try {
    if (running) expectCleanStop(running, await running.stop());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

afterAll(() => cleanUp(stack, dataDir));

describe("a restart on the same data folder", () => {
  let first: { cart: Json; events: Json[]; outcomes: Json[]; onKinesis: string[] };

  it("SIGTERM stops the stack and everything it started, even when the stack is frozen as the signal arrives", async () => {
    // Prepare
    stack = await startChildStack(args);
    const api = apiAt(stack.url);
    expect((await api.send(cartCommand("OpenCart", "kept", "k-1"), 5)).status).toBe(200);
    expect((await api.send(cartCommand("AddItem", "kept", "k-2", { sku: "SKU-1", quantity: 2, unitPrice: 300 }), 5)).status).toBe(200);
    const onKinesis = await eventually("both events on Kinesis", async () => {
      const records = await kinesisRecordsOf((await api.get("/health")).body.endpoints.kinesis, "cart:kept");
      expect(records).toHaveLength(2);
      return records;
    });
    first = {
      cart: (await api.get("/carts/kept")).body,
      events: await api.allEvents("cart:kept"),
      outcomes: [(await api.get("/commands/cart%3Akept/1")).body, (await api.get("/commands/cart%3Akept/2")).body],
      onKinesis,
    };

    // Act
    const stopped = await stack.stop({ stallMs: 200 });

    // Assess
    expectCleanStop(stack, stopped);
    await expect(fetch(`${stack.url}/health`)).rejects.toThrow();
  });

  it("keeps the cart, its log and its outcomes, and sequences a new command exactly once", async () => {
    // Prepare
    stack = await startChildStack(args);
    const api: Api = apiAt(stack.url);

    // Act
    const kept = await api.get("/carts/kept");
    const added = await api.send(cartCommand("AddItem", "kept", "k-3", { sku: "SKU-2", quantity: 1, unitPrice: 50 }), 5);

    // Assess
    expect(kept.status).toBe(200);
    expect(kept.body).toEqual(first.cart);
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ key: "cart:kept", seq: 3, status: "accepted", events: [{ version: 3, type: "ItemAdded" }] });
    // Neither replayed (outcomes and events unchanged, none twice) nor skipped (the new one is there).
    const events = await api.allEvents("cart:kept");
    expect(events.slice(0, 2)).toEqual(first.events);
    expect(events.map((e: Json) => e.version)).toEqual([1, 2, 3]);
    expect((await api.get("/commands/cart%3Akept/1")).body).toEqual(first.outcomes[0]);
    expect((await api.get("/commands/cart%3Akept/2")).body).toEqual(first.outcomes[1]);
    const tables = tablesAt((await api.get("/health")).body.endpoints.dynamodb);
    expect((await tables.scan("outcomes")).map((o) => Number(o.seq)).sort((a, b) => a - b)).toEqual([1, 2, 3]);
    expect((await tables.scan("events")).map((e) => Number(e.version)).sort((a, b) => a - b)).toEqual([1, 2, 3]);
    tables.close();
    expect((await api.get("/carts/kept")).body).toMatchObject({ version: 3, total: 650 });
    // The fan-out kept its state too: Kinesis still holds the same two records (kept on disk, not
    // published again: the publisher's checkpoints were written before the stop) and then the new one.
    const endpoints = (await api.get("/health")).body.endpoints;
    const onKinesis = await eventually("the new event on Kinesis", async () => {
      const records = await kinesisRecordsOf(endpoints.kinesis, "cart:kept");
      expect(records).toHaveLength(3);
      return records;
    });
    expect(onKinesis.slice(0, 2)).toEqual(first.onKinesis);
    expect(onKinesis[2]).toMatch(/^cart:kept#3@/);
    // And the history keeps every invariant: the archive holds each event once, the read models all of them.
    const acknowledged = [1, 2, 3].map((seq) => ({ key: "cart:kept", seq, type: "cart", user: "u-1", id: `k-${seq}` }));
    await eventually("the restarted stack's history", async () => expect(await checkHistory(endpoints, acknowledged)).toEqual([]));
  });
});

describe("a restart on a data folder whose first run wrote nothing", () => {
  const emptyDir = mkdtempSync(join(tmpdir(), "ordinal-restart-empty-"));
  let fresh: ChildStack | undefined;
  afterAll(() => cleanUp(fresh, emptyDir));

  it("sequences every command acknowledged as soon as it is ready, the first one included", async () => {
    // Prepare: the reproduction — a first run that sends nothing, stopped, started again.
    fresh = await startChildStack(["--data", emptyDir, "--port", "0"]);
    expectCleanStop(fresh, await fresh.stop());
    fresh = await startChildStack(["--data", emptyDir, "--port", "0"]);
    const api = apiAt(fresh.url);

    // Act: five new carts at once, without waiting.
    const sent = await Promise.all([1, 2, 3, 4, 5].map((n) => api.send(cartCommand("OpenCart", `fresh-${n}`, `f-${n}`))));

    // Assess
    expect(sent.map((a) => [a.status, a.body.seq])).toEqual(Array(5).fill([202, 1]));
    const outcomes = await Promise.all(sent.map((a) => api.settle(a.body.outcomeUrl, 15_000)));
    expect(outcomes.map((o: Json) => o.status)).toEqual(Array(5).fill("accepted"));
  });
});
