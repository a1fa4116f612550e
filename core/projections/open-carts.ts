// open-carts: each cart's status, owner and last activity, to find carts
// left open (the two-weeks reminder).
import type { Store } from "../dynamo.js";
import { defineProjection } from "./projection.js";
import { queryReadModels } from "./read-models.js";

export interface CartActivity {
  /** Only `open` carts can be idle: checking-out waits on inventory, the rest are done. */
  readonly status: "empty" | "open" | "checking-out" | "checked-out" | "closed";
  readonly owner?: string;
  /** The latest `occurredAt` of the cart's events, ms since epoch. */
  readonly lastActivityAt?: number;
}

export const openCarts = defineProjection<CartActivity>({
  name: "open-carts",
  microservice: "cart",
  eventTypes: ["CartOpened", "ItemAdded", "ItemRemoved", "CartClosed", "CheckoutStarted", "CheckoutConfirmed", "CheckoutFailed"],
  keyOf: (event) => event.aggregateId,
  initial: { status: "empty" },
  evolve: (model, event) => {
    // The latest, not the last: a command may carry an earlier client timestamp.
    const lastActivityAt = Math.max(model.lastActivityAt ?? event.occurredAt, event.occurredAt);
    switch (event.type) {
      case "CartOpened":
        return { status: "open", owner: (event.data as { owner: string }).owner, lastActivityAt };
      case "CartClosed":
        return { ...model, status: "closed", lastActivityAt };
      case "CheckoutStarted":
        return { ...model, status: "checking-out", lastActivityAt };
      case "CheckoutConfirmed":
        return { ...model, status: "checked-out", lastActivityAt };
      case "CheckoutFailed":
        return { ...model, status: "open", lastActivityAt };
      default:
        return { ...model, lastActivityAt };
    }
  },
});

export interface IdleCart {
  readonly cartId: string;
  readonly owner: string;
  readonly lastActivityAt: number;
}

/** Open carts with no activity after `cutoff` (ms since epoch), longest idle first. */
export const idleOpenCarts = async (store: Store, cutoff: number): Promise<IdleCart[]> => {
  const items = await queryReadModels(store, openCarts, {
    FilterExpression: "#model.#status = :open AND #model.#last <= :cutoff",
    ExpressionAttributeNames: { "#model": "model", "#status": "status", "#last": "lastActivityAt" },
    ExpressionAttributeValues: { ":open": "open", ":cutoff": cutoff },
  });
  return items
    .map((item) => ({ cartId: item.key, owner: item.model.owner ?? "", lastActivityAt: item.model.lastActivityAt ?? 0 }))
    .sort((a, b) => a.lastActivityAt - b.lastActivityAt || (a.cartId < b.cartId ? -1 : a.cartId > b.cartId ? 1 : 0));
};
