import { z } from "zod";
import { reject, type CommandOf, type DecideContext, type Decision } from "../decider.js";
import { availableOf, type InventoryEvent, type InventoryState, type Shortage } from "./state.js";

/**
 * Bounds that keep a warehouse's snapshot, one DynamoDB item, well under the
 * 400 KB item limit (test/inventory.unit.test.ts measures the worst case).
 */
export const LIMITS = {
  /** Distinct skus a warehouse holds; a Restock of one more is rejected `WarehouseFull`. */
  skus: 1_000,
  /** Reservations open at once; one more is refused `TooManyReservations`. */
  reservations: 250,
  /** Lines across all open reservations; past it a reservation is refused `TooManyReservations`. */
  reservedLines: 1_000,
  /** Lines in one reservation. */
  linesPerReservation: 100,
} as const;

const utf8 = new TextEncoder();

/**
 * Text bounded in UTF-8 bytes, as DynamoDB counts an item's size: a bound in
 * characters would let 64 characters of '€' (192 bytes) into every sku, and a
 * full warehouse past the 400 KB item limit.
 */
const text = (maxBytes: number) =>
  z.string().min(1).refine((value) => utf8.encode(value).length <= maxBytes, `must be at most ${maxBytes} bytes of UTF-8`);

/** A sku, the same wherever one is named (the cart's lines become reservation lines). */
export const sku = text(64);
/** The most units one line (a restock, a reservation line, a cart line) may hold. */
export const MAX_QUANTITY = 1_000_000;
const quantity = z.number().int("must be an integer").positive("must be positive").max(MAX_QUANTITY, "must be at most 1,000,000");
const reservationId = text(128);

export const commands = {
  Restock: z.strictObject({ sku, quantity }),
  ReserveStock: z.strictObject({
    reservationId,
    lines: z
      .array(z.strictObject({ sku, quantity }))
      .min(1, "must hold at least one line")
      .max(LIMITS.linesPerReservation, `must hold at most ${LIMITS.linesPerReservation} lines`)
      .refine((lines) => new Set(lines.map((l) => l.sku)).size === lines.length, "must name each sku once"),
  }),
  ReleaseStock: z.strictObject({ reservationId }),
  /** The reserved goods left the warehouse (a checkout was confirmed). */
  CommitReservation: z.strictObject({ reservationId }),
};

export type InventoryCommand = CommandOf<typeof commands>;

/** Stock moves only for services and administrators. */
export const roles = {
  Restock: ["service", "admin"],
  ReserveStock: ["service", "admin"],
  ReleaseStock: ["service", "admin"],
  CommitReservation: ["service", "admin"],
} as const;

const reservedLineCount = (state: InventoryState) =>
  Object.values(state.reservations).reduce((sum, lines) => sum + lines.length, 0);

export const decide = (command: InventoryCommand, state: InventoryState, context: DecideContext): Decision<InventoryEvent> => {
  switch (command.type) {
    case "Restock":
      if (!(command.data.sku in state.skus) && Object.keys(state.skus).length >= LIMITS.skus)
        return reject("WarehouseFull", `warehouse ${context.aggregateId} holds ${LIMITS.skus} skus, the most one warehouse may; stock ${command.data.sku} in another`);
      return [{ type: "StockRestocked", data: command.data }];
    case "ReserveStock": {
      const { reservationId, lines } = command.data;
      if (reservationId in state.reservations)
        // An event, not a rejection, like every refusal of a reservation: whoever asked (a checkout) must hear of it.
        return [{ type: "StockReservationRejected", data: { reservationId, reason: "ReservationExists", shortages: [] } }];
      if (Object.keys(state.reservations).length >= LIMITS.reservations || reservedLineCount(state) + lines.length > LIMITS.reservedLines)
        return [{ type: "StockReservationRejected", data: { reservationId, reason: "TooManyReservations", shortages: [] } }];
      const shortages: Shortage[] = lines
        .map((line) => ({ sku: line.sku, requested: line.quantity, available: Math.max(0, availableOf(state, line.sku)) }))
        .filter((line) => line.available < line.requested);
      // Whole or nothing: one short line refuses the reservation.
      if (shortages.length) return [{ type: "StockReservationRejected", data: { reservationId, reason: "InsufficientStock", shortages } }];
      return [{ type: "StockReserved", data: { reservationId, lines } }];
    }
    case "ReleaseStock":
    case "CommitReservation": {
      const lines = state.reservations[command.data.reservationId];
      if (!lines)
        return reject("ReservationNotFound", `no open reservation ${command.data.reservationId} in warehouse ${context.aggregateId}`);
      const type = command.type === "ReleaseStock" ? "StockReleased" : "StockCommitted";
      return [{ type, data: { reservationId: command.data.reservationId, lines } }];
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
};
