import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient, paginateQuery, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { setTimeout as sleep } from "node:timers/promises";
import { tables, type TableName } from "./topology.js";
import type { Upcast } from "./upcast.js";

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
  /** What every read of the events table maps its events through (core/upcast.ts); none reads them as stored. */
  readonly upcast?: Upcast;
}

/** Every item a Query matches, following LastEvaluatedKey page after page. */
export const queryAll = async <T>({ db }: Store, input: QueryCommandInput): Promise<T[]> => {
  const items: T[] = [];
  for await (const page of paginateQuery({ client: db }, input)) items.push(...((page.Items ?? []) as T[]));
  return items;
};

const chunked = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));

/** BatchGetItem over any number of keys (consistent unless told), retrying what DynamoDB leaves unprocessed. */
export const batchGet = async (
  { db }: Store,
  table: string,
  keys: readonly Record<string, unknown>[],
  { consistent = true }: { consistent?: boolean } = {},
): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  for (const part of chunked(keys, 100)) {
    let pending: Record<string, unknown>[] | undefined = part;
    for (let attempt = 0; pending?.length; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
      const result: { Responses?: Record<string, Record<string, unknown>[]>; UnprocessedKeys?: Record<string, { Keys?: Record<string, unknown>[] }> } =
        await db.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: consistent } } }));
      items.push(...(result.Responses?.[table] ?? []));
      pending = result.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return items;
};
