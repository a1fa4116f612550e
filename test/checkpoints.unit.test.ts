// Lagging checkpoints: what a consumer of a lossy emulator stores is its
// position of a while ago, never one the emulator may not have kept.
import { describe, expect, it } from "vitest";
import { laggingCheckpoints, type Checkpoint, type CheckpointStore } from "../local/checkpoints.js";
import { sleep } from "./support/wait.js";

const memory = () => {
  const kept = new Map<string, Checkpoint>();
  const store: CheckpointStore = { get: async (id) => kept.get(id), set: async (id, checkpoint) => void kept.set(id, checkpoint) };
  return { kept, store };
};

describe("laggingCheckpoints", () => {
  it("stores a position only once the lag has passed, and answers the newest one to its own consumer meanwhile", async () => {
    // Prepare
    const { kept, store } = memory();
    const lagging = laggingCheckpoints(store, 200);

    // Act
    await lagging.set("s", { sequenceNumber: "1", done: false });
    await lagging.set("s", { sequenceNumber: "2", done: false });
    const early = kept.get("s");
    const answered = await lagging.get("s");
    await sleep(400);

    // Assess
    expect(early).toBeUndefined();
    expect(answered).toEqual({ sequenceNumber: "2", done: false });
    expect(kept.get("s")).toEqual({ sequenceNumber: "2", done: false });
    await lagging.settle();
  });

  it("writes a forgotten checkpoint at once, and on settle everything taken, after the lag", async () => {
    // Prepare
    const { kept, store } = memory();
    const lagging = laggingCheckpoints(store, 10_000);
    kept.set("old", { sequenceNumber: "900", done: false });

    // Act
    await lagging.set("old", { done: false });
    await lagging.set("new", { sequenceNumber: "5", done: false });
    const before = kept.get("new");

    // Assess
    expect(kept.get("old")).toEqual({ done: false });
    expect(before).toBeUndefined();
  });

  it("settles by waiting out the lag of the newest checkpoint, then writing it", async () => {
    // Prepare
    const { kept, store } = memory();
    const lagging = laggingCheckpoints(store, 150);
    await lagging.set("s", { sequenceNumber: "7", done: true });

    // Act
    await lagging.settle();

    // Assess
    expect(kept.get("s")).toEqual({ sequenceNumber: "7", done: true });
  });
});
