import type { z } from "zod";

/** A command or an event: a discriminated union on `type` with a JSON `data`. */
export interface Message<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
}

/** What the outside world tells a decider: time and identity are never made up inside. */
export interface DecideContext {
  /** When the command is for (its `timestamp`, or when the API received it), ms since epoch. */
  readonly now: number;
  /** The caller. */
  readonly user: string;
  readonly aggregateId: string;
}

/** A refused command: a stable reason code and a message for humans. */
export interface Rejection {
  readonly rejected: true;
  readonly reason: string;
  readonly message: string;
}

export const reject = (reason: string, message: string): Rejection => ({ rejected: true, reason, message });

export const isRejection = (value: unknown): value is Rejection =>
  typeof value === "object" && value !== null && (value as Rejection).rejected === true;

export type Decision<E> = readonly E[] | Rejection;

/**
 * How commands are keyed in the commands table: one key per aggregate spreads
 * load; one key per microservice gives one total order for all of it.
 */
export type PartitionBy = "aggregate" | "microservice";

// Schemas are zod objects; the command map types each command name's payload.
export type CommandSchemas = Record<string, z.ZodType<Record<string, unknown>>>;

export type CommandOf<S extends CommandSchemas> = {
  [K in keyof S & string]: Message<K, z.output<S[K]>>;
}[keyof S & string];

export interface Microservice<S extends CommandSchemas = CommandSchemas, State = unknown, E extends Message = Message> {
  readonly name: string;
  readonly partitionBy: PartitionBy;
  /** Bump when the shape of State changes: older snapshots are then rebuilt from the log. */
  readonly schemaVersion: number;
  readonly commands: S;
  readonly initialState: State;
  readonly decide: (command: CommandOf<S>, state: State, context: DecideContext) => Decision<E>;
  readonly evolve: (state: State, event: E) => State;
}

/** Identity function that keeps the inferred types of a microservice definition. */
export const defineMicroservice = <S extends CommandSchemas, State, E extends Message>(
  definition: Microservice<S, State, E>,
): Microservice<S, State, E> => definition;

/** The engine only ever sees microservices through this erased view. */
export type AnyMicroservice = Microservice<CommandSchemas, unknown, Message>;

export const fold = <State, E>(evolve: (state: State, event: E) => State, initial: State, events: Iterable<E>): State => {
  let state = initial;
  for (const event of events) state = evolve(state, event);
  return state;
};
