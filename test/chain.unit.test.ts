// Walking a command's causes back to the start of its chain, over plain maps.
import { describe, expect, it } from "vitest";
import { MAX_CHAIN_STEPS, walkChain, type ChainReaders } from "../core/chain.js";
import type { OutcomeView } from "../core/commands.js";
import type { EventRecord, OutcomeRecord } from "../core/records.js";

const outcome = (key: string, seq: number, command: string, fields: Partial<OutcomeRecord> = {}): OutcomeRecord => ({
  key,
  seq,
  status: "accepted",
  streamId: key.includes(":") ? key : `${key}:main`,
  commandId: `${key}/${seq}`,
  command,
  user: "alice",
  correlationId: "cart:c-1/4",
  recordedAt: 1,
  ...fields,
});

const event = (streamId: string, version: number, type: string, causationId: string): EventRecord => {
  const [commandKey, commandSeq] = causationId.split("/");
  return {
    streamId,
    version,
    type,
    data: {},
    eventId: `${streamId}#${version}`,
    microservice: streamId.split(":")[0]!,
    aggregateId: streamId.split(":")[1]!,
    commandKey: commandKey!,
    commandSeq: Number(commandSeq),
    commandId: "x",
    user: "service:cart",
    correlationId: "cart:c-1/4",
    causationId,
    occurredAt: 1,
    recordedAt: 1,
  };
};

/** A checkout, as the log holds it: the cart's Checkout sends ReserveStock; the reservation's event makes the process manager confirm; the confirmation sends CommitReservation. */
const checkout = {
  outcomes: [
    outcome("cart:c-1", 4, "Checkout"),
    outcome("inventory", 9, "ReserveStock", { streamId: "inventory:main", user: "service:cart", causationId: "cart:c-1/4" }),
    outcome("cart:c-1", 5, "ConfirmCheckout", { user: "service:checkout", causationId: "inventory:main#2" }),
    outcome("inventory", 10, "CommitReservation", { streamId: "inventory:main", user: "service:cart", causationId: "cart:c-1/5" }),
  ],
  events: [event("inventory:main", 2, "StockReserved", "inventory/9"), event("inventory:main", 3, "StockCommitted", "inventory/10")],
};

/** Readers over `world`, counting every read. */
const readersOf = (world: { outcomes: readonly OutcomeView[]; events: readonly EventRecord[] }) => {
  const reads: string[] = [];
  const readers: ChainReaders = {
    outcome: async (key, seq) => (reads.push(`${key}/${seq}`), world.outcomes.find((o) => o.key === key && o.seq === seq)),
    event: async (streamId, version) => (reads.push(`${streamId}#${version}`), world.events.find((e) => e.streamId === streamId && e.version === version)),
  };
  return { readers, reads };
};

