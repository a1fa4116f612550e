// GET /streams/{streamId}/state[?version=N | ?at=<ISO time> | ?verify=true]: any aggregate's state, now or then.
import { NotFoundError, ValidationError } from "../core/errors.js";
import { verifySnapshot } from "../core/history.js";
import { parseStreamId } from "../core/keys.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, lazy } from "./http.js";
import { pointInTimeOf, readState } from "./point-in-time.js";

export const makeHandler = (deps: ApiDeps) =>
  http(async (event) => {
    const streamId = event.pathParameters?.streamId ?? "";
    const parsed = parseStreamId(streamId);
    const microservice = parsed && deps.app.microservices[parsed.microservice];
    if (!microservice) throw new NotFoundError(`no stream '${streamId}': stream ids are <microservice>:<aggregateId>`);
    const verify = event.queryStringParameters?.verify;
    if (verify !== undefined && verify !== "true" && verify !== "false")
      throw new ValidationError([{ field: "verify", rule: `must be true or false, not '${verify}'` }]);
    if (verify === "true") {
      const verification = await verifySnapshot(deps.store, microservice, streamId);
      if (verification.snapshotVersion === 0 && verification.foldedVersion === 0) throw new NotFoundError(`no stream '${streamId}'`);
      return { statusCode: 200, body: { streamId, ...verification } };
    }
    const point = pointInTimeOf(event);
    const { state, version, events } = await readState(deps.store, microservice, streamId, point);
    if (events === 0) throw new NotFoundError(`no stream '${streamId}'`);
    return { statusCode: 200, body: { streamId, version, state } };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
