// The inventory's rules as specifications, and the bound its LIMITS put on a
// warehouse's snapshot.
import { describe, expect, it } from "vitest";
import { inventory, LIMITS, view, type InventoryCommand, type InventoryEvent, type InventoryState } from "../core/inventory/index.js";
import type { ReservationRefusal } from "../core/inventory/state.js";
import { deciderSpec } from "./support/decider-spec.js";
import {
  DYNAMODB_ITEM_LIMIT,
  fullWarehouse,
  MAX_LINE_QUANTITY,
  RESERVATION_ID_BYTES,
  SKU_BYTES,
  snapshotOf,
  textOf,
  utf8Bytes,
} from "./support/inventory-limits.js";

const { given } = deciderSpec(inventory, { now: 1_700_000_000_000, user: "service:cart", roles: ["service"], aggregateId: "main" });

const restock = (sku: string, quantity: number): InventoryCommand => ({ type: "Restock", data: { sku, quantity } });
const reserve = (reservationId: string, lines: { sku: string; quantity: number }[]): InventoryCommand => ({
  type: "ReserveStock",
  data: { reservationId, lines },
});
const release = (reservationId: string): InventoryCommand => ({ type: "ReleaseStock", data: { reservationId } });
const commit = (reservationId: string): InventoryCommand => ({ type: "CommitReservation", data: { reservationId } });

const restocked = (sku: string, quantity: number): InventoryEvent => ({ type: "StockRestocked", data: { sku, quantity } });
const reserved = (reservationId: string, lines: { sku: string; quantity: number }[]): InventoryEvent => ({
  type: "StockReserved",
  data: { reservationId, lines },
});
const refused = (
  reservationId: string,
  reason: ReservationRefusal,
  shortages: { sku: string; requested: number; available: number }[] = [],
): InventoryEvent => ({ type: "StockReservationRejected", data: { reservationId, reason, shortages } });
const released = (reservationId: string, lines: { sku: string; quantity: number }[]): InventoryEvent => ({
  type: "StockReleased",
  data: { reservationId, lines },
});
const committed = (reservationId: string, lines: { sku: string; quantity: number }[]): InventoryEvent => ({
  type: "StockCommitted",
  data: { reservationId, lines },
});

const stocked = [restocked("apple", 10), restocked("pear", 3)];
const appleAndPear = [
  { sku: "apple", quantity: 4 },
  { sku: "pear", quantity: 3 },
];
const holding = [...stocked, reserved("r-1", appleAndPear)];

describe("inventory: Restock", () => {
  it("puts a new sku on the shelf", () => {
    given([]).when(restock("apple", 10)).then([restocked("apple", 10)]);
    given([]).when(restock("apple", 10)).thenState({ skus: { apple: { onHand: 10, reserved: 0 } }, reservations: {} });
  });

  it("adds to a sku already stocked, reserved units untouched", () => {
    given(holding)
      .when(restock("apple", 5))
      .thenState({ skus: { apple: { onHand: 15, reserved: 4 }, pear: { onHand: 3, reserved: 3 } }, reservations: { "r-1": appleAndPear } });
  });

  it(`holds at most ${LIMITS.skus} skus: one more is WarehouseFull, more of one it holds is still fine`, () => {
    const full = Array.from({ length: LIMITS.skus }, (_, i) => restocked(`sku-${i}`, 1));

    given(full).when(restock("one-too-many", 1)).thenRejects("WarehouseFull");
    given(full).when(restock("sku-7", 2)).then([restocked("sku-7", 2)]);
    given(full.slice(1)).when(restock("the-last-one", 1)).then([restocked("the-last-one", 1)]);
  });

  it("refuses a quantity that is not a positive integer up to 1,000,000", () => {
    for (const quantity of [0, -1, 1.5, 1_000_001])
      expect(inventory.commands.Restock.safeParse({ sku: "apple", quantity }).success, `quantity ${quantity}`).toBe(false);
    expect(inventory.commands.Restock.safeParse({ sku: "apple", quantity: 1_000_000 }).success).toBe(true);
  });
});