describe("walkChain", () => {
  it("is empty for a command nothing caused: it starts its chain", async () => {
    const { readers, reads } = readersOf(checkout);

    expect(await walkChain(undefined, readers)).toEqual([]);
    expect(reads).toEqual([]);
  });

  it("walks commands and events back to the first command, nearest cause first", async () => {
    // Prepare: the causes of CommitReservation (inventory/10).
    const { readers, reads } = readersOf(checkout);

    // Act
    const chain = await walkChain("cart:c-1/5", readers);

    // Assess
    expect(chain).toEqual([
      { kind: "command", ref: "cart:c-1/5", key: "cart:c-1", seq: 5, status: "accepted", command: "ConfirmCheckout", microservice: "cart", streamId: "cart:c-1", user: "service:checkout" },
      { kind: "event", ref: "inventory:main#2", eventId: "inventory:main#2", type: "StockReserved", streamId: "inventory:main", version: 2 },
      { kind: "command", ref: "inventory/9", key: "inventory", seq: 9, status: "accepted", command: "ReserveStock", microservice: "inventory", streamId: "inventory:main", user: "service:cart" },
      { kind: "command", ref: "cart:c-1/4", key: "cart:c-1", seq: 4, status: "accepted", command: "Checkout", microservice: "cart", streamId: "cart:c-1", user: "alice" },
    ]);
    expect(reads).toEqual(["cart:c-1/5", "inventory:main#2", "inventory/9", "cart:c-1/4"]);
  });

  it("goes from an event to the command that produced it when the event names no cause (written before causationId)", async () => {
    const { causationId: _none, ...old } = { ...checkout.events[0]!, commandKey: "inventory", commandSeq: 9 };
    const { readers } = readersOf({ ...checkout, events: [old as EventRecord] });

    expect((await walkChain("inventory:main#2", readers)).map((s) => s.ref)).toEqual(["inventory:main#2", "inventory/9", "cart:c-1/4"]);
  });

  it("shows a pending cause as pending, and follows its causationId when the counter still holds it", async () => {
    const pending: OutcomeView = { status: "pending", key: "inventory", seq: 9, correlationId: "cart:c-1/4", causationId: "cart:c-1/4" };
    const { readers } = readersOf({ outcomes: [checkout.outcomes[0]!, pending], events: [] });

    expect(await walkChain("inventory/9", readers)).toEqual([
      { kind: "command", ref: "inventory/9", key: "inventory", seq: 9, status: "pending" },
      expect.objectContaining({ kind: "command", ref: "cart:c-1/4", command: "Checkout" }),
    ]);
  });

  it("stops at a cause it cannot read, saying which and why", async () => {
    const { readers } = readersOf({ outcomes: checkout.outcomes.slice(1), events: checkout.events });

    expect(await walkChain("inventory:main#2", readers)).toEqual([
      expect.objectContaining({ kind: "event", ref: "inventory:main#2" }),
      expect.objectContaining({ kind: "command", ref: "inventory/9" }),
      { kind: "missing", ref: "cart:c-1/4", reason: "no command 4 was sent under key 'cart:c-1'" },
    ]);
    expect(await walkChain("inventory:main#7", readers)).toEqual([
      { kind: "missing", ref: "inventory:main#7", reason: "no event 7 in stream 'inventory:main'" },
    ]);
  });

  it.each(["nonsense", "cart:c-1/0", "cart:c-1/x", "/3", "#3", "inventory:main#-1"])(
    "calls a causationId that names neither a command nor an event missing, without reading: %j",
    async (ref) => {
      const { readers, reads } = readersOf(checkout);

      expect(await walkChain(ref, readers)).toEqual([{ kind: "missing", ref, reason: expect.stringContaining("neither") }]);
      expect(reads).toEqual([]);
    },
  );

  it("stops at a loop (a caller may send any causationId)", async () => {
    const { readers, reads } = readersOf({
      outcomes: [outcome("cart:a", 1, "OpenCart", { causationId: "cart:b/1" }), outcome("cart:b", 1, "OpenCart", { causationId: "cart:a/1" })],
      events: [],
    });

    expect(await walkChain("cart:a/1", readers)).toEqual([
      expect.objectContaining({ kind: "command", ref: "cart:a/1" }),
      expect.objectContaining({ kind: "command", ref: "cart:b/1" }),
      { kind: "missing", ref: "cart:a/1", reason: expect.stringContaining("loops") },
    ]);
    expect(reads).toEqual(["cart:a/1", "cart:b/1"]);
  });

  it(`reads at most ${MAX_CHAIN_STEPS} steps, and names the next cause for the client to follow`, async () => {
    const long = Array.from({ length: 50 }, (_, i) => outcome("ledger", i + 1, "Post", i === 0 ? {} : { causationId: `ledger/${i}` }));
    const { readers, reads } = readersOf({ outcomes: long, events: [] });

    const chain = await walkChain("ledger/50", readers);

    expect(chain).toHaveLength(MAX_CHAIN_STEPS + 1);
    expect(chain.slice(0, MAX_CHAIN_STEPS).map((s) => s.ref)).toEqual(Array.from({ length: MAX_CHAIN_STEPS }, (_, i) => `ledger/${50 - i}`));
    expect(chain.at(-1)).toEqual({ kind: "more", ref: `ledger/${50 - MAX_CHAIN_STEPS}`, reason: expect.any(String) });
    expect(reads).toHaveLength(MAX_CHAIN_STEPS);
    expect(await walkChain("ledger/3", readers, 5)).toHaveLength(3);
  });
});
