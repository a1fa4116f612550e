// Replay jobs over HTTP (admin only):
//   POST   /admin/replays {handler, from?, to?, reset?}  → 202 {replayId, statusUrl}
//   GET    /admin/replays                                → the newest jobs
//   GET    /admin/replays/{replayId}                     → its state and progress
//   DELETE /admin/replays/{replayId}                     → cancels it
// The job then runs by itself (core/replay-jobs.ts, functions/replayer.ts).
import { z } from "zod";
import { parseBody } from "../core/envelope.js";
import { NotFoundError, ValidationError } from "../core/errors.js";
import { INSTANT_RULE, isoInstant } from "../core/iso8601.js";
import { cancelReplay, listJobs, loadJob, progressOf, startReplay, type ReplayJobDeps } from "../core/replay-jobs.js";
import type { RouteSpec, Topology } from "../core/topology.js";
import { fanoutDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, integerParam, jsonBody, lazy } from "./http.js";
import { authorizeRoute } from "./identity.js";

const timeRule = `${INSTANT_RULE}, or milliseconds since the epoch`;
const time = z.union([z.number().int().nonnegative(), isoInstant], { error: timeRule });

const bodySchemaOf = (projections: readonly string[]) => z.strictObject({
  handler: z.string({ error: `must be one of ${projections.join(", ")}` }).refine((name) => projections.includes(name), { error: `must be one of ${projections.join(", ")}` }),
  from: time.optional(),
  to: time.optional(),
  reset: z.boolean("must be true or false").optional(),
});

const msOf = (value: number | string | undefined) => (typeof value === "string" ? Date.parse(value) : value);

export const parseReplayRequest = (topology: Pick<Topology, "projections">, body: unknown) => {
  const { from, to, ...rest } = parseBody(bodySchemaOf(topology.projections), body);
  const range = { from: msOf(from), to: msOf(to) };
  if (range.from !== undefined && range.to !== undefined && range.from > range.to)
    throw new ValidationError([{ field: "to", rule: "must not be before from" }]);
  if (rest.reset && (range.from !== undefined || range.to !== undefined))
    throw new ValidationError([
      { field: range.from !== undefined ? "from" : "to", rule: "a rebuild (reset) replays the whole archive into a new generation; from and to narrow a replay into the serving one" },
    ]);
  return { ...rest, ...range };
};

const replayIdOf = (event: { pathParameters?: Record<string, string | undefined> }): string => {
  const id = event.pathParameters?.replayId ?? "";
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) throw new ValidationError([{ field: "replayId", rule: "must be a replay id (26 characters, as POST /admin/replays answered)" }]);
  return id;
};

type Deps = ReplayJobDeps & Pick<ApiDeps, "identityFromBody">;
type Route = Pick<RouteSpec, "roles">;

const statusUrl = (replayId: string) => `/admin/replays/${replayId}`;

export const makeStart = (deps: Deps, route: Route) =>
  http(async (event) => {
    authorizeRoute(event, deps, route);
    const request = parseReplayRequest(deps.app.topology, jsonBody(event));
    const job = await startReplay(deps, request);
    return { statusCode: 202, body: { ...progressOf(job, deps.clock()), statusUrl: statusUrl(job.key) }, headers: { location: statusUrl(job.key) } };
  });

export const makeList = (deps: Deps, route: Route) =>
  http(async (event) => {
    authorizeRoute(event, deps, route);
    const limit = integerParam(event.queryStringParameters?.limit, "limit", { min: 1, max: 100, fallback: 20 })!;
    const now = deps.clock();
    return { statusCode: 200, body: { replays: (await listJobs(deps.store, limit)).map((job) => ({ ...progressOf(job, now), statusUrl: statusUrl(job.key) })) } };
  });

export const makeStatus = (deps: Deps, route: Route) =>
  http(async (event) => {
    authorizeRoute(event, deps, route);
    const replayId = replayIdOf(event);
    const job = await loadJob(deps.store, replayId);
    if (!job) throw new NotFoundError(`no replay '${replayId}'`);
    return { statusCode: 200, body: progressOf(job, deps.clock()) };
  });

export const makeCancel = (deps: Deps, route: Route) =>
  http(async (event) => {
    authorizeRoute(event, deps, route);
    const replayId = replayIdOf(event);
    const job = await cancelReplay(deps, replayId);
    if (!job) throw new NotFoundError(`no replay '${replayId}'`);
    return { statusCode: 200, body: progressOf(job, deps.clock()) };
  });

const admin = { roles: ["admin"] };
export const start = lazy(() => makeStart(fanoutDepsFromEnv(), admin));
export const list = lazy(() => makeList(fanoutDepsFromEnv(), admin));
export const status = lazy(() => makeStatus(fanoutDepsFromEnv(), admin));
export const cancel = lazy(() => makeCancel(fanoutDepsFromEnv(), admin));
