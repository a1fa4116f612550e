// Creates the topology's tables in DynamoDB Local, the same keys and streams the stacks declare.
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import type { TableNames } from "../core/dynamo.js";
import { tables, type TableName, type TableSpec } from "../core/topology.js";

const attributeType = (type: "string" | "number") => (type === "string" ? "S" : "N");

type TableShape = Pick<TableSpec, "partitionKey" | "sortKey" | "stream">;

const createTable = async (client: DynamoDBClient, physical: string, spec: TableShape) => {
  const keys = [spec.partitionKey, ...(spec.sortKey ? [spec.sortKey] : [])];
  try {
    await client.send(
      new CreateTableCommand({
        TableName: physical,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: attributeType(k.type) })),
        KeySchema: keys.map((k, i) => ({ AttributeName: k.name, KeyType: i === 0 ? "HASH" : "RANGE" })),
        ...(spec.stream
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: spec.stream === "new_image" ? "NEW_IMAGE" : "NEW_AND_OLD_IMAGES" } }
          : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error; // kept from an earlier run
  }
};

/** Creates every table that does not exist yet; returns each stream-enabled table's stream ARN. */
export const createTables = async (client: DynamoDBClient, names: TableNames): Promise<Partial<Record<TableName, string>>> => {
  const entries = Object.entries(tables) as [TableName, TableSpec][];
  await Promise.all(entries.map(([name, spec]) => createTable(client, names[name], spec)));
  const streams: Partial<Record<TableName, string>> = {};
  for (const [name, spec] of entries) {
    if (!spec.stream) continue;
    const described = await client.send(new DescribeTableCommand({ TableName: names[name] }));
    streams[name] = described.Table?.LatestStreamArn;
  }
  return streams;
};

/** A table of the local runtime's own with a stream (the run marker): a string hash key. */
export const ensureLocalStreamTable = async (client: DynamoDBClient, table: string, hash: string): Promise<string> => {
  await createTable(client, table, { partitionKey: { name: hash, type: "string" }, stream: "new_image" });
  const described = await client.send(new DescribeTableCommand({ TableName: table }));
  return described.Table!.LatestStreamArn!;
};

/** A table of the local runtime's own (checkpoints, parked batches): string hash and range keys. */
export const ensureLocalTable = (client: DynamoDBClient, table: string, hash: string, range: string) =>
  createTable(client, table, { partitionKey: { name: hash, type: "string" }, sortKey: { name: range, type: "string" } });
