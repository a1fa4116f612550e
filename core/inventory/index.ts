import { defineMicroservice } from "../decider.js";
import { commands, decide, roles } from "./decide.js";
import { evolve, initialState, type InventoryState } from "./state.js";

/** The public shape of a warehouse, as GET /inventory/{warehouse} answers it. */
export const view = (warehouse: string, state: InventoryState, version: number) => ({
  warehouse,
  version,
  skus: Object.entries(state.skus)
    .map(([sku, stock]) => ({ sku, onHand: stock.onHand, reserved: stock.reserved, available: stock.onHand - stock.reserved }))
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0)),
  reservations: Object.entries(state.reservations).map(([reservationId, lines]) => ({ reservationId, lines })),
});

/**
 * Stock per warehouse (the aggregate). Keyed per microservice: one command
 * key, so one total order, for all of inventory.
 */
export const inventory = defineMicroservice({
  name: "inventory",
  partitionBy: "microservice",
  schemaVersion: 1,
  commands,
  roles,
  initialState,
  decide,
  evolve,
  // Every warehouse "exists" with no stock; one that never had an event is more likely a typo.
  view: { path: "/inventory/{warehouse}", render: (warehouse, state, version) => (version === 0 ? undefined : view(warehouse, state, version)), noun: "warehouse" },
});

export { LIMITS } from "./decide.js";
export type { InventoryState, InventoryEvent, StockLine, Shortage } from "./state.js";
export type { InventoryCommand } from "./decide.js";
