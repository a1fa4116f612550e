// checkout: inventory's answer to a cart's reservation becomes the cart's
// ConfirmCheckout (→ checked-out) or FailCheckout with the reason (→ open
// again: the shopper can change the cart and try once more).
import { cartIdOfReservation, commands as cartCommands } from "../cart/decide.js";
import { commandTo } from "../decider.js";
import { isAggregateId } from "../envelope.js";
import { inventory } from "../inventory/index.js";
import type { InventoryEvent, Shortage } from "../inventory/state.js";
import { defineProcessManager } from "../process-managers/process-manager.js";

const toCart = commandTo("cart", cartCommands);

type Refusal = Extract<InventoryEvent, { type: "StockReservationRejected" }>["data"];

/** FailCheckout's `reason` holds at most this many characters. */
export const MAX_REASON_LENGTH = 500;

const shortageText = ({ sku, requested, available }: Shortage) => `${sku} (${requested} requested, ${available} available)`;

/** The shortages, as many as fit in `room` characters, and how many more there are. */
const listShortages = (shortages: readonly Shortage[], room: number): string => {
  const parts = shortages.map(shortageText);
  for (let shown = parts.length; shown > 0; shown--) {
    const more = parts.length - shown;
    const text = parts.slice(0, shown).join(", ") + (more > 0 ? ` and ${more} more` : "");
    if (text.length <= room) return text;
  }
  return `${parts.length} skus`;
};

/** Why the checkout failed, for the shopper: which skus are short, and by how much. */
export const reasonOf = (warehouse: string, refusal: Refusal): string => {
  switch (refusal.reason) {
    case "InsufficientStock": {
      const lead = `not enough stock in warehouse ${warehouse}: `;
      return lead + listShortages(refusal.shortages, MAX_REASON_LENGTH - lead.length);
    }
    case "TooManyReservations":
      return `warehouse ${warehouse} is holding as many reservations as it can; try again later`;
    case "ReservationExists":
      return `warehouse ${warehouse} already holds a reservation for this cart`;
    default: {
      const _exhaustive: never = refusal.reason;
      return `the reservation was refused (${String(_exhaustive)})`;
    }
  }
};

export const checkout = defineProcessManager({
  name: "checkout",
  from: [inventory],
  eventTypes: ["StockReserved", "StockReservationRejected"],
  react: (event) => {
    const { reservationId } = event.data;
    const cartId = cartIdOfReservation(reservationId);
    // Someone else's reservation (an administrator's, another service's): not a checkout.
    if (cartId === undefined || !isAggregateId(cartId)) return [];
    switch (event.type) {
      case "StockReserved":
        return [toCart("ConfirmCheckout", cartId, { reservationId })];
      case "StockReservationRejected":
        return [toCart("FailCheckout", cartId, { reservationId, reason: reasonOf(event.aggregateId, event.data) })];
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  },
});
