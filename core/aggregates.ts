import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { fold, type AnyMicroservice } from "./decider.js";
import type { Store } from "./dynamo.js";
import { readLog } from "./events.js";
import type { SnapshotRecord } from "./records.js";

/** An aggregate as the engine sees it: state, version, and the checkpoint of its command key. */
export interface Aggregate {
  readonly state: unknown;
  readonly version: number;
  readonly lastSeq: number;
}

/** The aggregate from its snapshot; a snapshot of another schema version is rebuilt from the log. */
export const fromSnapshot = async (
  store: Store,
  microservice: AnyMicroservice | undefined,
  streamId: string,
  snapshot: SnapshotRecord | undefined,
): Promise<Aggregate> => {
  if (!snapshot) return { state: microservice?.initialState, version: 0, lastSeq: 0 };
  if (!microservice || snapshot.schemaVersion === microservice.schemaVersion) return snapshot;
  const state = fold(microservice.evolve, microservice.initialState, await readLog(store, streamId));
  return { state, version: snapshot.version, lastSeq: snapshot.lastSeq };
};

export const readSnapshot = async (store: Store, streamId: string): Promise<SnapshotRecord | undefined> => {
  const result = await store.db.send(new GetCommand({ TableName: store.tables.snapshots, Key: { streamId }, ConsistentRead: true }));
  return result.Item as SnapshotRecord | undefined;
};

export const readAggregate = async (store: Store, microservice: AnyMicroservice, streamId: string): Promise<Aggregate> =>
  fromSnapshot(store, microservice, streamId, await readSnapshot(store, streamId));
