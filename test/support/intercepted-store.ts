// A Store on its own DynamoDB client, with an optional hook that sees every
// command before it is sent: to count calls, to let a competing writer in
// first, or to throw what only real DynamoDB throws.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { documentClient, type Store, type TableNames } from "../../core/dynamo.js";
import { localAwsConfig } from "../../local/dynamodb.js";
import { aroundCalls, type Call } from "../../local/middleware.js";

export type Sent = Call;

/** Runs before the command is sent; throwing fails the call as DynamoDB would. */
export type Intercept = (sent: Sent) => void | Promise<void>;

export interface InterceptedStore {
  readonly store: Store;
  readonly client: DynamoDBClient;
  destroy(): void;
}

export const interceptedStore = (endpoint: string, tables: TableNames, intercept?: Intercept): InterceptedStore => {
  const client = new DynamoDBClient(localAwsConfig(endpoint));
  const db = documentClient(client);
  if (intercept) aroundCalls(db, "testIntercept", { before: intercept });
  return { store: { db, tables }, client, destroy: () => client.destroy() };
};

/** The snapshot a TransactWriteItems input writes, if any: tells which aggregate it commits. */
export const snapshotWrittenBy = (sent: Sent, tables: TableNames): Record<string, any> | undefined =>
  sent.name === "TransactWriteItemsCommand"
    ? (sent.input.TransactItems as { Put?: { TableName: string; Item: Record<string, any> } }[]).find(
        (item) => item.Put?.TableName === tables.snapshots,
      )?.Put?.Item
    : undefined;
