// The `version` / `at` query parameters shared by every point-in-time read.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { AnyMicroservice } from "../core/decider.js";
import type { Store } from "../core/dynamo.js";
import { ValidationError } from "../core/errors.js";
import { stateAt, type PointInTime } from "../core/history.js";
import { readAggregate } from "../core/aggregates.js";
import { integerParam } from "./http.js";

// ISO 8601 with a date, a time and a zone, e.g. 2026-11-23T14:00:00Z or 2026-11-23T15:00:00.5+01:00.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export const pointInTimeOf = (event: APIGatewayProxyEventV2): PointInTime | undefined => {
  const query = event.queryStringParameters ?? {};
  if (query.version !== undefined && query.at !== undefined)
    throw new ValidationError([{ field: "version", rule: "give either version or at, not both" }]);
  const version = integerParam(query.version, "version", { min: 0, max: Number.MAX_SAFE_INTEGER });
  if (version !== undefined) return { version };
  if (query.at === undefined) return undefined;
  const at = Date.parse(query.at);
  if (!ISO_INSTANT.test(query.at) || Number.isNaN(at))
    throw new ValidationError([{ field: "at", rule: `must be an ISO 8601 time with a zone, such as 2026-11-23T14:00:00Z, not '${query.at}'` }]);
  return { at };
};

/** The state now (from the snapshot) or at a point in time (folded from the log). */
export const readState = async (store: Store, microservice: AnyMicroservice, streamId: string, point: PointInTime | undefined) => {
  if (!point) {
    const { state, version } = await readAggregate(store, microservice, streamId);
    return { state, version, events: version };
  }
  const historic = await stateAt(store, microservice, streamId, point);
  if ("version" in point && point.version > historic.events)
    throw new ValidationError([{ field: "version", rule: `must be at most ${historic.events}, the stream's current version` }]);
  return historic;
};
