// Point-in-time state for any microservice: fold the log with its own evolve.
import { isDeepStrictEqual } from "node:util";
import { readSnapshot } from "./aggregates.js";
import type { AnyMicroservice } from "./decider.js";
import type { Store } from "./dynamo.js";
import { readLog } from "./events.js";
import type { EventRecord } from "./records.js";

/** Which past state: the log up to a version, or what had happened in the world by a time. */
export type PointInTime = { readonly version: number } | { readonly at: number };

export interface HistoricState {
  readonly state: unknown;
  /** The last version folded in. */
  readonly version: number;
  /** Events the log holds in all (the stream's current version, as far as this read saw). */
  readonly events: number;
}

/**
 * Folds the stream up to `version`, or — for `at` — every event whose
 * occurredAt is at or before it, in log order: a late-reported event counts at
 * the time it happened, yet stays where it was recorded.
 */
export const stateAt = async (
  store: Store,
  microservice: AnyMicroservice,
  streamId: string,
  point: PointInTime,
): Promise<HistoricState> => {
  const log = await readLog(store, streamId, "version" in point ? { upTo: point.version } : {});
  return foldAt(microservice, log, point);
};

/** The fold behind stateAt, over a log already read (in version order). */
export const foldAt = (
  microservice: Pick<AnyMicroservice, "evolve" | "initialState">,
  log: readonly Pick<EventRecord, "version" | "occurredAt" | "type" | "data">[],
  point: PointInTime,
): HistoricState => {
  const folded = "at" in point ? log.filter((event) => event.occurredAt <= point.at) : log.filter((event) => event.version <= point.version);
  return {
    state: folded.reduce(microservice.evolve as (state: unknown, event: unknown) => unknown, microservice.initialState),
    version: folded.at(-1)?.version ?? 0,
    events: log.at(-1)?.version ?? 0,
  };
};

export interface Difference {
  readonly path: string;
  readonly snapshot: unknown;
  readonly folded: unknown;
}

/** Where two JSON values differ, as dotted paths. */
export const differences = (snapshot: unknown, folded: unknown, path = ""): Difference[] => {
  if (isDeepStrictEqual(snapshot, folded)) return [];
  const bothObjects = typeof snapshot === "object" && snapshot !== null && typeof folded === "object" && folded !== null;
  if (!bothObjects || Array.isArray(snapshot) !== Array.isArray(folded)) return [{ path: path || "(root)", snapshot, folded }];
  const a = snapshot as Record<string, unknown>;
  const b = folded as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((key) => differences(a[key], b[key], path ? `${path}.${key}` : key));
};

export interface Verification {
  readonly agrees: boolean;
  readonly snapshotVersion: number;
  readonly foldedVersion: number;
  readonly differences: readonly Difference[];
}

/** Folds the whole stream and compares it with the stored snapshot: the check a person runs to trust it. */
export const verifySnapshot = async (store: Store, microservice: AnyMicroservice, streamId: string): Promise<Verification> => {
  // Snapshot first: it commits with its events, so every event up to its version is already in the log.
  const snapshot = await readSnapshot(store, streamId);
  const snapshotVersion = snapshot?.version ?? 0;
  const log = await readLog(store, streamId, { upTo: snapshotVersion });
  const folded = log.reduce(microservice.evolve, microservice.initialState);
  const foldedVersion = log.at(-1)?.version ?? 0;
  // A snapshot of another schema version is not comparable field by field: the sequencer rebuilds it.
  const comparable = snapshot === undefined || snapshot.schemaVersion === microservice.schemaVersion;
  const found = [
    ...(log.length === foldedVersion ? [] : [{ path: "log", snapshot: `versions 1..${foldedVersion}`, folded: `${log.length} events` }]),
    ...(snapshotVersion === foldedVersion ? [] : [{ path: "version", snapshot: snapshotVersion, folded: foldedVersion }]),
    ...(comparable
      ? differences(snapshot?.state ?? microservice.initialState, folded, "state")
      : [{ path: "schemaVersion", snapshot: snapshot.schemaVersion, folded: microservice.schemaVersion }]),
  ];
  return { agrees: found.length === 0, snapshotVersion, foldedVersion, differences: found };
};
