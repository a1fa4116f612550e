// What handlers need, built from the Lambda environment. The local runtime
// builds the same shapes itself and passes them to each handler's `make…`.
import { Logger } from "@aws-lambda-powertools/logger";
import type { AnyMicroservice } from "../core/decider.js";
import { documentClient, tableNamesFromEnv, type Store } from "../core/dynamo.js";
import { microservices } from "../core/microservices.js";

export const logger = new Logger({ serviceName: "ordinal" });

export interface ApiDeps {
  readonly store: Store;
  readonly microservices: Readonly<Record<string, AnyMicroservice>>;
  readonly clock: () => number;
  /** Where the stack's services can be reached, as GET /health reports them. */
  readonly endpoints: Readonly<Record<string, string>>;
}

export const storeFromEnv = (env: NodeJS.ProcessEnv = process.env): Store => ({
  db: documentClient(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {}),
  tables: tableNamesFromEnv(env),
});

export const apiDepsFromEnv = (env: NodeJS.ProcessEnv = process.env): ApiDeps => ({
  store: storeFromEnv(env),
  microservices,
  clock: Date.now,
  endpoints: { dynamodb: env.DYNAMODB_ENDPOINT ?? `https://dynamodb.${env.AWS_REGION ?? "us-east-1"}.amazonaws.com` },
});

/** A microservice the deployment must serve; its absence is a wiring error, not a client's. */
export const microserviceOf = (deps: Pick<ApiDeps, "microservices">, name: string): AnyMicroservice => {
  const microservice = deps.microservices[name];
  if (!microservice) throw new Error(`microservice '${name}' is not registered`);
  return microservice;
};
