// Projection specs in the shape of Emmett's: a log of events in, one read
// model out — and the same read model however the events are delivered:
// in order, every event twice, reversed, shuffled, in batches of any size.
import { expect } from "vitest";
import { accepts, applyToReadModel, emptyCheckpoint, type Checkpointed, type FetchMissing, type Projection } from "../../core/projections/index.js";
import type { EventRecord } from "../../core/records.js";
import { shuffled } from "./projection-records.js";

/** Reads gaps from `log` as the events table would, and counts the reads. */
export const logReader = (log: readonly EventRecord[]): FetchMissing & { calls: number } => {
  const fetch = async (streamId: string, after: number, before: number) => {
    fetch.calls++;
    return log.filter((e) => e.streamId === streamId && e.version > after && e.version < before).sort((a, b) => a.version - b.version);
  };
  fetch.calls = 0;
  return fetch;
};

/** Applies each batch in turn to one item, as successive invocations would. */
export const deliverBatches = async <M>(
  projection: Projection<M>,
  key: string,
  batches: readonly (readonly EventRecord[])[],
  fetchMissing: FetchMissing,
  start: Checkpointed<M> = emptyCheckpoint(projection),
): Promise<Checkpointed<M>> => {
  let item = start;
  for (const batch of batches) {
    const { versions, model } = await applyToReadModel(projection, key, item, batch, fetchMissing);
    item = { versions, model };
  }
  return item;
};

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));

/** Ways to deliver `events`: each a list of batches. */
export const deliveries = (events: readonly EventRecord[]): Record<string, EventRecord[][]> => {
  const twice = events.flatMap((e) => [e, e]);
  return {
    "in order, once": [[...events]],
    "every event twice, one batch": [twice],
    "every event twice, reversed, one at a time": chunks([...twice].reverse(), 1),
    ...Object.fromEntries(
      [1, 2, 3, 4, 5].map((seed) => [`every event twice, shuffled (seed ${seed}), batches of ${seed}`, chunks(shuffled(twice, seed), seed)]),
    ),
  };
};

export const projectionSpec = <M>(projection: Projection<M>) => ({
  given: (log: readonly EventRecord[]) => ({
    /** Item `key` folds to `expected`, and every way of delivering its events gives the same item. */
    then: async (key: string, expected: M) => {
      const mine = log.filter((e) => accepts(projection, e) && projection.keyOf(e) === key);
      const reference = await deliverBatches(projection, key, [mine], logReader(log));
      expect(reference.model).toEqual(expected);
      for (const [how, batches] of Object.entries(deliveries(mine)))
        expect(await deliverBatches(projection, key, batches, logReader(log)), how).toEqual(reference);
    },
  }),
});
