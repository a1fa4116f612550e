// The projections table: one item per (projection, key), holding the read
// model and its checkpoint (the last version applied per stream).
import { BatchWriteCommand, type BatchWriteCommandInput, GetCommand, paginateQuery, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { setTimeout as sleep } from "node:timers/promises";
import { queryAll, type Store } from "../dynamo.js";
import type { Checkpointed } from "./apply.js";
import { servingPartitions } from "./generations.js";
import type { Projection, ReadModels } from "./projection.js";

/** An item of the projections table. */
export interface ReadModelItem<M> extends Checkpointed<M> {
  readonly projection: string;
  readonly key: string;
  /** Bumped by every write: the optimistic-concurrency token. */
  readonly revision: number;
}

export const loadReadModel = async <M>(store: Store, projection: Pick<Projection<M, any>, "name">, key: string): Promise<ReadModelItem<M> | undefined> => {
  const { Item } = await store.db.send(
    new GetCommand({ TableName: store.tables.projections, Key: { projection: projection.name, key }, ConsistentRead: true }),
  );
  return Item as ReadModelItem<M> | undefined;
};

/** A DynamoDB filter over a projection's items: their fields are `key` and `model`. */
export type ReadModelFilter = Pick<QueryCommandInput, "FilterExpression" | "ExpressionAttributeNames" | "ExpressionAttributeValues">;

/** Every item of a projection, a page at a time; `filter` narrows what DynamoDB returns. */
export const queryReadModels = async <M>(
  store: Store,
  projection: Pick<Projection<M, any>, "name">,
  filter?: ReadModelFilter,
): Promise<ReadModelItem<M>[]> =>
  queryAll<ReadModelItem<M>>(store, {
    TableName: store.tables.projections,
    KeyConditionExpression: "#projection = :projection",
    ...filter,
    ExpressionAttributeNames: { "#projection": "projection", ...filter?.ExpressionAttributeNames },
    ExpressionAttributeValues: { ":projection": projection.name, ...filter?.ExpressionAttributeValues },
  });

type WriteRequests = NonNullable<BatchWriteCommandInput["RequestItems"]>[string];

/** Deletes every item of the partition `name` (a projection's generation); answers how many. */
export const resetProjection = async (store: Store, name: string): Promise<number> => {
  const table = store.tables.projections;
  let deleted = 0;
  // Page by page: each page's items are deleted before the next is read.
  const pages = paginateQuery(
    { client: store.db },
    {
      TableName: table,
      KeyConditionExpression: "#projection = :projection",
      ExpressionAttributeNames: { "#projection": "projection", "#key": "key" },
      ExpressionAttributeValues: { ":projection": name },
      ProjectionExpression: "#projection, #key",
      ConsistentRead: true,
    },
  );
  for await (const page of pages) {
    const keys = page.Items ?? [];
    for (let i = 0; i < keys.length; i += 25) {
      let requests: WriteRequests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length; attempt++) {
        if (attempt >= 10) throw new Error(`reset ${name}: ${requests.length} deletes still unprocessed after ${attempt} attempts`);
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        const result = await store.db.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = result.UnprocessedItems?.[table] ?? [];
      }
      deleted += Math.min(25, keys.length - i);
    }
  }
  return deleted;
};

/**
 * A projection's read models as its routes see them: reads only, of the
 * generation that serves (`serving` resolves it; one per process by default).
 */
export const readModelsOf = <M>(
  store: Store,
  projection: Pick<Projection<M, any>, "name">,
  serving: (name: string) => Promise<string> = servingPartitions(store),
): ReadModels<M> => ({
  get: async (key) => (await loadReadModel<M>(store, { name: await serving(projection.name) }, key))?.model,
  query: async (filter) => (await queryReadModels<M>(store, { name: await serving(projection.name) }, filter)).map(({ key, model }) => ({ key, model })),
});
