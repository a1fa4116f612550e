// GET /streams/{streamId}/events?after=&limit=: a stream's events in version order, a page at a time.
import { NotFoundError } from "../core/errors.js";
import { readEvents } from "../core/events.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, integerParam, lazy } from "./http.js";

const iso = (ms: number) => new Date(ms).toISOString();

export const makeHandler = (deps: ApiDeps) =>
  http(async (event) => {
    const streamId = event.pathParameters?.streamId ?? "";
    const query = event.queryStringParameters ?? {};
    const after = integerParam(query.after, "after", { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 })!;
    const limit = integerParam(query.limit, "limit", { min: 1, max: 1000, fallback: 100 })!;
    const page = await readEvents(deps.store, streamId, after, limit);
    if (after === 0 && page.events.length === 0) throw new NotFoundError(`no stream '${streamId}'`);
    const last = page.events.at(-1);
    return {
      statusCode: 200,
      body: {
        streamId,
        events: page.events.map((e) => ({
          version: e.version,
          type: e.type,
          // Read at the type's current version; storedTypeVersion says when it was stored at an older one.
          ...(e.typeVersion === undefined ? {} : { typeVersion: e.typeVersion }),
          ...(e.storedTypeVersion === undefined ? {} : { storedTypeVersion: e.storedTypeVersion }),
          data: e.data,
          eventId: e.eventId,
          commandKey: e.commandKey,
          commandSeq: e.commandSeq,
          commandId: e.commandId,
          user: e.user,
          // Absent on events written before commands carried a chain.
          ...(e.correlationId === undefined ? {} : { correlationId: e.correlationId }),
          ...(e.causationId === undefined ? {} : { causationId: e.causationId }),
          occurredAt: iso(e.occurredAt),
          recordedAt: iso(e.recordedAt),
        })),
        ...(page.more && last ? { next: `/streams/${encodeURIComponent(streamId)}/events?after=${last.version}&limit=${limit}` } : {}),
      },
    };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
