// kinesis-mock (npm `kinesis-local`, a Node build of it) as a child process we own.
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, ListStreamsCommand, ResourceInUseException } from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import getPort from "get-port";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { own } from "./child.js";

export interface LocalKinesis {
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Client settings kinesis-mock needs: HTTP/1.1 (its HTTP/2 session fails with the default handler), any credentials. */
export const kinesisClientConfig = (endpoint: string) => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "000000000000", secretAccessKey: "x" },
  requestHandler: new NodeHttpHandler(),
});

/** How often kinesis-mock writes its state to disk when it keeps one: what a crash can lose. */
export const KINESIS_PERSIST_INTERVAL_MS = 1000;

/**
 * Starts kinesis-mock on a free port (or `port`) and resolves once it answers.
 * With `dataDir` it loads its state from there and writes it back every
 * KINESIS_PERSIST_INTERVAL_MS; without, its state lives in memory.
 */
export const startKinesis = async ({ port, dataDir }: { port?: number; dataDir?: string } = {}): Promise<LocalKinesis> => {
  const main = createRequire(import.meta.url).resolve("kinesis-local/main.js");
  const plain = port ?? (await getPort());
  const tls = await getPort({ exclude: [plain] });
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      KINESIS_MOCK_PLAIN_PORT: String(plain),
      KINESIS_MOCK_TLS_PORT: String(tls),
      KINESIS_MOCK_CERT_PATH: join(dirname(main), "server.json"),
      LOG_LEVEL: "ERROR",
      ...(dataDir
        ? { SHOULD_PERSIST_DATA: "true", LOAD_DATA_IF_EXISTS: "true", PERSIST_PATH: resolve(dataDir), PERSIST_INTERVAL: `${KINESIS_PERSIST_INTERVAL_MS}ms` }
        : { SHOULD_PERSIST_DATA: "false", LOAD_DATA_IF_EXISTS: "false" }),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const endpoint = `http://127.0.0.1:${plain}`;
  const client = new KinesisClient({ ...kinesisClientConfig(endpoint), maxAttempts: 1 });
  try {
    const owned = await own("kinesis-mock", child, () => client.send(new ListStreamsCommand({})));
    return { endpoint, ...owned };
  } finally {
    client.destroy();
  }
};

/** Creates a stream (or keeps the existing one) and resolves once it is ACTIVE. */
export const ensureKinesisStream = async (client: KinesisClient, name: string, shards: number): Promise<void> => {
  try {
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    if (Date.now() > deadline) throw new Error(`Kinesis stream ${name} is not ACTIVE after 30 s`);
    await sleep(100);
  }
};
