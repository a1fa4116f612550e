// Replay jobs and read-model generations on plain data: which generations
// live events and replay messages go to, a job's progress as the API and the
// CLI show it, and replay messages as the projector decodes them.
import { describe, expect, it } from "vitest";
import { acceptsReplayInto, initialGenerations, liveGenerations, partitionOf, type Generations } from "../core/projections/index.js";
import { progressOf, type ReplayJob } from "../core/replay-jobs.js";
import { decodeReplayMessage } from "../functions/event-records.js";
import { describeStatus, type ReplayStatus } from "../local/cli/progress.js";
import { cartStream, opened } from "./support/projection-records.js";

const generations = (over: Partial<Generations>): Generations => ({ ...initialGenerations({ name: "p", version: 2 }), ...over });

describe("generations", () => {
  it("keeps generation 1 under the projection's name and numbers the later ones", () => {
    expect(partitionOf("cart-summary", 1)).toBe("cart-summary");
    expect(partitionOf("cart-summary", 7)).toBe("cart-summary@7");
  });

  it("feeds live events to every listed generation of the code's version, and none of another", () => {
    const rebuilding = generations({ serving: { generation: 1, version: 2 }, building: { generation: 2, version: 2, replayId: "r" } });
    expect(liveGenerations(rebuilding, { name: "p", version: 2 })).toEqual([1, 2]);
    const retiring = generations({ serving: { generation: 2, version: 2 }, retiring: { generation: 1, version: 2, until: 0 } });
    expect(liveGenerations(retiring, { name: "p", version: 2 })).toEqual([2, 1]);
    // A new version deployed: the old generation is frozen as it was, the rebuild at the new version takes live events.
    const upgrading = generations({ serving: { generation: 1, version: 1 }, building: { generation: 2, version: 2, replayId: "r" } });
    expect(liveGenerations(upgrading, { name: "p", version: 2 })).toEqual([2]);
    // No item yet: generation 1, at the code's version.
    expect(liveGenerations(undefined, { name: "p", version: 3 })).toEqual([1]);
  });

  it("takes replay messages only for the serving or the building generation", () => {
    const rebuilding = generations({ serving: { generation: 3, version: 2 }, building: { generation: 4, version: 2, replayId: "r" } });
    expect([2, 3, 4, 5].map((g) => acceptsReplayInto(rebuilding, g))).toEqual([false, true, true, false]);
    expect(acceptsReplayInto(undefined, 1)).toBe(true);
  });
});

const job = (over: Partial<ReplayJob>): ReplayJob => ({
  projection: "replays",
  key: "01M8S69RQPN9AQ1VKFSA7SSA0M",
  handler: "cart-summary",
  reset: true,
  reason: "request",
  generation: 2,
  version: 1,
  state: "running",
  phase: "sending",
  revision: 3,
  createdAt: 1_000_000,
  updatedAt: 1_010_000,
  objectsRead: 0,
  eventsRead: 0,
  eventsSent: 0,
  eventsApplied: 0,
  attempts: 0,
  ...over,
});

describe("a job's progress", () => {
  it("answers the rate and the time left from what was read, sent and applied so far", () => {
    // 10 s in: a quarter of the objects read, 400 of 1,000 events sent so far applied
    const status = progressOf(job({ objectsTotal: 40, objectsRead: 10, eventsSent: 1_000, eventsApplied: 400 }), 1_010_000);
    expect(status).toMatchObject({ state: "running", phase: "sending", eventsPerSecond: 40, objectsTotal: 40, objectsRead: 10 });
    // Sending: 30 objects left at 1 per second; applying: 600 left at 40 per second. The longer wins.
    expect(status.etaSeconds).toBe(30);
    expect(status.createdAt).toBe(new Date(1_000_000).toISOString());
  });

  it("knows no time left before anything was read, and none once ended", () => {
    expect(progressOf(job({ phase: "waiting-for-archive" }), 1_005_000).etaSeconds).toBeNull();
    expect(progressOf(job({ state: "done", phase: "ended", endedAt: 1_020_000, eventsApplied: 10 }), 1_030_000).etaSeconds).toBe(0);
  });

  it("takes a rebuild's rate up to its swap, not over the wait before the old generation is deleted", () => {
    const swapped = job({ phase: "retiring", swappedAt: 1_010_000, retireAt: 1_020_000, objectsTotal: 4, objectsRead: 4, eventsSent: 500, eventsApplied: 500 });
    expect(progressOf(swapped, 1_015_000)).toMatchObject({ eventsPerSecond: 50, etaSeconds: 5, swappedAt: new Date(1_010_000).toISOString() });
  });

  it("answers a percentage for a bar (half for the archive read, half for what the projector applied), and the CLI's words", () => {
    const status = (over: Partial<ReplayStatus>): ReplayStatus => ({
      replayId: "r",
      handler: "cart-summary",
      state: "running",
      phase: "sending",
      reset: true,
      objectsTotal: 10,
      objectsRead: 5,
      eventsSent: 100,
      eventsApplied: 50,
      eventsPerSecond: 12.5,
      etaSeconds: 8,
      percent: 50,
      ...over,
    });
    const percentOf = (over: Partial<ReplayJob>) => progressOf(job(over), 1_010_000).percent;
    expect(percentOf({ objectsTotal: 10, objectsRead: 5, eventsSent: 100, eventsApplied: 50 })).toBe(50);
    expect(percentOf({ phase: "waiting-for-archive" })).toBe(0);
    expect(percentOf({ state: "done", phase: "ended", objectsTotal: 10, objectsRead: 10, eventsSent: 100, eventsApplied: 100 })).toBe(100);
    expect(describeStatus(status({}))).toBe("sending | 5/10 objects | 50/100 events applied | 12.5 events/s | 8 s left");
    expect(describeStatus(status({ phase: "waiting-for-archive", streamsBehind: 3, etaSeconds: null }))).toContain("waiting for the archive (3 streams behind)");
  });
});

describe("replay messages", () => {
  const [event] = cartStream("c-1", [opened()]);

  it("reads the replay and generation a message is for, and its event", () => {
    expect(decodeReplayMessage(JSON.stringify({ replay: { id: "r1", generation: 2 }, event }))).toEqual({ replay: { id: "r1", generation: 2 }, event });
  });

  it("takes a bare event record (sent before messages named their generation) for the serving generation", () => {
    expect(decodeReplayMessage(JSON.stringify(event))).toEqual({ event });
  });

  it("refuses what is not one: not JSON, no event, an envelope without its replay", () => {
    expect(decodeReplayMessage("{")).toBeUndefined();
    expect(decodeReplayMessage(JSON.stringify({ replay: { id: "r1", generation: 2 }, event: { type: "x" } }))).toBeUndefined();
    expect(decodeReplayMessage(JSON.stringify({ event }))).toBeUndefined();
    expect(decodeReplayMessage(JSON.stringify({ replay: { id: "r1", generation: "2" }, event }))).toBeUndefined();
  });
});
