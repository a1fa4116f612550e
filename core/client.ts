// The typed client another TypeScript service sends commands with:
// `await ordinal.send("cart", "AddItem", cartId, payload, { wait: 5 })`. Command
// names and payloads are inferred from the microservice definitions; the
// transport either talks to the API over HTTP or appends to the commands
// table itself, with the API's own validation either way.
import { ulid } from "ulid";
import type { z } from "zod";
import type { CommandSchemas } from "./decider.js";
import { MAX_WAIT_SECONDS, OrdinalClientError, type Outcome, type Transport } from "./client/types.js";

export interface SendOptions {
  /** The request id; a resend with the same id is answered `duplicate`. A ULID when absent. */
  readonly id?: string | number;
  /** Seconds to wait for the outcome (0 to MAX_WAIT_SECONDS); 0, the default, answers pending at once. */
  readonly wait?: number;
  /** When the command is for, ms since epoch; when received, if absent. */
  readonly timestamp?: number;
  /** The chain this command belongs to; it starts one when absent. */
  readonly correlationId?: string;
  /** The command (`key/seq`) or event (`streamId#version`) that caused this one. */
  readonly causationId?: string;
}

/** Microservices as the client sees them: only their command schemas matter. */
export type AnyRegistry = Readonly<Record<string, { readonly commands: CommandSchemas }>>;

type CommandsOf<R extends AnyRegistry, M extends keyof R> = R[M]["commands"];

/** `R` is the app's registry (`Registry` of core/app.ts, or `RegistryOf<typeof app>`). */
export interface Client<R extends AnyRegistry> {
  send<M extends keyof R & string, C extends keyof CommandsOf<R, M> & string>(
    type: M,
    command: C,
    aggregateId: string,
    payload: z.input<CommandsOf<R, M>[C]>,
    options?: SendOptions,
  ): Promise<Outcome>;
}

const checkWait = (wait: number) => {
  if (!Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT_SECONDS)
    throw new OrdinalClientError(400, {
      error: "ValidationError",
      message: `wait: must be an integer from 0 to ${MAX_WAIT_SECONDS}, not '${wait}'`,
      issues: [{ field: "wait", rule: `must be an integer from 0 to ${MAX_WAIT_SECONDS}, not '${wait}'` }],
    });
  return wait;
};

export const createClient = <R extends AnyRegistry>(transport: Transport): Client<R> => ({
  send: async (type, command, aggregateId, payload, options = {}) => {
    const wait = checkWait(options.wait ?? 0);
    return transport.send(
      {
        type,
        command,
        aggregateId,
        id: options.id ?? ulid(),
        ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
        ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
        ...(options.causationId === undefined ? {} : { causationId: options.causationId }),
        payload: payload as Record<string, unknown>,
      },
      wait,
    );
  },
});

export * from "./client/types.js";
export { direct, type DirectOptions } from "./client/direct.js";
export { http, type HttpOptions, type Credentials } from "./client/http.js";
