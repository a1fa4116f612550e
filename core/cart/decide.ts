import { z } from "zod";
import { commandTo, emit, reject, type CommandOf, type DecideContext, type Decision } from "../decider.js";
import { aggregateId } from "../envelope.js";
import { commands as inventoryCommands, LIMITS as INVENTORY_LIMITS, MAX_QUANTITY, sku } from "../inventory/decide.js";
import { DEFAULT_CURRENCY, totalOf, type CartEvent, type CartState } from "./state.js";

const toInventory = commandTo("inventory", inventoryCommands);

/** The warehouse a checkout reserves from when the shopper names none. */
export const DEFAULT_WAREHOUSE = "main";

/**
 * The reservation a cart's checkout asks inventory for. One per cart: a
 * refused reservation leaves nothing behind and a confirmed one closes the
 * cart for good, so retries can reuse it; the checkout process manager reads
 * the cart back out of it.
 */
export const reservationIdOf = (cartId: string) => `cart:${cartId}`;
export const cartIdOfReservation = (reservationId: string) =>
  reservationId.startsWith("cart:") ? reservationId.slice("cart:".length) : undefined;

const quantity = z.number().int().positive();

export const commands = {
  OpenCart: z.strictObject({}),
  AddItem: z.strictObject({
    sku,
    quantity,
    unitPrice: z.number().int().nonnegative(),
    currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code: 3 uppercase letters").default(DEFAULT_CURRENCY),
  }),
  RemoveItem: z.strictObject({ sku, quantity: quantity.optional() }),
  CloseCart: z.strictObject({}),
  /** Close the cart by buying it: inventory reserves its lines first. */
  Checkout: z.strictObject({
    // Inventory's aggregate id: what the API would accept for the ReserveStock it sends.
    warehouse: aggregateId.optional(),
  }),
  ConfirmCheckout: z.strictObject({ reservationId: z.string().min(1).max(128) }),
  FailCheckout: z.strictObject({ reservationId: z.string().min(1).max(128), reason: z.string().min(1).max(500) }),
};

/** Only services (the checkout process manager) answer a checkout. */
export const roles = {
  ConfirmCheckout: ["service"],
  FailCheckout: ["service"],
} as const;

export type CartCommand = CommandOf<typeof commands>;

const notOpen = (state: CartState) => {
  switch (state.status) {
    case "empty":
      return reject("CartNotOpened", "the cart has not been opened");
    case "checking-out":
      return reject("CheckoutInProgress", "the cart is being checked out; wait for the checkout to finish");
    case "checked-out":
      return reject("CartCheckedOut", "the cart is checked out");
    default:
      return reject("CartClosed", "the cart is closed");
  }
};

/** Commands only the cart's owner may send. */
const ownerOnly = new Set<CartCommand["type"]>(["AddItem", "RemoveItem", "CloseCart", "Checkout"]);

export const decide = (command: CartCommand, state: CartState, context: DecideContext): Decision<CartEvent> => {
  if (ownerOnly.has(command.type) && state.status !== "empty" && state.owner !== context.user)
    return reject("Forbidden", `only the cart's owner may ${command.type} on cart ${context.aggregateId}`);
  switch (command.type) {
    case "OpenCart":
      if (state.status !== "empty") return reject("CartAlreadyOpened", `cart ${context.aggregateId} is already opened`);
      return [{ type: "CartOpened", data: { owner: context.user } }];
    case "AddItem": {
      if (state.status !== "open") return notOpen(state);
      // A cart must stay one a checkout can reserve: inventory's bounds apply
      // here, with a reason the shopper understands, and keep the snapshot small.
      const line = state.items.find((item) => item.sku === command.data.sku);
      if (!line && state.items.length >= INVENTORY_LIMITS.linesPerReservation)
        return reject("CartFull", `a cart holds at most ${INVENTORY_LIMITS.linesPerReservation} different items`);
      if ((line?.quantity ?? 0) + command.data.quantity > MAX_QUANTITY)
        return reject("TooManyOfOneItem", `a cart holds at most ${MAX_QUANTITY} of ${command.data.sku}`);
      // One currency per cart, so its total is a sum.
      const currency = state.items[0]?.currency;
      if (currency !== undefined && command.data.currency !== currency)
        return reject("CurrencyMismatch", `the cart is in ${currency}; ${command.data.sku} cannot be added in ${command.data.currency}`);
      return [{ type: "ItemAdded", data: command.data }];
    }
    case "RemoveItem": {
      if (state.status !== "open") return notOpen(state);
      const line = state.items.find((item) => item.sku === command.data.sku);
      if (!line) return reject("ItemNotInCart", `${command.data.sku} is not in the cart`);
      const removing = command.data.quantity ?? line.quantity;
      if (removing > line.quantity)
        return reject("NotEnoughInCart", `cannot remove ${removing} of ${command.data.sku}: the cart holds ${line.quantity}`);
      return [{ type: "ItemRemoved", data: { sku: line.sku, quantity: removing } }];
    }
    case "CloseCart":
      if (state.status !== "open") return notOpen(state);
      return [{ type: "CartClosed", data: { total: totalOf(state.items) } }];
    case "Checkout": {
      if (state.status !== "open") return notOpen(state);
      if (state.items.length === 0) return reject("CartEmpty", "an empty cart cannot be checked out");
      if (state.items.length > INVENTORY_LIMITS.linesPerReservation)
        return reject("TooManyLines", `a checkout may hold at most ${INVENTORY_LIMITS.linesPerReservation} lines, not ${state.items.length}`);
      const reservationId = reservationIdOf(context.aggregateId);
      const warehouse = command.data.warehouse ?? DEFAULT_WAREHOUSE;
      return emit(
        [{ type: "CheckoutStarted", data: { reservationId, warehouse, total: totalOf(state.items) } }],
        toInventory("ReserveStock", warehouse, { reservationId, lines: state.items.map(({ sku, quantity }) => ({ sku, quantity })) }),
      );
    }
    case "ConfirmCheckout":
    case "FailCheckout": {
      if (state.status !== "checking-out" || state.reservationId !== command.data.reservationId)
        return reject("NotCheckingOut", `cart ${context.aggregateId} is not waiting for reservation ${command.data.reservationId}`);
      if (command.type === "FailCheckout")
        return [{ type: "CheckoutFailed", data: { reservationId: state.reservationId, reason: command.data.reason } }];
      // The goods are the shopper's: inventory takes them off the shelf, in the same transaction.
      return emit(
        [{ type: "CheckoutConfirmed", data: { reservationId: state.reservationId, total: totalOf(state.items) } }],
        toInventory("CommitReservation", state.warehouse, { reservationId: state.reservationId }),
      );
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
};
