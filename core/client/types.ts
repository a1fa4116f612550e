// What the client and its transports share: the envelope a transport sends,
// the outcome it answers, and the error for a request Ordinal refused.
import type { PendingOutcome } from "../commands.js";
import type { CommandEnvelope } from "../envelope.js";
import type { OutcomeRecord } from "../records.js";

export { MAX_WAIT_SECONDS, pendingOutcome, type PendingOutcome } from "../commands.js";

/** What a send answers: the sequencer's outcome (a rejection is one), or pending when it did not come within `wait`. */
export type Outcome = OutcomeRecord | PendingOutcome;

/** The command as it goes to a transport: an envelope without the caller's identity. */
export type OutgoingEnvelope = Omit<CommandEnvelope, "user" | "roles">;

/** How commands reach Ordinal: `http(…)` or `direct(…)`. */
export interface Transport {
  send(envelope: OutgoingEnvelope, waitSeconds: number): Promise<Outcome>;
}

/**
 * Ordinal refused the request itself (bad input 400, no credentials 401,
 * a role that may not send the command 403, …): nothing was written. A
 * command the business rules reject is not an error but an outcome.
 */
export class OrdinalClientError extends Error {
  constructor(
    readonly status: number,
    readonly body: { readonly error: string; readonly message: string; readonly [field: string]: unknown },
  ) {
    super(`${status} ${body.error}: ${body.message}`);
    this.name = "OrdinalClientError";
  }
}
