// POST /admin/replay {handler, from?, to?, reset?, startAfter?, replayId?, maxObjects?}:
// one page of a replay from the archive into the handler's FIFO queue. The
// caller (npm run replay) loops with `startAfter` until `done`.
import { ulid } from "ulid";
import { z } from "zod";
import type { Store } from "../core/dynamo.js";
import { parseBody } from "../core/envelope.js";
import { ValidationError } from "../core/errors.js";
import { resetProjection } from "../core/projections/index.js";
import { replayPage, type ReplayDeps } from "../core/replay.js";
import type { RouteSpec, Topology } from "../core/topology.js";
import { INSTANT_RULE, isoInstant } from "../core/iso8601.js";
import { fanoutDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, jsonBody, lazy } from "./http.js";
import { authorizeRoute } from "./identity.js";

const timeRule = `${INSTANT_RULE}, or milliseconds since the epoch`;
const time = z.union([z.number().int().nonnegative(), isoInstant], { error: timeRule });

const bodySchemaOf = (projections: readonly string[]) => z.strictObject({
  handler: z.string({ error: `must be one of ${projections.join(", ")}` }).refine((name) => projections.includes(name), { error: `must be one of ${projections.join(", ")}` }),
  from: time.optional(),
  to: time.optional(),
  reset: z.boolean("must be true or false").optional(),
  startAfter: z.string("must be a string").min(1).max(1024).optional(),
  replayId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'").optional(),
  maxObjects: z.number().int().min(1).max(100, "must be an integer from 1 to 100").optional(),
});

const msOf = (value: number | string | undefined) => (typeof value === "string" ? Date.parse(value) : value);

export const parseReplayRequest = (topology: Pick<Topology, "projections">, body: unknown) => {
  const { from, to, ...rest } = parseBody(bodySchemaOf(topology.projections), body);
  const range = { from: msOf(from), to: msOf(to) };
  if (range.from !== undefined && range.to !== undefined && range.from > range.to)
    throw new ValidationError([{ field: "to", rule: "must not be before from" }]);
  if (rest.reset && rest.startAfter !== undefined)
    throw new ValidationError([{ field: "reset", rule: "only the first page (without startAfter) may reset" }]);
  return { ...rest, ...range };
};

export const makeHandler = (deps: ReplayDeps & { readonly store: Store } & Pick<ApiDeps, "identityFromBody">, route: Pick<RouteSpec, "roles">) =>
  http(async (event) => {
    authorizeRoute(event, deps, route);
    const request = parseReplayRequest(deps.app.topology, jsonBody(event));
    const replayId = request.replayId ?? ulid();
    const deleted = request.reset ? await resetProjection(deps.store, request.handler) : undefined;
    const page = await replayPage(deps, {
      handler: request.handler,
      from: request.from,
      to: request.to,
      startAfter: request.startAfter,
      maxObjects: request.maxObjects ?? 20,
      replayId,
    });
    return {
      statusCode: 200,
      body: {
        handler: request.handler,
        replayId,
        ...(deleted !== undefined ? { deleted } : {}),
        objectsRead: page.objectsRead,
        eventsSent: page.eventsSent,
        done: page.nextStartAfter === undefined,
        ...(page.nextStartAfter !== undefined ? { nextStartAfter: page.nextStartAfter } : {}),
      },
    };
  });

export const handler = lazy(() => makeHandler(fanoutDepsFromEnv(), { roles: ["admin"] }));
