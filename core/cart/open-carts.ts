// open-carts: each cart's status, owner and last activity, to find carts
// left open (the two-weeks reminder).
import { ValidationError } from "../errors.js";
import { parseDuration } from "../iso8601.js";
import { defineProjection, type ReadModels } from "../projections/projection.js";
import { cart } from "./index.js";
import { cartEventTypes } from "./state.js";

export interface CartActivity {
  /** Only `open` carts can be idle: checking-out waits on inventory, the rest are done. */
  readonly status: "empty" | "open" | "checking-out" | "checked-out" | "closed";
  readonly owner?: string;
  /** The latest `occurredAt` of the cart's events, ms since epoch. */
  readonly lastActivityAt?: number;
}

export interface IdleCart {
  readonly cartId: string;
  readonly owner: string;
  readonly lastActivityAt: number;
}

/** Open carts with no activity after `cutoff` (ms since epoch), longest idle first. */
export const idleOpenCarts = async (readModels: ReadModels<CartActivity>, cutoff: number): Promise<IdleCart[]> => {
  const items = await readModels.query({
    FilterExpression: "#model.#status = :open AND #model.#last <= :cutoff",
    ExpressionAttributeNames: { "#model": "model", "#status": "status", "#last": "lastActivityAt" },
    ExpressionAttributeValues: { ":open": "open", ":cutoff": cutoff },
  });
  return items
    .map((item) => ({ cartId: item.key, owner: item.model.owner ?? "", lastActivityAt: item.model.lastActivityAt ?? 0 }))
    .sort((a, b) => a.lastActivityAt - b.lastActivityAt || (a.cartId < b.cartId ? -1 : a.cartId > b.cartId ? 1 : 0));
};

const known = new Set(["status", "idleFor"]);
const noActivity: CartActivity = { status: "empty" };

export const openCarts = defineProjection({
  name: "open-carts",
  from: [cart],
  eventTypes: cartEventTypes,
  keyOf: (event) => event.aggregateId,
  initial: noActivity,
  evolve: (model, event): CartActivity => {
    // The latest, not the last: a command may carry an earlier client timestamp.
    const lastActivityAt = Math.max(model.lastActivityAt ?? event.occurredAt, event.occurredAt);
    switch (event.type) {
      case "CartOpened":
        return { status: "open", owner: event.data.owner, lastActivityAt };
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
  routes: [
    {
      // GET /carts?status=open&idleFor=P14D: open carts idle for at least that long, longest idle first.
      path: "/carts",
      answer: async ({ query, now, readModels }) => {
        const unknown = Object.keys(query).filter((name) => !known.has(name));
        if (unknown.length > 0) throw new ValidationError(unknown.map((field) => ({ field, rule: "is not a known parameter; known: status, idleFor" })));
        if (query.status !== "open")
          throw new ValidationError([
            { field: "status", rule: query.status === undefined ? "is required: status=open" : `only 'open' is supported, not '${query.status}'` },
          ]);
        const idle = query.idleFor === undefined ? { ms: 0 } : parseDuration(query.idleFor);
        if ("error" in idle) throw new ValidationError([{ field: "idleFor", rule: idle.error }]);
        const carts = await idleOpenCarts(readModels, now - idle.ms);
        return {
          statusCode: 200,
          body: { carts: carts.map((c) => ({ cartId: c.cartId, owner: c.owner, lastActivityAt: new Date(c.lastActivityAt).toISOString() })) },
        };
      },
    },
  ],
});
