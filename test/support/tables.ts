// Reads the local stack's DynamoDB directly, at the endpoint GET /health gives,
// to check what the API did (or did not) write.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "vitest";
import { prefixedTableNames } from "../../core/dynamo.js";
import { ARCHIVE_INDEX } from "../../core/fanout/archive-index.js";
import { GENERATIONS } from "../../core/projections/index.js";
import { REPLAYS } from "../../core/replay-jobs.js";
import type { TableName } from "../../core/topology.js";
import { localAwsConfig } from "../../local/dynamodb.js";
import { TABLE_PREFIX } from "../../local/stack.js";

export const tableNames = prefixedTableNames(TABLE_PREFIX);

export interface Tables {
  scan(table: TableName): Promise<Record<string, unknown>[]>;
  /** Every item of every command-path table of the topology, in a stable order. */
  contents(): Promise<Record<TableName, Record<string, unknown>[]>>;
  close(): void;
}

/** JSON with object keys sorted, so equal items compare equal whatever order DynamoDB lists attributes in. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );

export const tablesAt = (endpoint: string): Tables => {
  const client = new DynamoDBClient(localAwsConfig(endpoint));
  const db = DynamoDBDocumentClient.from(client);
  const scan = async (table: TableName) => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(new ScanCommand({ TableName: tableNames[table], ExclusiveStartKey: start, ConsistentRead: true }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => (canonical(a) < canonical(b) ? -1 : 1));
  };
  return {
    scan,
    async contents() {
      // Read models are built asynchronously from accepted events by the fan-out; what a
      // request itself writes is in the command path's tables.
      const names = (Object.keys(tableNames) as TableName[]).filter((name) => name !== "projections");
      const scanned = await Promise.all(names.map(scan));
      return Object.fromEntries(names.map((name, i) => [name, scanned[i]])) as Record<TableName, Record<string, unknown>[]>;
    },
    close: () => client.destroy(),
  };
};

/** Runs a request that must be refused, checks that no table of the command path changed, and answers what it answered. */
export const writesNothing = async <T>(tables: Tables, send: () => Promise<T>): Promise<T> => {
  const before = await tables.contents();
  const answer = await send();
  expect(await tables.contents()).toEqual(before);
  return answer;
};

/**
 * Every projection's read-model items, of whichever generation, each under
 * its projection's name (`cart-summary@2` is `cart-summary`); the engine's
 * own partitions (the archive index, generations, replay jobs) left out.
 * `revision` only counts writes, so a rebuild may differ in it alone.
 */
export const readModelItems = async (tables: Tables, { withRevision = false } = {}): Promise<Record<string, any>[]> =>
  (await tables.scan("projections"))
    .filter((item) => ![ARCHIVE_INDEX, GENERATIONS, REPLAYS].includes(String(item.projection)))
    .map(({ revision, ...item }) => ({ ...item, projection: String(item.projection).replace(/@\d+$/, ""), ...(withRevision ? { revision } : {}) }));