describe("inventory: ReserveStock", () => {
  it("reserves every line when all are available", () => {
    given(stocked).when(reserve("r-1", appleAndPear)).then([reserved("r-1", appleAndPear)]);
    given(stocked)
      .when(reserve("r-1", appleAndPear))
      .thenState({ skus: { apple: { onHand: 10, reserved: 4 }, pear: { onHand: 3, reserved: 3 } }, reservations: { "r-1": appleAndPear } });
  });

  it("reserves nothing when one line is short, naming each short line and what is available", () => {
    const lines = [
      { sku: "apple", quantity: 4 },
      { sku: "pear", quantity: 4 },
      { sku: "plum", quantity: 1 },
    ];
    const shortages = [
      { sku: "pear", requested: 4, available: 3 },
      { sku: "plum", requested: 1, available: 0 },
    ];

    given(stocked).when(reserve("r-1", lines)).then([refused("r-1", "InsufficientStock", shortages)]);
    // Whole or nothing: the apples are not held either.
    given(stocked).when(reserve("r-1", lines)).thenState({ skus: { apple: { onHand: 10, reserved: 0 }, pear: { onHand: 3, reserved: 0 } }, reservations: {} });
  });

  it("counts what other reservations hold as unavailable", () => {
    given(holding).when(reserve("r-2", [{ sku: "apple", quantity: 6 }])).then([reserved("r-2", [{ sku: "apple", quantity: 6 }])]);
    given(holding)
      .when(reserve("r-2", [{ sku: "apple", quantity: 7 }]))
      .then([refused("r-2", "InsufficientStock", [{ sku: "apple", requested: 7, available: 6 }])]);
    given(holding)
      .when(reserve("r-2", [{ sku: "pear", quantity: 1 }]))
      .then([refused("r-2", "InsufficientStock", [{ sku: "pear", requested: 1, available: 0 }])]);
  });

  it("refuses a reservation id already open with an event, ReservationExists, so whoever asked hears of it; the open one stays", () => {
    given(holding).when(reserve("r-1", [{ sku: "apple", quantity: 1 }])).then([refused("r-1", "ReservationExists", [])]);
    given(holding).when(reserve("r-1", [{ sku: "apple", quantity: 1 }])).thenState({ skus: { apple: { onHand: 10, reserved: 4 }, pear: { onHand: 3, reserved: 3 } }, reservations: { "r-1": appleAndPear } });
  });

  it("takes a reservation id again once the reservation was released or committed", () => {
    const apple = [{ sku: "apple", quantity: 1 }];
    given([...holding, released("r-1", appleAndPear)]).when(reserve("r-1", apple)).then([reserved("r-1", apple)]);
    given([...holding, committed("r-1", appleAndPear)]).when(reserve("r-1", apple)).then([reserved("r-1", apple)]);
  });

  it(`holds at most ${LIMITS.reservations} reservations open: one more is refused TooManyReservations, as an event`, () => {
    const history = [
      restocked("apple", LIMITS.reservations + 1),
      ...Array.from({ length: LIMITS.reservations }, (_, i) => reserved(`r-${i}`, [{ sku: "apple", quantity: 1 }])),
    ];

    given(history).when(reserve("r-last", [{ sku: "apple", quantity: 1 }])).then([refused("r-last", "TooManyReservations")]);
    given(history.slice(0, -1)).when(reserve("r-last", [{ sku: "apple", quantity: 1 }])).then([reserved("r-last", [{ sku: "apple", quantity: 1 }])]);
  });

  it(`holds at most ${LIMITS.reservedLines} reserved lines: a reservation past it is refused TooManyReservations`, () => {
    const skus = Array.from({ length: LIMITS.skus }, (_, i) => `sku-${i}`);
    const hundred = (from: number) => skus.slice(from, from + LIMITS.linesPerReservation).map((sku) => ({ sku, quantity: 1 }));
    const reservations = LIMITS.reservedLines / LIMITS.linesPerReservation;
    const history = [
      ...skus.map((sku) => restocked(sku, 2)),
      ...Array.from({ length: reservations - 1 }, (_, r) => reserved(`r-${r}`, hundred(r * LIMITS.linesPerReservation))),
    ];
    const last = hundred((reservations - 1) * LIMITS.linesPerReservation);

    given(history).when(reserve("r-last", last)).then([reserved("r-last", last)]);
    given([...history, reserved("r-one", [{ sku: "sku-0", quantity: 1 }])])
      .when(reserve("r-last", last))
      .then([refused("r-last", "TooManyReservations")]);
  });

  it("refuses lines the schema does not allow: none, over 100, a sku twice", () => {
    const parse = (lines: unknown) => inventory.commands.ReserveStock.safeParse({ reservationId: "r-1", lines }).success;

    expect(parse([])).toBe(false);
    expect(parse(Array.from({ length: LIMITS.linesPerReservation + 1 }, (_, i) => ({ sku: `s-${i}`, quantity: 1 })))).toBe(false);
    expect(parse(Array.from({ length: LIMITS.linesPerReservation }, (_, i) => ({ sku: `s-${i}`, quantity: 1 })))).toBe(true);
    expect(parse([{ sku: "apple", quantity: 1 }, { sku: "apple", quantity: 2 }])).toBe(false);
  });
});

describe("inventory: ReleaseStock", () => {
  it("gives the reserved units back, and closes the reservation", () => {
    given(holding).when(release("r-1")).then([released("r-1", appleAndPear)]);
    given(holding)
      .when(release("r-1"))
      .thenState({ skus: { apple: { onHand: 10, reserved: 0 }, pear: { onHand: 3, reserved: 0 } }, reservations: {} });
  });

  it("releases only an open reservation: ReservationNotFound", () => {
    given(stocked).when(release("r-1")).thenRejects("ReservationNotFound");
    given([...holding, released("r-1", appleAndPear)]).when(release("r-1")).thenRejects("ReservationNotFound");
    given([...holding, committed("r-1", appleAndPear)]).when(release("r-1")).thenRejects("ReservationNotFound");
  });
});

