// Where local pollers remember, per consumer and shard, the last sequence number
// they delivered: the part of Lambda's event source mapping that survives restarts.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ensureLocalTable } from "./tables.js";
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface Checkpoint {
  /** Last sequence number handled (delivered or parked). */
  readonly sequenceNumber?: string;
  /** The shard is closed and every record of it was handled. */
  readonly done: boolean;
}

export interface CheckpointStore {
  get(shardId: string): Promise<Checkpoint | undefined>;
  set(shardId: string, checkpoint: Checkpoint): Promise<void>;
}

/** Checkpoints kept in a table of the same DynamoDB Local, so they live exactly as long as the data. */
export const dynamoCheckpoints = async (
  client: DynamoDBClient,
  db: DynamoDBDocumentClient,
  table: string,
  consumer: string,
): Promise<CheckpointStore> => {
  await ensureLocalTable(client, table, "consumer", "shardId");
  return {
    async get(shardId) {
      const { Item } = await db.send(new GetCommand({ TableName: table, Key: { consumer, shardId }, ConsistentRead: true }));
      return Item ? { sequenceNumber: Item.sequenceNumber as string | undefined, done: Item.done === true } : undefined;
    },
    async set(shardId, checkpoint) {
      await db.send(new PutCommand({ TableName: table, Item: { consumer, shardId, ...checkpoint } }));
    },
  };
};
