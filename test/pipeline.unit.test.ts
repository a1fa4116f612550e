// The pipeline meter behind GET /admin/pipeline, on a clock of our own: per
// second counts over a sliding window, totals since the start, and the lags
// and parked counts asked at each report.
import { describe, expect, it } from "vitest";
import { pipelineMeter } from "../core/pipeline.js";

describe("pipelineMeter", () => {
  it("counts commands and outcomes per second, oldest first, with a zero for a quiet second, and keeps totals", async () => {
    // Prepare
    let now = 1_000_000;
    const meter = pipelineMeter({ clock: () => now, windowSeconds: 3, lags: () => [{ consumer: "sequencer", source: "commands", lagMs: 12 }], parked: async () => [{ destination: "sequencer-failures", count: 2 }] });

    // Act
    meter.commands(2);
    meter.outcomes(["accepted", "rejected"]);
    now += 2_000;
    meter.commands();
    meter.outcomes(["accepted", "duplicate"]);
    const report = await meter.report();

    // Assess
    expect(report.series).toEqual({ at: [1000, 1001, 1002], commands: [2, 0, 1], accepted: [1, 0, 1], rejected: [1, 0, 0], duplicate: [0, 0, 1] });
    expect(report.totals).toEqual({ commands: 3, accepted: 2, rejected: 1, duplicate: 1 });
    expect(report.consumers).toEqual([{ consumer: "sequencer", source: "commands", lagMs: 12 }]);
    expect(report.parked).toEqual([{ destination: "sequencer-failures", count: 2 }]);
  });

  it("drops seconds older than its window, but not from the totals", async () => {
    // Prepare
    let now = 5_000_000;
    const meter = pipelineMeter({ clock: () => now, windowSeconds: 2, lags: () => [], parked: async () => [] });

    // Act
    meter.commands(5);
    now += 10_000;
    meter.commands(1);
    const report = await meter.report();

    // Assess
    expect(report.series.at).toEqual([5009, 5010]);
    expect(report.series.commands).toEqual([0, 1]);
    expect(report.totals.commands).toBe(6);
  });
});
