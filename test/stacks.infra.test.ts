// The synthesized CloudFormation must say exactly what core/topology.ts says:
// tables and keys, routes, the sequencer's event source, runtimes, and IAM
// that follows each function's table-access map and nothing more.
import { Template } from "aws-cdk-lib/assertions";
import type { CfnElement } from "aws-cdk-lib";
import { App, getStack } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { beforeAll, describe, expect, it } from "vitest";
import {
  fallbackRoute,
  routes,
  streamConsumers,
  tables,
  type Access,
  type FunctionSpec,
  type TableName,
} from "../core/topology.js";
import config from "../sst.config.js";
import { Ordinal } from "../stacks/Ordinal.js";

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

const tableNames = Object.keys(tables) as TableName[];
const writeActions = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:PartiQLInsert",
  "dynamodb:PartiQLUpdate",
  "dynamodb:PartiQLDelete",
];

let app: App;
let template: Template;
let resources: Record<string, Resource>;
/** Handler (as written in topology) of each Lambda, by logical id. */
const handlerOf = new Map<string, string>();
const runtimeOf = new Map<string, string | undefined>();

beforeAll(async () => {
  // No credentials or network: synthesis must not need either.
  process.env.AWS_REGION ??= "us-east-1";
  await initProject({ stage: "test" });
  const { name, stage, region } = useProject().config;
  app = new App({ mode: "deploy", name, stage, region });
  // Through sst.config's stacks(), which calls app.stack(Ordinal), so the
  // app-wide function defaults under test are the ones `sst deploy` uses.
  await config.stacks(app);
  const stack = getStack(Ordinal);
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
  for (const fn of stack.getAllFunctions()) {
    const id = stack.getLogicalId(fn.node.defaultChild as CfnElement);
    const { handler, runtime } = fn.getConstructMetadata().data;
    handlerOf.set(id, handler!);
    runtimeOf.set(id, runtime);
  }
});

// ---- template navigation ------------------------------------------------

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function tableId(name: TableName): string {
  const physical = app.logicalPrefixedName(tables[name].name);
  const found = ofType("AWS::DynamoDB::Table").filter(([, r]) => r.Properties.TableName === physical);
  expect(found, `table ${physical}`).toHaveLength(1);
  return found[0]![0];
}

function refId(value: any): string {
  return value?.Ref ?? value?.["Fn::GetAtt"]?.[0];
}

function routeFunctionId(routeKey: string): string {
  const route = ofType("AWS::ApiGatewayV2::Route").find(([, r]) => r.Properties.RouteKey === routeKey);
  expect(route, `route ${routeKey}`).toBeDefined();
  const integrationId = refId(route![1].Properties.Target["Fn::Join"][1][1]);
  return refId(resources[integrationId]!.Properties.IntegrationUri);
}

function consumerMapping(source: TableName): [string, Resource] {
  const found = ofType("AWS::Lambda::EventSourceMapping").filter(
    ([, r]) => refId(r.Properties.EventSourceArn) === tableId(source) &&
      r.Properties.EventSourceArn["Fn::GetAtt"][1] === "StreamArn",
  );
  expect(found, `event source mapping on ${source}`).toHaveLength(1);
  return found[0]!;
}

interface Statement { Effect: string; Action: string | string[]; Resource: unknown }

function statementsOf(functionId: string): Statement[] {
  const roleId = refId(resources[functionId]!.Properties.Role);
  return ofType("AWS::IAM::Policy")
    .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** DynamoDB actions a function may perform on a table's items (not its stream). */
function actionsOn(functionId: string, table: TableName): Set<string> {
  const arn = { "Fn::GetAtt": [tableId(table), "Arn"] };
  const actions = statementsOf(functionId)
    .filter((s) => s.Effect === "Allow" && list(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(arn)))
    .flatMap((s) => list(s.Action));
  return new Set(actions);
}

const allFunctions: [string, FunctionSpec][] = [
  ...routes.map((r): [string, FunctionSpec] => [`${r.method} ${r.path}`, r]),
  ["$default", fallbackRoute],
  ...Object.entries(streamConsumers).map(([name, c]): [string, FunctionSpec] => [`stream consumer ${name}`, c]),
];

function functionIdFor(label: string): string {
  const consumer = Object.entries(streamConsumers).find(([name]) => label === `stream consumer ${name}`);
  return consumer ? refId(consumerMapping(consumer[1].source)[1].Properties.FunctionName) : routeFunctionId(label);
}

// ---- tables -------------------------------------------------------------

describe("tables", () => {
  it("creates exactly the topology's tables", () => {
    expect(ofType("AWS::DynamoDB::Table")).toHaveLength(tableNames.length);
  });

  it.each(tableNames)("%s has exactly its key schema, stream, PITR, on-demand billing and is retained", (name) => {
    const spec = tables[name];
    const table = resources[tableId(name)]!;
    const keys: { name: string; type: string; role: string }[] = [
      { ...spec.partitionKey, role: "HASH" },
      ...("sortKey" in spec ? [{ ...spec.sortKey, role: "RANGE" }] : []),
    ];
    expect(table.Properties.KeySchema).toEqual(keys.map((k) => ({ AttributeName: k.name, KeyType: k.role })));
    expect(table.Properties.AttributeDefinitions).toEqual(
      keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type === "string" ? "S" : "N" })),
    );
    expect(table.Properties.GlobalSecondaryIndexes).toBeUndefined();
    expect(table.Properties.LocalSecondaryIndexes).toBeUndefined();
    expect(table.Properties.StreamSpecification).toEqual(
      "stream" in spec ? { StreamViewType: spec.stream.toUpperCase() } : undefined,
    );
    expect(table.Properties.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled ?? false).toBe(
      "pointInTimeRecovery" in spec ? spec.pointInTimeRecovery : false,
    );
    expect(table.Properties.BillingMode).toBe("PAY_PER_REQUEST");
    expect(table.DeletionPolicy).toBe("Retain");
  });
});

