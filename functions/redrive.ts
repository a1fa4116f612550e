// POST /admin/redrive {queue, redriveId?}: a dead-letter queue's messages back
// to their source queue (up to 1,000 per call; `done` says whether it is empty).
import { ulid } from "ulid";
import { z } from "zod";
import { parseBody } from "../core/envelope.js";
import { redrivableQueues, redrive, type RedriveDeps } from "../core/redrive.js";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { streamParkedBatches, type Invoke } from "../core/parked-batches.js";
import { consumerFunctionEnv, type RouteSpec } from "../core/topology.js";
import { fanoutDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, jsonBody, lazy } from "./http.js";
import { authorizeRoute } from "./identity.js";

const bodySchemaOf = (queues: readonly string[]) => {
  const oneOf = `must be one of ${queues.join(", ")}`;
  return z.strictObject({
    queue: z.string({ error: oneOf }).refine((q) => queues.includes(q), { error: oneOf }),
    redriveId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'").optional(),
  });
};

export const makeHandler = (deps: RedriveDeps & Pick<ApiDeps, "identityFromBody">, route: Pick<RouteSpec, "roles">) => {
  const bodySchema = bodySchemaOf(redrivableQueues(deps.app.topology));
  return http(async (event) => {
    authorizeRoute(event, deps, route);
    const { queue, redriveId = ulid() } = parseBody(bodySchema, jsonBody(event));
    const result = await redrive(deps, { queue, redriveId });
    return { statusCode: 200, body: { ...result, redriveId } };
  });
};

/** Hands a re-read batch to a consumer's function, synchronously, and answers its response. */
const lambdaInvoke =
  (client: LambdaClient, env: NodeJS.ProcessEnv): Invoke =>
  async (consumer, event) => {
    const name = env[consumerFunctionEnv(consumer)];
    if (!name) throw new Error(`${consumerFunctionEnv(consumer)} is not set: this function may not invoke '${consumer}'`);
    const out = await client.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }));
    const payload = Buffer.from(out.Payload ?? new Uint8Array()).toString("utf8");
    if (out.FunctionError) throw new Error(`${consumer} failed (${out.FunctionError}): ${payload.slice(0, 500)}`);
    return payload ? JSON.parse(payload) : undefined;
  };

// On AWS a failure queue holds on-failure records: this function alone re-reads their batches from the streams.
export const handler = lazy(() => {
  const deps = fanoutDepsFromEnv();
  const parked = streamParkedBatches({
    sqs: deps.sqs,
    queueUrls: deps.names.queueUrls,
    dynamodbStreams: new DynamoDBStreamsClient({}),
    kinesis: deps.kinesis,
    invoke: lambdaInvoke(new LambdaClient({}), process.env),
  });
  return makeHandler({ ...deps, parked }, { roles: ["admin"] });
});
