import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { BillingMode } from "aws-cdk-lib/aws-dynamodb";
import { StartingPosition } from "aws-cdk-lib/aws-lambda";
import { SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import { Api, Queue, Table, type ApiRouteProps, type Stack, type StackContext } from "sst/constructs";
import {
  fallbackRoute,
  routes,
  streamConsumers,
  tables as tableSpecs,
  type TableName,
  type TableSpec,
} from "../core/topology.js";
import { functionProps } from "./permissions.js";

export function Ordinal({ stack }: StackContext) {
  const tables = Object.fromEntries(
    Object.entries(tableSpecs).map(([name, spec]) => [name, createTable(stack, spec)]),
  ) as Record<TableName, Table>;

  const api = new Api(stack, "api", {
    routes: {
      ...Object.fromEntries(
        routes.map((route): [string, ApiRouteProps<string>] => [
          `${route.method} ${route.path}`,
          { function: functionProps(route, tables) },
        ]),
      ),
      $default: { function: functionProps(fallbackRoute, tables) },
    },
  });

  for (const [name, consumer] of Object.entries(streamConsumers)) {
    const failures = new Queue(stack, consumer.failureDestination, {
      cdk: { queue: { retentionPeriod: Duration.days(14) } },
    });
    // Added after every table exists: the consumer's environment and policy
    // reference tables other than its source.
    tables[consumer.source].addConsumers(stack, {
      [name]: {
        function: functionProps(consumer, tables),
        cdk: {
          eventSource: {
            startingPosition: StartingPosition.TRIM_HORIZON,
            batchSize: consumer.batchSize,
            maxBatchingWindow: Duration.seconds(consumer.maxBatchingWindowSeconds),
            retryAttempts: consumer.retryAttempts,
            // The handler reports the first failed record; Lambda retries from
            // there, which keeps per-key order without bisecting.
            reportBatchItemFailures: true,
            bisectBatchOnError: false,
            onFailure: new SqsDlq(failures.cdk.queue),
          },
        },
      },
    });
  }

  stack.addOutputs({ ApiEndpoint: api.url });
  return { api, tables };
}

function createTable(stack: Stack, spec: TableSpec): Table {
  const fields: Record<string, TableSpec["partitionKey"]["type"]> = {
    [spec.partitionKey.name]: spec.partitionKey.type,
  };
  if (spec.sortKey) fields[spec.sortKey.name] = spec.sortKey.type;
  return new Table(stack, spec.name, {
    fields,
    primaryIndex: { partitionKey: spec.partitionKey.name, sortKey: spec.sortKey?.name },
    stream: spec.stream ?? false,
    cdk: {
      table: {
        billingMode: BillingMode.PAY_PER_REQUEST,
        removalPolicy: RemovalPolicy.RETAIN,
        // SST turns PITR on for every table through the deprecated boolean,
        // which CDK refuses next to the specification: clear it so the spec decides.
        pointInTimeRecovery: undefined,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: spec.pointInTimeRecovery ?? false },
      },
    },
  });
}
