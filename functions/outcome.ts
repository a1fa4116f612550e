// GET /commands/{key}/{seq}: a command's outcome, or pending while the sequencer has not reached it,
// with the chain of commands and events that caused it.
import { storeReaders, walkChain } from "../core/chain.js";
import { readOutcome, type OutcomeView } from "../core/commands.js";
import { NotFoundError, type HttpAnswer } from "../core/errors.js";
import { apiDepsFromEnv, type ApiDeps } from "./deps.js";
import { http, integerParam, lazy } from "./http.js";

const STATUS = { pending: 202, accepted: 200, duplicate: 200, rejected: 409 } as const;

export const outcomeUrl = (key: string, seq: number) => `/commands/${encodeURIComponent(key)}/${seq}`;

/** The outcome as JSON, with the status code a client acts on. */
export const outcomeAnswer = (outcome: OutcomeView): HttpAnswer => ({
  statusCode: STATUS[outcome.status],
  body: { ...outcome, outcomeUrl: outcomeUrl(outcome.key, outcome.seq) },
});

export const makeHandler = (deps: ApiDeps) =>
  http(async (event) => {
    const key = event.pathParameters?.key ?? "";
    const seq = integerParam(event.pathParameters?.seq, "seq", { min: 1, max: Number.MAX_SAFE_INTEGER })!;
    const outcome = await readOutcome(deps.store, key, seq);
    if (!outcome) throw new NotFoundError(`no command ${seq} was sent under key '${key}'`);
    const chain = await walkChain(outcome.causationId, storeReaders(deps.store));
    // The outcome resource exists whatever the command's fate: 200, with the status inside.
    return { statusCode: 200, body: { ...outcomeAnswer(outcome).body, chain } };
  });

export const handler = lazy(() => makeHandler(apiDepsFromEnv()));
