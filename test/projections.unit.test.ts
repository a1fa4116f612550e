// Projections as specifications: each read model from its events, unchanged
// by duplicates and out-of-order delivery; the version checkpoint and gap
// filling on plain data; the query parameters and the replay request.
import { describe, expect, it } from "vitest";
import { parseDuration } from "../core/iso8601.js";
import { ValidationError } from "../core/errors.js";
import { cartSummary, summaryOf } from "../core/cart/cart-summary.js";
import { openCarts } from "../core/cart/open-carts.js";
import { applyToReadModel, emptyCheckpoint, GapError } from "../core/projections/index.js";
import { redrivableQueues, redrivePlans } from "../core/redrive.js";
import { deduplicationIdOf, replayQueueOf } from "../core/replay.js";
import { fifoId } from "../core/sqs.js";
import { referenceApp, topology } from "./support/app.js";

const projectionNames = topology.projections;
import { parseReplayRequest } from "../functions/replays.js";
import { added, cartStream, closed, MINUTE, opened, removed, streamEvents, T0 } from "./support/projection-records.js";
import { deliverBatches, logReader, projectionSpec } from "./support/projection-spec.js";
import { upcasterOf } from "../core/upcast.js";

/** Events as the runner hands them to a projection: upcast to their types' current versions (ItemAdded gains currency). */
const asRead = upcasterOf(referenceApp.microservices);

describe("cart-summary", () => {
  const spec = projectionSpec(cartSummary);

  it("folds an open cart's lines, whatever the delivery", async () => {
    await spec
      .given(cartStream("c-1", [opened("ann"), added("apple", 2, 100), added("pear", 1, 250), removed("apple", 1), added("apple", 3, 120)]).map(asRead))
      .then("c-1", {
        status: "open",
        owner: "ann",
        items: [
          { sku: "apple", quantity: 4, unitPrice: 120, currency: "EUR" },
          { sku: "pear", quantity: 1, unitPrice: 250, currency: "EUR" },
        ],
      });
  });

  it("keeps a closed cart's total, whatever the delivery", async () => {
    await spec
      .given(cartStream("c-2", [opened("bob"), added("fig", 3, 50), closed(150)]).map(asRead))
      .then("c-2", { status: "closed", owner: "bob", items: [{ sku: "fig", quantity: 3, unitPrice: 50, currency: "EUR" }], total: 150 });
  });

  it("keeps carts apart and ignores other microservices' events of the same names", async () => {
    const log = [
      ...cartStream("c-3", [opened("cy"), added("kiwi", 1, 80)]).map(asRead),
      ...cartStream("c-4", [opened("di"), added("lime", 5, 10), removed("lime", 5)]).map(asRead),
      ...streamEvents("wishlist", "c-3", [{ type: "ItemAdded", data: { sku: "yacht", quantity: 1, unitPrice: 10_000_000 } }]),
    ];
    await spec.given(log).then("c-3", { status: "open", owner: "cy", items: [{ sku: "kiwi", quantity: 1, unitPrice: 80, currency: "EUR" }] });
    await spec.given(log).then("c-4", { status: "open", owner: "di", items: [] });
  });

  it("summarizes as the query answers: units across lines, the total in cents", () => {
    expect(summaryOf("c-1", { status: "open", owner: "ann", items: [{ sku: "a", quantity: 2, unitPrice: 100, currency: "EUR" }, { sku: "b", quantity: 1, unitPrice: 5, currency: "EUR" }] })).toEqual({
      cartId: "c-1",
      status: "open",
      itemCount: 3,
      total: 205,
    });
    expect(summaryOf("c-2", { status: "closed", owner: "bob", items: [{ sku: "a", quantity: 1, unitPrice: 7, currency: "EUR" }], total: 7 })).toEqual({
      cartId: "c-2",
      status: "closed",
      itemCount: 1,
      total: 7,
    });
    expect(summaryOf("c-3", { status: "empty" })).toBeUndefined();
  });
});

describe("open-carts", () => {
  const spec = projectionSpec(openCarts);

  it("tracks an open cart's owner and latest activity, whatever the delivery", async () => {
    await spec
      .given(cartStream("c-1", [opened("ann"), added("apple", 1, 100), removed("apple", 1)]))
      .then("c-1", { status: "open", owner: "ann", lastActivityAt: T0 + 2 * MINUTE });
  });

  it("takes the latest occurredAt, not the last event's, when a command carried an earlier timestamp", async () => {
    await spec
      .given(cartStream("c-2", [opened("bob"), added("fig", 1, 50, T0 + 30 * MINUTE), added("fig", 1, 50, T0 + 5 * MINUTE)]))
      .then("c-2", { status: "open", owner: "bob", lastActivityAt: T0 + 30 * MINUTE });
  });

  it("marks a closed cart closed, whatever the delivery", async () => {
    await spec
      .given(cartStream("c-3", [opened("cy"), added("kiwi", 1, 80), closed(80)]))
      .then("c-3", { status: "closed", owner: "cy", lastActivityAt: T0 + 2 * MINUTE });
  });
});

