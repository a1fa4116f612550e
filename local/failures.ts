// The local failure destination: batches whose retries are spent, kept whole in
// a table of the same DynamoDB Local (on AWS, an SQS queue gets the batch's
// location), so nothing is dropped and a person can inspect and redrive them.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ensureLocalTable } from "./tables.js";
import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import type { ParkedBatch as AnyParkedBatch } from "./shard-poller.js";

export type ParkedBatch<R = DynamoDBRecord> = AnyParkedBatch<R>;

export interface FailureDestination<R = DynamoDBRecord> {
  park(batch: ParkedBatch<R>): Promise<void>;
  /** Each with when it was parked. */
  list(): Promise<(ParkedBatch<R> & { readonly parkedAt?: string })[]>;
  /** Drops a batch once it has been redriven. */
  remove(batch: ParkedBatch<R>): Promise<void>;
}

export const dynamoFailureDestination = async <R = DynamoDBRecord>(
  client: DynamoDBClient,
  db: DynamoDBDocumentClient,
  table: string,
  destination: string,
  sequenceOf: (record: R) => string,
): Promise<FailureDestination<R>> => {
  await ensureLocalTable(client, table, "destination", "id");
  // The id comes from the records, so parking the same batch twice keeps one copy.
  const idOf = (batch: ParkedBatch<R>) => `${batch.shardId}#${batch.records[0] ? sequenceOf(batch.records[0]) : "empty"}`;
  return {
    async park(batch) {
      await db.send(new PutCommand({ TableName: table, Item: { destination, id: idOf(batch), ...batch, parkedAt: new Date().toISOString() } }));
    },
    async list() {
      const { Items } = await db.send(
        new QueryCommand({ TableName: table, KeyConditionExpression: "destination = :d", ExpressionAttributeValues: { ":d": destination } }),
      );
      return (Items ?? []) as unknown as (ParkedBatch<R> & { parkedAt?: string })[];
    },
    async remove(batch) {
      await db.send(new DeleteCommand({ TableName: table, Key: { destination, id: idOf(batch) } }));
    },
  };
};
