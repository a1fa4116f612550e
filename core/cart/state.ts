import type { Message } from "../decider.js";

export interface CartLine {
  readonly sku: string;
  readonly quantity: number;
  /** Integer cents (hundredths of `currency`). */
  readonly unitPrice: number;
  /** ISO 4217: every line of a cart has the same one. */
  readonly currency: string;
}

/** What a cart's currency is when nobody says: every cart was in euros before lines carried one. */
export const DEFAULT_CURRENCY = "EUR";

/** ItemAdded as written before lines carried a currency (typeVersion 1). */
export type ItemAddedV1 = Omit<CartLine, "currency">;

/** ItemAdded's steps from older versions to the current one (2). */
export const upcasters = {
  ItemAdded: [(v1: ItemAddedV1): CartLine => ({ ...v1, currency: DEFAULT_CURRENCY })],
} as const;

interface Owned {
  readonly owner: string;
  readonly items: readonly CartLine[];
}

export type CartState =
  | { readonly status: "empty" }
  | ({ readonly status: "open" } & Owned)
  /** Waiting for inventory to reserve the lines; nothing can change meanwhile. */
  | ({ readonly status: "checking-out"; readonly reservationId: string; readonly warehouse: string } & Owned)
  | ({ readonly status: "checked-out"; readonly total: number } & Owned)
  | ({ readonly status: "closed"; readonly total: number } & Owned);

export type CartEvent =
  | Message<"CartOpened", { readonly owner: string }>
  | Message<"ItemAdded", CartLine>
  | Message<"ItemRemoved", { readonly sku: string; readonly quantity: number }>
  | Message<"CartClosed", { readonly total: number }>
  | Message<"CheckoutStarted", { readonly reservationId: string; readonly warehouse: string; readonly total: number }>
  | Message<"CheckoutConfirmed", { readonly reservationId: string; readonly total: number }>
  | Message<"CheckoutFailed", { readonly reservationId: string; readonly reason: string }>;

export const initialState: CartState = { status: "empty" };

/** Every event type of a cart: what a projection of the whole cart follows. */
export const cartEventTypes = ["CartOpened", "ItemAdded", "ItemRemoved", "CartClosed", "CheckoutStarted", "CheckoutConfirmed", "CheckoutFailed"] as const satisfies readonly CartEvent["type"][];

export const totalOf = (items: readonly CartLine[]): number =>
  items.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);

/** What an opened cart comes to: fixed once closed or checked out, else the sum of its lines. */
export const cartTotal = (state: Exclude<CartState, { status: "empty" }>): number =>
  "total" in state ? state.total : totalOf(state.items);

const addLine = (items: readonly CartLine[], added: CartLine): CartLine[] => {
  const existing = items.find((line) => line.sku === added.sku);
  if (!existing) return [...items, added];
  // The latest price applies to the whole line, as a shop's price list would.
  return items.map((line) =>
    line.sku === added.sku
      ? { sku: line.sku, quantity: line.quantity + added.quantity, unitPrice: added.unitPrice, currency: added.currency }
      : line,
  );
};

const removeLine = (items: readonly CartLine[], sku: string, quantity: number): CartLine[] =>
  items.flatMap((line) => {
    if (line.sku !== sku) return [line];
    const left = line.quantity - quantity;
    return left > 0 ? [{ ...line, quantity: left }] : [];
  });

export const evolve = (state: CartState, event: CartEvent): CartState => {
  switch (event.type) {
    case "CartOpened":
      return { status: "open", owner: event.data.owner, items: [] };
    case "ItemAdded":
      return state.status === "open" ? { ...state, items: addLine(state.items, event.data) } : state;
    case "ItemRemoved":
      return state.status === "open" ? { ...state, items: removeLine(state.items, event.data.sku, event.data.quantity) } : state;
    case "CartClosed":
      return state.status === "open" ? { status: "closed", owner: state.owner, items: state.items, total: event.data.total } : state;
    case "CheckoutStarted":
      return state.status === "open"
        ? { status: "checking-out", owner: state.owner, items: state.items, reservationId: event.data.reservationId, warehouse: event.data.warehouse }
        : state;
    case "CheckoutConfirmed":
      return state.status === "checking-out" ? { status: "checked-out", owner: state.owner, items: state.items, total: event.data.total } : state;
    case "CheckoutFailed":
      // Back to open: the shopper can change the cart and try again.
      return state.status === "checking-out" ? { status: "open", owner: state.owner, items: state.items } : state;
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};
