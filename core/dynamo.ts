import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateQuery, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { tables, type TableName } from "./topology.js";

/** Physical table names, by logical name. */
export type TableNames = Readonly<Record<TableName, string>>;

/** The document client Ordinal writes with, over `client` or a new one from `config`. */
export const documentClient = (from: DynamoDBClientConfig | DynamoDBClient = {}): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(from instanceof DynamoDBClient ? from : new DynamoDBClient(from), {
    marshallOptions: { removeUndefinedValues: true },
  });

/**
 * Reads each table's physical name from the environment variable the topology
 * names for it. A function is only given the tables it may use; using another
 * fails at DynamoDB with the unset variable's name in the table name.
 */
export const tableNamesFromEnv = (env: NodeJS.ProcessEnv = process.env): TableNames =>
  Object.fromEntries(
    Object.entries(tables).map(([name, spec]) => [name, env[spec.env] ?? `unset-${spec.env}`]),
  ) as Record<TableName, string>;

/** The same names the topology uses, with a prefix: what the local runtime creates. */
export const prefixedTableNames = (prefix: string): TableNames =>
  Object.fromEntries(Object.keys(tables).map((name) => [name, `${prefix}${name}`])) as Record<TableName, string>;

/** Everything core needs to reach the tables. */
export interface Store {
  readonly db: DynamoDBDocumentClient;
  readonly tables: TableNames;
}

/** Every item a Query matches, following LastEvaluatedKey page after page. */
export const queryAll = async <T>({ db }: Store, input: QueryCommandInput): Promise<T[]> => {
  const items: T[] = [];
  for await (const page of paginateQuery({ client: db }, input)) items.push(...((page.Items ?? []) as T[]));
  return items;
};