describe("applyToReadModel", () => {
  const log = cartStream("c-1", [opened("ann"), added("a", 1, 10), added("b", 2, 20), added("c", 3, 30), closed(140)]);
  const [v1, v2, v3, v4, v5] = log as [typeof log[0], typeof log[0], typeof log[0], typeof log[0], typeof log[0]];

  it("skips versions already applied and reports nothing to write when all were", async () => {
    // Prepare
    const item = await deliverBatches(cartSummary, "c-1", [[v1, v2]], logReader(log));

    // Act
    const again = await applyToReadModel(cartSummary, "c-1", item, [v2, v1, v2], logReader(log));

    // Assess
    expect(again).toMatchObject({ applied: 0, skipped: 3, filled: 0, changed: false, versions: item.versions, model: item.model });
  });

  it("fills a gap from the log before applying the event after it, and counts the reads", async () => {
    // Prepare
    const reader = logReader(log);

    // Act
    const result = await applyToReadModel(cartSummary, "c-1", emptyCheckpoint(cartSummary), [v4, v2, v5], reader);

    // Assess
    expect(result).toMatchObject({ applied: 5, skipped: 1, filled: 3, changed: true, versions: { "cart:c-1": 5 } });
    expect(result.model).toEqual((await deliverBatches(cartSummary, "c-1", [log], logReader(log))).model);
    expect(reader.calls).toBe(1);
  });

  it("steps over versions of other types and other items without folding them", async () => {
    // Prepare: a stream whose v2 is of a type the projection does not take and v3 belongs to another item
    const mixed = streamEvents("cart", "c-9", [opened("ann"), { type: "CartRenamed" }, added("x", 1, 1), added("y", 1, 2)]).map(asRead);
    const other = { ...mixed[2]!, aggregateId: "elsewhere" };
    const reader = logReader([mixed[0]!, mixed[1]!, other, mixed[3]!]);

    // Act
    const result = await applyToReadModel(cartSummary, "c-9", emptyCheckpoint(cartSummary), [mixed[3]!], reader);

    // Assess
    expect(result).toMatchObject({ applied: 2, filled: 3, versions: { "cart:c-9": 4 } });
    expect(result.model).toEqual({ status: "open", owner: "ann", items: [{ sku: "y", quantity: 1, unitPrice: 2, currency: "EUR" }] });
  });

  it("refuses to apply past a gap the log cannot fill", async () => {
    // Prepare: the log is missing v3
    const reader = logReader([v1, v2, v4]);

    // Act
    const applying = applyToReadModel(cartSummary, "c-1", emptyCheckpoint(cartSummary), [v5], reader);

    // Assess
    await expect(applying).rejects.toThrow(GapError);
    await expect(applying).rejects.toThrow("needs versions 1..4 before 5");
  });

  it("keeps one checkpoint per stream when several streams feed one item", async () => {
    // Prepare: a projection keyed by user across two carts
    const byUser = { ...cartSummary, name: "by-user", keyOf: () => "ann" };
    const a = cartStream("a", [opened("ann"), added("x", 1, 1)]);
    const b = cartStream("b", [opened("ann")]);

    // Act
    const result = await applyToReadModel(byUser, "ann", emptyCheckpoint(byUser), [b[0]!, a[1]!, b[0]!], logReader([...a, ...b]));

    // Assess
    expect(result).toMatchObject({ versions: { "cart:a": 2, "cart:b": 1 }, skipped: 1, filled: 1 });
  });
});

describe("ISO 8601 durations", () => {
  it.each([
    ["P14D", 14 * 86_400_000],
    ["PT1H", 3_600_000],
    ["P1DT12H", 36 * 3_600_000],
    ["PT90M", 90 * 60_000],
    ["PT1.5S", 1_500],
    ["PT0,25S", 250],
    ["P2W", 14 * 86_400_000],
    ["P0D", 0],
  ])("reads %s", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ms });
  });

  it.each(["14D", "P", "PT", "P1DT", "PT1D", "P-1D", "P1.5D", "p1d", "", "P1H"])("refuses %j", (text) => {
    expect(parseDuration(text)).toEqual({ error: expect.stringContaining("ISO 8601 duration") });
  });

  it.each(["P1M", "P1Y", "P1Y2M3D"])("refuses %s: months and years have no fixed length", (text) => {
    expect(parseDuration(text)).toEqual({ error: expect.stringContaining("no fixed length") });
  });
});

