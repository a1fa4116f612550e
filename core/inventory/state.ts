import type { Message } from "../decider.js";

export interface StockLine {
  readonly sku: string;
  readonly quantity: number;
}

export interface Stock {
  readonly onHand: number;
  /** Units held by open reservations; what can still be reserved is onHand - reserved. */
  readonly reserved: number;
}

/** One warehouse: stock per sku and the reservations still open. */
export interface InventoryState {
  readonly skus: Readonly<Record<string, Stock>>;
  readonly reservations: Readonly<Record<string, readonly StockLine[]>>;
}

export interface Shortage {
  readonly sku: string;
  readonly requested: number;
  readonly available: number;
}

export type ReservationRefusal = "InsufficientStock" | "TooManyReservations" | "ReservationExists";

export type InventoryEvent =
  | Message<"StockRestocked", StockLine>
  | Message<"StockReserved", { readonly reservationId: string; readonly lines: readonly StockLine[] }>
  // A refused reservation is a fact of the log, not only a rejected command:
  // whoever asked for it (the checkout process manager) learns it from the event.
  | Message<"StockReservationRejected", { readonly reservationId: string; readonly reason: ReservationRefusal; readonly shortages: readonly Shortage[] }>
  | Message<"StockReleased", { readonly reservationId: string; readonly lines: readonly StockLine[] }>
  | Message<"StockCommitted", { readonly reservationId: string; readonly lines: readonly StockLine[] }>;

export const initialState: InventoryState = { skus: {}, reservations: {} };

const stockOf = (state: InventoryState, sku: string): Stock => state.skus[sku] ?? { onHand: 0, reserved: 0 };

export const availableOf = (state: InventoryState, sku: string): number => {
  const stock = stockOf(state, sku);
  return stock.onHand - stock.reserved;
};

/** Adds `onHand` and `reserved` deltas to each line's sku. */
const adjust = (state: InventoryState, lines: readonly StockLine[], onHand: number, reserved: number): Record<string, Stock> => {
  const skus = { ...state.skus };
  for (const line of lines) {
    const stock = skus[line.sku] ?? { onHand: 0, reserved: 0 };
    skus[line.sku] = { onHand: stock.onHand + onHand * line.quantity, reserved: stock.reserved + reserved * line.quantity };
  }
  return skus;
};

const without = <V>(record: Readonly<Record<string, V>>, key: string): Record<string, V> => {
  const { [key]: _removed, ...rest } = record;
  return rest;
};

export const evolve = (state: InventoryState, event: InventoryEvent): InventoryState => {
  switch (event.type) {
    case "StockRestocked":
      return { ...state, skus: adjust(state, [event.data], 1, 0) };
    case "StockReserved":
      return {
        skus: adjust(state, event.data.lines, 0, 1),
        reservations: { ...state.reservations, [event.data.reservationId]: event.data.lines },
      };
    case "StockReservationRejected":
      return state;
    case "StockReleased":
      return { skus: adjust(state, event.data.lines, 0, -1), reservations: without(state.reservations, event.data.reservationId) };
    case "StockCommitted":
      // The goods left the warehouse: off the shelf and out of the reservation.
      return { skus: adjust(state, event.data.lines, -1, -1), reservations: without(state.reservations, event.data.reservationId) };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};
