// Replays and redrives send with several SendMessageBatch calls in flight; a
// FIFO group's messages must still reach the queue in their order.
import { describe, expect, it } from "vitest";
import { lanesByGroup, type OutgoingMessage } from "../core/sqs.js";

describe("lanesByGroup", () => {
  it("puts each group's messages in one lane, in the order given, and every message in some lane", () => {
    // Prepare: 40 groups of 5, interleaved as an archive page holds them.
    const messages: OutgoingMessage[] = [];
    for (let version = 1; version <= 5; version++)
      for (let cart = 0; cart < 40; cart++) messages.push({ body: `cart:${cart}#${version}`, groupId: `cart:${cart}` });

    // Act
    const lanes = lanesByGroup(messages, 4);

    // Assess
    expect(lanes.length).toBeGreaterThan(1);
    expect(lanes.flat().map((m) => m.body).sort()).toEqual(messages.map((m) => m.body).sort());
    for (let cart = 0; cart < 40; cart++) {
      const holding = lanes.filter((lane) => lane.some((m) => m.groupId === `cart:${cart}`));
      expect(holding, `cart:${cart}`).toHaveLength(1);
      expect(holding[0]!.filter((m) => m.groupId === `cart:${cart}`).map((m) => m.body)).toEqual([1, 2, 3, 4, 5].map((v) => `cart:${cart}#${v}`));
    }
  });

  it("keeps messages without a group together, in order", () => {
    const messages = ["a", "b", "c"].map((body) => ({ body }));
    expect(lanesByGroup(messages, 4)).toEqual([messages]);
  });
});
