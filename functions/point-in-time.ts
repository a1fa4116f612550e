// The `version` / `at` query parameters shared by every point-in-time read.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { AnyMicroservice } from "../core/decider.js";
import type { Store } from "../core/dynamo.js";
import { ValidationError } from "../core/errors.js";
import { stateAt, type PointInTime } from "../core/history.js";
import { readAggregate } from "../core/aggregates.js";
import { integerParam } from "./http.js";
import { INSTANT_RULE, isoInstant } from "../core/iso8601.js";

export const pointInTimeOf = (event: APIGatewayProxyEventV2): PointInTime | undefined => {
  const query = event.queryStringParameters ?? {};
  if (query.version !== undefined && query.at !== undefined)
    throw new ValidationError([{ field: "version", rule: "give either version or at, not both" }]);
  const version = integerParam(query.version, "version", { min: 0, max: Number.MAX_SAFE_INTEGER });
  if (version !== undefined) return { version };
  if (query.at === undefined) return undefined;
  if (!isoInstant.safeParse(query.at).success) throw new ValidationError([{ field: "at", rule: `${INSTANT_RULE}, not '${query.at}'` }]);
  return { at: Date.parse(query.at) };
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