// ---- API ----------------------------------------------------------------

describe("api", () => {
  it("has every topology route plus $default, and nothing else", () => {
    const keys = ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties.RouteKey as string);
    expect(keys.sort()).toEqual([...routes.map((r) => `${r.method} ${r.path}`), "$default"].sort());
  });

  it.each(allFunctions.filter(([label]) => !label.startsWith("stream consumer")))(
    "%s is served by the topology's handler",
    (label, spec) => {
      expect(handlerOf.get(routeFunctionId(label))).toBe(spec.handler);
    },
  );

  it("outputs the endpoint", () => {
    template.hasOutput("ApiEndpoint", {});
  });
});

// ---- stream consumers ---------------------------------------------------

describe.each(Object.entries(streamConsumers))("stream consumer %s", (_name, consumer) => {
  it("reads its source table's stream with the topology's batching and retry settings", () => {
    const [, mapping] = consumerMapping(consumer.source);
    expect(mapping.Properties).toMatchObject({
      StartingPosition: "TRIM_HORIZON",
      BatchSize: consumer.batchSize,
      MaximumRetryAttempts: consumer.retryAttempts,
      MaximumBatchingWindowInSeconds: consumer.maxBatchingWindowSeconds,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    expect(handlerOf.get(refId(mapping.Properties.FunctionName))).toBe(consumer.handler);
  });

  it("sends spent batches to its own SQS failure queue, and may send to it", () => {
    const [, mapping] = consumerMapping(consumer.source);
    const queueId = refId(mapping.Properties.DestinationConfig?.OnFailure?.Destination);
    expect(resources[queueId]?.Type).toBe("AWS::SQS::Queue");
    expect(resources[queueId]!.Properties.QueueName).toBe(app.logicalPrefixedName(consumer.failureDestination));
    const functionId = refId(mapping.Properties.FunctionName);
    const canSend = statementsOf(functionId).some(
      (s) => list(s.Action).includes("sqs:SendMessage") && refId(s.Resource) === queueId,
    );
    expect(canSend).toBe(true);
  });
});

// ---- runtime ------------------------------------------------------------

describe("runtime", () => {
  it("every Lambda in the template runs nodejs22.x", () => {
    const fns = ofType("AWS::Lambda::Function");
    expect(fns.length).toBeGreaterThan(allFunctions.length);
    for (const [, fn] of fns) expect(fn.Properties.Runtime).toBe("nodejs22.x");
  });

  // Without `sst deploy`'s build step the template holds SST's placeholder
  // runtime; the build writes the construct's configured runtime, checked here.
  it("every SST function is configured for nodejs22.x", () => {
    expect(runtimeOf.size).toBe(allFunctions.length);
    for (const runtime of runtimeOf.values()) expect(runtime).toBe("nodejs22.x");
  });
});

// ---- least privilege ----------------------------------------------------

describe("permissions", () => {
  const grants = (access: Access | undefined, kind: "read" | "write") =>
    access === kind || access === "readwrite";

  it.each(allFunctions)("%s gets exactly the table access and environment its topology entry declares", (label, spec) => {
    const functionId = functionIdFor(label);
    const env = resources[functionId]!.Properties.Environment?.Variables ?? {};
    for (const table of tableNames) {
      const access = spec.tables[table];
      const actions = actionsOn(functionId, table);
      const write = writeActions.filter((a) => actions.has(a));
      if (grants(access, "write")) expect(write.sort(), `${table} write`).toEqual(["dynamodb:PutItem", "dynamodb:UpdateItem"]);
      else expect(write, `no write on ${table}`).toEqual([]);
      if (grants(access, "read")) {
        expect(actions, `${table} read`).toContain("dynamodb:GetItem");
        expect(actions, `${table} read`).toContain("dynamodb:Query");
      } else {
        expect(actions.has("dynamodb:GetItem") || actions.has("dynamodb:Query"), `no read on ${table}`).toBe(false);
      }
      if (!access) expect(actions.size, `nothing on ${table}`).toBe(0);
      expect(env[tables[table].env], `${tables[table].env}`).toEqual(access ? { Ref: tableId(table) } : undefined);
    }
  });

  it("POST /command can UpdateItem commands and read outcomes, and write nothing else", () => {
    const fn = routeFunctionId("POST /command");
    expect(actionsOn(fn, "commands")).toContain("dynamodb:UpdateItem");
    expect(actionsOn(fn, "outcomes")).toContain("dynamodb:GetItem");
    for (const table of ["events", "snapshots", "outcomes", "requests"] as const) {
      expect(writeActions.filter((a) => actionsOn(fn, table).has(a)), table).toEqual([]);
    }
  });

  it("the sequencer can write events", () => {
    const fn = refId(consumerMapping(streamConsumers.sequencer.source)[1].Properties.FunctionName);
    expect(actionsOn(fn, "events")).toContain("dynamodb:PutItem");
  });

  it("no policy grants a DynamoDB wildcard, and only ListStreams is granted on every resource", () => {
    const statements = ofType("AWS::IAM::Policy").flatMap(
      ([, p]) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    for (const s of statements) {
      const actions = list(s.Action);
      expect(actions.filter((a) => a === "*" || (a.startsWith("dynamodb:") && a.includes("*")))).toEqual([]);
      if (list(s.Resource).includes("*")) {
        expect(actions.filter((a) => a.startsWith("dynamodb:") && a !== "dynamodb:ListStreams")).toEqual([]);
      }
    }
  });
});