describe("replay request", () => {
  const issues = (body: unknown) => {
    try {
      parseReplayRequest(topology, body);
    } catch (error) {
      if (error instanceof ValidationError) return error.issues;
      throw error;
    }
    return [];
  };

  it("takes ISO times or epoch milliseconds and converts both", () => {
    expect(parseReplayRequest(topology, { handler: "open-carts", from: "2026-11-23T14:00:00Z", to: T0 + 1 })).toEqual({
      handler: "open-carts",
      from: T0,
      to: T0 + 1,
    });
  });

  it("names the field and the projections when the handler is unknown", () => {
    expect(issues({ handler: "nope" })).toEqual([{ field: "handler", rule: `must be one of ${projectionNames.join(", ")}` }]);
    expect(issues({})).toEqual([{ field: "handler", rule: `must be one of ${projectionNames.join(", ")}` }]);
  });

  it("refuses bad times, a backwards range, unknown fields, and a rebuild of part of the archive", () => {
    expect(issues({ handler: "cart-summary", from: "yesterday" })).toEqual([{ field: "from", rule: expect.stringContaining("ISO 8601") }]);
    // Without a zone the time would depend on the machine reading it.
    expect(issues({ handler: "cart-summary", from: "2026-11-23T14:00:00" })).toEqual([{ field: "from", rule: expect.stringContaining("zone") }]);
    expect(issues({ handler: "cart-summary", from: T0 + 1, to: T0 })).toEqual([{ field: "to", rule: "must not be before from" }]);
    expect(issues({ handler: "cart-summary", bogus: 1 })).toEqual([{ field: "bogus", rule: "is not a known field" }]);
    // A new generation built from part of the archive would serve a partial model.
    expect(issues({ handler: "cart-summary", reset: true, from: T0 })).toEqual([{ field: "from", rule: expect.stringContaining("whole archive") }]);
    expect(issues({ handler: "cart-summary", reset: true, to: T0 })).toEqual([{ field: "to", rule: expect.stringContaining("whole archive") }]);
    // The one-page API's paging fields are gone: a job pages by itself.
    expect(issues({ handler: "cart-summary", startAfter: "events/2026/" })).toEqual([{ field: "startAfter", rule: "is not a known field" }]);
    expect(issues([])).toEqual([{ field: "", rule: "the body must be a JSON object, not an array" }]);
  });
});

describe("FIFO ids and queues", () => {
  it("keeps a valid id as it is and hashes one SQS would refuse, the same way every time", () => {
    expect(fifoId("cart:c-1")).toBe("cart:c-1");
    const long = `cart:${"x".repeat(200)}`;
    expect(fifoId(long)).toMatch(/^[0-9a-f]{64}$/);
    expect(fifoId(long)).toBe(fifoId(long));
    expect(fifoId("cart:ü")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("derives a replay's deduplication ids from the replay and the event", () => {
    const [event] = cartStream("c-1", [opened()]);
    expect(deduplicationIdOf("r1", event!)).toBe("r1:cart:c-1#1");
    expect(deduplicationIdOf("r2", event!)).not.toBe(deduplicationIdOf("r1", event!));
  });

  it("finds each projection's replay queue and each dead-letter queue's source in the topology", () => {
    const redrivePlanOf = (queue: string) => redrivePlans(topology).get(queue);
    expect(projectionNames.map((name) => replayQueueOf(referenceApp, name))).toEqual(["cart-summary-replay", "open-carts-replay"]);
    expect(redrivePlanOf("cart-summary-replay-dlq")).toEqual({ kind: "move", to: "cart-summary-replay" });
    expect(redrivePlanOf("open-carts-replay-dlq")).toEqual({ kind: "move", to: "open-carts-replay" });
    expect(redrivePlanOf("archiver-failures")).toEqual({ kind: "parked", consumer: "archiver" });
    expect(redrivePlanOf("sequencer-failures")).toEqual({ kind: "parked", consumer: "sequencer" });
    expect(redrivePlanOf("cart-summary-replay")).toBeUndefined();
    expect(redrivableQueues(topology)).toEqual(expect.arrayContaining(["cart-summary-replay-dlq", "open-carts-replay-dlq", "cart-summary-failures", "open-carts-failures"]));
  });
});
