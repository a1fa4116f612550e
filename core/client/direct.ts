// The direct transport: for a service with write access to the commands
// table (a process manager, a batch job). It validates exactly as the API
// does, so a refusal is the same OrdinalClientError with the same status.
import { appendCommand, waitForOutcome } from "../commands.js";
import type { AnyMicroservice } from "../decider.js";
import type { Store } from "../dynamo.js";
import { parseEnvelope, type Caller } from "../envelope.js";
import { toHttp } from "../errors.js";
import { OrdinalClientError, pendingOutcome, type Transport } from "./types.js";

export interface DirectOptions {
  readonly store: Store;
  /** Who sends: what an authorizer would have established for an API call. */
  readonly caller: Caller;
  /** The microservices to validate against: the app's. */
  readonly microservices: Readonly<Record<string, AnyMicroservice>>;
  /** When a command is received, ms since epoch. */
  readonly clock?: () => number;
}

export const direct = ({ store, caller, microservices, clock = Date.now }: DirectOptions): Transport => ({
  async send(body, waitSeconds) {
    let parsed: ReturnType<typeof parseEnvelope>;
    try {
      parsed = parseEnvelope(body, microservices, caller);
    } catch (error) {
      const answer = toHttp(error);
      if (answer.statusCode >= 500) throw error;
      throw new OrdinalClientError(answer.statusCode, answer.body as OrdinalClientError["body"]);
    }
    const { key, seq } = await appendCommand(store, parsed.microservice, parsed.envelope, clock());
    const outcome = waitSeconds > 0 ? await waitForOutcome(store, key, seq, waitSeconds * 1000) : undefined;
    return outcome ?? pendingOutcome(key, seq, parsed.envelope);
  },
});
