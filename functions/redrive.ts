// POST /admin/redrive {queue, redriveId?}: a dead-letter queue's messages back
// to their source queue (up to 1,000 per call; `done` says whether it is empty).
import { ulid } from "ulid";
import { z } from "zod";
import { parseBody } from "../core/envelope.js";
import { redrivableQueues, redrive, type RedriveDeps } from "../core/redrive.js";
import type { RouteSpec } from "../core/topology.js";
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

export const handler = lazy(() => makeHandler(fanoutDepsFromEnv(), { roles: ["admin"] }));
