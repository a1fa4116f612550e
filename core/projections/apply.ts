// How events fold into one read-model item, free of I/O: the item keeps the
// last version applied per stream, so a duplicate is skipped and a gap is
// filled (from `fetchMissing`) before the event after it is applied.
import type { EventRecord } from "../records.js";
import { accepts, type Projection } from "./projection.js";

export interface Checkpointed<M> {
  /** The last version applied (or stepped over) per stream. */
  readonly versions: Readonly<Record<string, number>>;
  readonly model: M;
}

/** Versions `after + 1` … `before - 1` of a stream, in order. */
export type FetchMissing = (streamId: string, after: number, before: number) => Promise<readonly EventRecord[]>;

export interface Applied<M> extends Checkpointed<M> {
  /** Events folded into the model, gap fillers included. */
  readonly applied: number;
  /** Deliveries already applied. */
  readonly skipped: number;
  /** Events read to fill gaps. */
  readonly filled: number;
  /** True when any version advanced: the item must be written. */
  readonly changed: boolean;
}

/** The events log did not hold the versions a gap needs (yet): the delivery must be retried. */
export class GapError extends Error {}

export const emptyCheckpoint = <M>(projection: Projection<M, any>): Checkpointed<M> => ({ versions: {}, model: projection.initial });

export const applyToReadModel = async <M>(
  projection: Projection<M, any>,
  key: string,
  current: Checkpointed<M>,
  events: readonly EventRecord[],
  fetchMissing: FetchMissing,
): Promise<Applied<M>> => {
  const versions: Record<string, number> = { ...current.versions };
  let model = current.model;
  let applied = 0;
  let skipped = 0;
  let filled = 0;

  // Every version advances the checkpoint; only this item's events of the
  // projection's types change the model (a stream may feed several items).
  const step = (event: EventRecord) => {
    versions[event.streamId] = event.version;
    if (accepts(projection, event) && projection.keyOf(event) === key) {
      model = projection.evolve(model, event);
      applied++;
    }
  };

  for (const event of events) {
    const last = versions[event.streamId] ?? 0;
    if (event.version <= last) {
      skipped++;
      continue;
    }
    if (event.version > last + 1) {
      const missing = await fetchMissing(event.streamId, last, event.version);
      const expected = event.version - 1 - last;
      if (missing.length !== expected || missing.some((m, i) => m.streamId !== event.streamId || m.version !== last + 1 + i))
        throw new GapError(
          `${projection.name}/${key}: ${event.streamId} needs versions ${last + 1}..${event.version - 1} before ${event.version}; the log returned ${missing.map((m) => m.version).join(",") || "none"}`,
        );
      for (const m of missing) step(m);
      filled += missing.length;
    }
    step(event);
  }
  const changed = Object.entries(versions).some(([streamId, version]) => version !== current.versions[streamId]);
  return { versions, model, applied, skipped, filled, changed };
};
