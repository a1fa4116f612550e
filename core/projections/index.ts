// What runs projections.
export { accepts, defineProjection, type AnyProjection, type Projection, type QueryRoute, type ReadModels } from "./projection.js";
export { applyToReadModel, emptyCheckpoint, GapError, type Applied, type Checkpointed, type FetchMissing } from "./apply.js";
export { ConcurrencyError, project, readModelCache, type KeyFailure, type ProjectResult, type ReadModelCache } from "./runner.js";
export { loadReadModel, queryReadModels, readModelsOf, resetProjection, type ReadModelFilter, type ReadModelItem } from "./read-models.js";
export {
  acceptsReplayInto,
  ensureGenerations,
  GENERATIONS,
  GENERATIONS_TTL_MS,
  generationsCache,
  inGeneration,
  initialGenerations,
  liveGenerations,
  loadGenerations,
  partitionOf,
  servingPartitions,
  versionOf,
  type Generation,
  type Generations,
} from "./generations.js";
