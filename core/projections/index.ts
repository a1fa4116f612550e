// Every projection the engine runs, by the name the topology gives it.
import type { ProjectionName } from "../topology.js";
import { cartSummary } from "./cart-summary.js";
import { openCarts } from "./open-carts.js";
import type { Projection } from "./projection.js";

export const projections: Readonly<Record<ProjectionName, Projection<any>>> = {
  "cart-summary": cartSummary,
  "open-carts": openCarts,
};

export { cartSummary, cartsOf, summaryOf, type CartSummary } from "./cart-summary.js";
export { openCarts, idleOpenCarts, type CartActivity, type IdleCart } from "./open-carts.js";
export { accepts, defineProjection, type Projection } from "./projection.js";
export { applyToReadModel, emptyCheckpoint, GapError, type Applied, type Checkpointed, type FetchMissing } from "./apply.js";
export { ConcurrencyError, project, type KeyFailure, type ProjectResult } from "./runner.js";
export { loadReadModel, queryReadModels, resetProjection, type ReadModelItem } from "./read-models.js";
