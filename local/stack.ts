// The whole local stack in one process: DynamoDB Local, the topology's tables,
// a poller per stream consumer, and the API's routes on one HTTP port.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import type { Server } from "node:http";
import { prefixedTableNames, type Store } from "../core/dynamo.js";
import { microservices } from "../core/microservices.js";
import { streamConsumers } from "../core/topology.js";
import type { ApiDeps } from "../functions/deps.js";
import { handler as fallback } from "../functions/fallback.js";
import { dynamoCheckpoints } from "./checkpoints.js";
import { localAwsConfig, startDynamo } from "./dynamodb.js";
import { dynamoFailureDestination, type FailureDestination } from "./failures.js";
import { httpHandlers, streamHandlers } from "./handlers.js";
import { startServer } from "./server.js";
import { dynamodbStreamSource } from "./dynamodb-stream-source.js";
import { startShardPoller, type Poller } from "./shard-poller.js";
import { createTables } from "./tables.js";

export interface StackOptions {
  readonly port: number;
  /** Where DynamoDB Local keeps its files; undefined keeps everything in memory. */
  readonly dataDir?: string;
  readonly dynamoPort?: number;
  readonly log?: (message: string, extra?: Record<string, unknown>) => void;
  /** Overrides the topology's retry count (tests of the failure destination). */
  readonly retryAttempts?: number;
  /** Wraps stream handlers (tests that inject failures). */
  readonly wrapStreamHandler?: (
    name: string,
    handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>,
  ) => (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
}

export interface LocalStack {
  readonly url: string;
  readonly endpoints: { readonly dynamodb: string };
  readonly store: Store;
  readonly failures: Readonly<Record<string, FailureDestination>>;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

export const TABLE_PREFIX = "ordinal-";

export const startStack = async (options: StackOptions): Promise<LocalStack> => {
  const log = options.log ?? (() => {});
  const dynamo = await startDynamo({ dataDir: options.dataDir, port: options.dynamoPort });
  const stops: (() => Promise<void>)[] = [() => dynamo.stop()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const config = localAwsConfig(dynamo.endpoint);
    const client = new DynamoDBClient(config);
    const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const streams = new DynamoDBStreamsClient(config);
    stops.push(async () => {
      client.destroy();
      streams.destroy();
    });
    const store: Store = { db, tables: prefixedTableNames(TABLE_PREFIX) };
    const streamArns = await createTables(client, store.tables);
    const endpoints = { dynamodb: dynamo.endpoint };
    const deps: ApiDeps = { store, microservices, clock: Date.now, endpoints };

    const failures: Record<string, FailureDestination> = {};
    const pollers: Poller[] = [];
    for (const [name, consumer] of Object.entries(streamConsumers)) {
      const make = streamHandlers[consumer.handler];
      if (!make) throw new Error(`no local handler for ${consumer.handler}`);
      const handler = options.wrapStreamHandler ? options.wrapStreamHandler(name, make(deps)) : make(deps);
      failures[name] = await dynamoFailureDestination(client, db, `${TABLE_PREFIX}failures`, consumer.failureDestination);
      pollers.push(
        startShardPoller({
          consumer: name,
          source: dynamodbStreamSource(streams, streamArns[consumer.source]!),
          checkpoints: await dynamoCheckpoints(client, db, `${TABLE_PREFIX}checkpoints`, name),
          handler,
          batchSize: consumer.batchSize,
          retryAttempts: options.retryAttempts ?? consumer.retryAttempts,
          onFailure: failures[name]!.park,
          log,
        }),
      );
    }
    stops.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    });

    const handlers = Object.fromEntries(Object.entries(httpHandlers).map(([path, make]) => [path, make(deps)]));
    const { server, port } = await startServer(options.port, handlers, fallback);
    stops.push(() => closeServer(server));

    return {
      url: `http://localhost:${port}`,
      endpoints,
      store,
      failures,
      pids: [process.pid, dynamo.pid],
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
};

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