describe("inventory: CommitReservation", () => {
  it("takes the reserved units off the shelf, and closes the reservation", () => {
    given(holding).when(commit("r-1")).then([committed("r-1", appleAndPear)]);
    given(holding)
      .when(commit("r-1"))
      .thenState({ skus: { apple: { onHand: 6, reserved: 0 }, pear: { onHand: 0, reserved: 0 } }, reservations: {} });
  });

  it("commits only an open reservation: ReservationNotFound", () => {
    given(stocked).when(commit("r-1")).thenRejects("ReservationNotFound");
    given([...holding, committed("r-1", appleAndPear)]).when(commit("r-1")).thenRejects("ReservationNotFound");
    given([...holding, released("r-1", appleAndPear)]).when(commit("r-1")).thenRejects("ReservationNotFound");
  });
});

describe("inventory: roles", () => {
  it("moves stock only for services and administrators", () => {
    for (const command of Object.keys(inventory.commands)) expect(inventory.roles?.[command as keyof typeof inventory.commands]).toEqual(["service", "admin"]);
  });
});

describe("inventory: view", () => {
  it("lists skus in order with what is available, and the open reservations", () => {
    const state: InventoryState = { skus: { pear: { onHand: 3, reserved: 3 }, apple: { onHand: 10, reserved: 4 } }, reservations: { "r-1": appleAndPear } };

    expect(view("main", state, 3)).toEqual({
      warehouse: "main",
      version: 3,
      skus: [
        { sku: "apple", onHand: 10, reserved: 4, available: 6 },
        { sku: "pear", onHand: 3, reserved: 3, available: 0 },
      ],
      reservations: [{ reservationId: "r-1", lines: appleAndPear }],
    });
  });
});

describe("inventory: the snapshot of a full warehouse", () => {
  const state = fullWarehouse();

  it("is at every limit, so the decider lets it grow no further", () => {
    const reservedLines = Object.values(state.reservations).reduce((sum, lines) => sum + lines.length, 0);
    expect([Object.keys(state.skus).length, Object.keys(state.reservations).length, reservedLines]).toEqual([
      LIMITS.skus,
      LIMITS.reservations,
      LIMITS.reservedLines,
    ]);
    expect(Object.keys(state.skus).every((sku) => Buffer.byteLength(sku) === SKU_BYTES)).toBe(true);
    expect(Object.keys(state.reservations).every((id) => Buffer.byteLength(id) === RESERVATION_ID_BYTES)).toBe(true);
    // The longest names and the largest line quantity are what the schemas still accept.
    const [sku] = Object.keys(state.skus);
    const [reservationId] = Object.keys(state.reservations);
    expect(inventory.commands.ReserveStock.safeParse({ reservationId, lines: [{ sku, quantity: MAX_LINE_QUANTITY }] }).success).toBe(true);

    const context = { now: 0, user: "admin", roles: ["admin"], aggregateId: "main" };
    expect(inventory.decide(restock(textOf(LIMITS.skus, SKU_BYTES), 1), state, context)).toMatchObject({ reason: "WarehouseFull" });
    expect(inventory.decide(reserve("one-more", [{ sku: sku!, quantity: 1 }]), state, context)).toEqual([refused("one-more", "TooManyReservations")]);
  });

  it("stays well under DynamoDB's 400 KB item limit (at most 300 KB of JSON)", () => {
    const bytes = utf8Bytes(snapshotOf(state));

    console.log(
      `inventory snapshot at LIMITS (${LIMITS.skus} skus of ${SKU_BYTES} bytes, ${LIMITS.reservations} reservations of ${RESERVATION_ID_BYTES} bytes, ` +
        `${LIMITS.reservedLines} reserved lines): ${bytes} bytes of JSON, ${((bytes / DYNAMODB_ITEM_LIMIT) * 100).toFixed(1)}% of 400 KB`,
    );
    expect(bytes).toBeLessThanOrEqual(300 * 1024);
  });

  it("stays under it with names of multi-byte characters too: the schemas bound names in UTF-8 bytes", () => {
    // 64 characters of '€' are 192 bytes: a bound in characters would let a warehouse grow past 400 KB.
    const euro = textOf(1, SKU_BYTES, "€");
    const longest = fullWarehouse({ fill: "€" });

    expect(Buffer.byteLength(euro)).toBe(SKU_BYTES);
    expect(inventory.commands.Restock.safeParse({ sku: euro, quantity: 1 }).success).toBe(true);
    expect(inventory.commands.Restock.safeParse({ sku: "€".repeat(SKU_BYTES / 2), quantity: 1 }).success).toBe(false);
    expect(inventory.commands.ReleaseStock.safeParse({ reservationId: "€".repeat(RESERVATION_ID_BYTES / 2) }).success).toBe(false);
    expect(utf8Bytes(snapshotOf(longest))).toBeLessThanOrEqual(300 * 1024);
  });
});
