// GET /microservices: what a client (the console's command form) may send, and the projections a replay takes:
// each microservice's commands with their payload's JSON Schema (zod 4's
// z.toJSONSchema, as the API validates them) and the roles each needs.
import { z } from "zod";
import type { AnyMicroservice } from "../core/decider.js";
import type { AnyProjection } from "../core/projections/index.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";

export const catalogOf = (microservices: Readonly<Record<string, AnyMicroservice>>, projections: Readonly<Record<string, AnyProjection>> = {}) => ({
  microservices: Object.values(microservices).map((m) => ({
    name: m.name,
    partitionBy: m.partitionBy,
    ...(m.singleAggregate !== undefined ? { singleAggregate: m.singleAggregate } : {}),
    commands: Object.entries(m.commands).map(([name, schema]) => ({
      name,
      payload: z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }),
      ...(m.roles?.[name] ? { roles: m.roles[name] } : {}),
    })),
  })),
  // What a replay can take (POST /admin/replays), with the version each is at.
  projections: Object.values(projections).map((p) => ({ name: p.name, version: p.version ?? 1, from: p.from.map((s) => s.name), eventTypes: p.eventTypes })),
});

export const makeHandler = (deps: Pick<ApiDeps, "app">) => {
  const catalog = catalogOf(deps.app.microservices, deps.app.projections);
  return http(async () => ({ statusCode: 200, body: catalog }));
};

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
