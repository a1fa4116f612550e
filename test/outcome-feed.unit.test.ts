// `?wait` on the local stack is told of outcomes as the in-process sequencer
// commits them, instead of reading the outcomes table until one is there.
import { describe, expect, it } from "vitest";
import { outcomeFeed, waitForOutcome } from "../core/commands.js";
import type { Store } from "../core/dynamo.js";
import type { OutcomeRecord } from "../core/records.js";

const outcome = (seq: number): OutcomeRecord => ({
  key: "cart:c-1",
  seq,
  status: "accepted",
  streamId: "cart#c-1",
  commandId: `id-${seq}`,
  command: "AddItem",
  user: "u-1",
  correlationId: `cart:c-1/${seq}`,
  events: [{ version: seq, type: "ItemAdded", data: {} }],
  recordedAt: 1,
});

/** A store that records every call: a wait told by the feed must not read. */
const reads: string[] = [];
const unreadable = { db: { send: async (command: object) => reads.push(command.constructor.name) && undefined }, tables: { outcomes: "outcomes" } } as unknown as Store;

describe("the outcome feed", () => {
  it("tells a waiter the outcome committed after it began waiting, without reading the table", async () => {
    const feed = outcomeFeed();
    const waiting = waitForOutcome(unreadable, "cart:c-1", 2, 10_000, { feed });
    feed.publish([outcome(1), outcome(2)]);
    expect(await waiting).toEqual(outcome(2));
    expect(reads).toEqual([]);
  });

  it("answers an outcome committed before the wait began from the ones it keeps", async () => {
    const feed = outcomeFeed();
    feed.publish([outcome(3)]);
    expect(await feed.wait("cart:c-1", 3, 10_000)).toEqual(outcome(3));
  });

  it("forgets the oldest outcomes past what it keeps, and answers undefined when none comes in time", async () => {
    const feed = outcomeFeed(2);
    feed.publish([outcome(1), outcome(2), outcome(3)]);
    expect(await feed.wait("cart:c-1", 1, 0)).toBeUndefined();
    expect(await feed.wait("cart:c-1", 3, 0)).toEqual(outcome(3));
    expect(await feed.wait("cart:c-1", 9, 20)).toBeUndefined();
  });

  it("reads the table after all when the feed stays silent (a sequencer elsewhere wrote it)", async () => {
    const feed = outcomeFeed();
    const stored = { db: { send: async () => ({ Item: outcome(5) }) }, tables: { outcomes: "outcomes" } } as unknown as Store;
    expect(await waitForOutcome(stored, "cart:c-1", 5, 50, { feed })).toEqual(outcome(5));
  });
});

describe("waiting without a feed (AWS)", () => {
  it("polls with eventually consistent reads, and reads consistently once more at the deadline before giving up", async () => {
    const consistent: boolean[] = [];
    const empty = { db: { send: async (command: { input: { ConsistentRead: boolean } }) => (consistent.push(command.input.ConsistentRead), {}) }, tables: { outcomes: "outcomes" } } as unknown as Store;
    expect(await waitForOutcome(empty, "cart:c-1", 9, 120)).toBeUndefined();
    expect(consistent.length).toBeGreaterThan(1);
    expect(consistent.slice(0, -1).every((c) => !c)).toBe(true);
    expect(consistent.at(-1)).toBe(true);
  });
});
