import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { FunctionProps, Table } from "sst/constructs";
import { tables as tableSpecs, type Access, type FunctionSpec, type TableName } from "../core/topology.js";

// TransactWriteItems and TransactGetItems have no IAM action of their own: each
// item is authorized as PutItem / UpdateItem / ConditionCheckItem / GetItem.
const read = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"];
const write = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"];

export const dynamodbActions: Record<Access, readonly string[]> = {
  read,
  write,
  readwrite: [...new Set([...read, ...write])],
};

/**
 * The environment and IAM statements a function gets from its topology access
 * map: one statement per table, only the actions its access implies. Used
 * instead of `bind`, which grants `dynamodb:*`.
 */
export function tableAccess(
  spec: FunctionSpec,
  tables: Record<TableName, Table>,
): Required<Pick<FunctionProps, "environment" | "permissions">> {
  const environment: Record<string, string> = {};
  const permissions: PolicyStatement[] = [];
  for (const [name, access] of Object.entries(spec.tables) as [TableName, Access][]) {
    const table = tables[name];
    environment[tableSpecs[name].env] = table.tableName;
    permissions.push(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [...dynamodbActions[access]],
        resources: [table.tableArn],
      }),
    );
  }
  return { environment, permissions };
}

export function functionProps(spec: FunctionSpec, tables: Record<TableName, Table>): FunctionProps {
  return { handler: spec.handler, ...tableAccess(spec, tables) };
}
