import type { z } from "zod";
import type { EventRecord } from "./records.js";
import { checkUpcasters } from "./upcast.js";

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
  /** The caller's roles, as the authorizer (or, on the open local stack, the body) gave them. */
  readonly roles: readonly string[];
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

/** A command one microservice sends another: written with the events that caused it, in one transaction. */
export interface OutgoingCommand {
  /** The target microservice. */
  readonly type: string;
  readonly command: string;
  readonly aggregateId: string;
  readonly payload: Record<string, unknown>;
}

/** Events, and the commands they cause in other microservices. */
export interface Emission<E> {
  readonly events: readonly E[];
  readonly commands: readonly OutgoingCommand[];
}

export type Decision<E> = readonly E[] | Emission<E> | Rejection;

export const emit = <E>(events: readonly E[], ...commands: OutgoingCommand[]): Emission<E> => ({ events, commands });

/** A decision as events plus outgoing commands, whichever form the decider returned. */
export const emissionOf = <E>(decision: readonly E[] | Emission<E>): Emission<E> =>
  Array.isArray(decision) ? { events: decision as readonly E[], commands: [] } : (decision as Emission<E>);

/**
 * A typed way to address another microservice's commands from a decider:
 * `commandTo("inventory", inventoryCommands)("ReserveStock", "main", {...})`.
 */
export const commandTo =
  <S extends CommandSchemas>(microservice: string, _schemas: S) =>
  <C extends keyof S & string>(command: C, aggregateId: string, payload: z.input<S[C]>): OutgoingCommand => ({
    type: microservice,
    command,
    aggregateId,
    payload: payload as Record<string, unknown>,
  });

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

/**
 * A shaped read of one aggregate, served at `GET <path>` beside the generic
 * `GET /streams/{streamId}/state`, with the same `?version` / `?at`.
 */
export interface View<State = unknown> {
  /** API Gateway syntax with exactly one parameter, the aggregate id: `/carts/{cartId}`. */
  readonly path: string;
  /** The body for the state at `version`; undefined answers 404. */
  readonly render: (aggregateId: string, state: State, version: number) => Record<string, unknown> | undefined;
  /** What the 404 calls the aggregate ("no warehouse 'x'"); the microservice's name when absent. */
  readonly noun?: string;
}

/** Turns one version of an event type's data into the next version's. */
export type Upcaster = (data: any) => unknown;

/**
 * Per event type, the steps from version 1's data to the current version's:
 * n steps make the current version n + 1. The last step returns the data as
 * the event union declares it; keys are the microservice's event types.
 */
export type Upcasters<E extends Message = Message> = {
  readonly [T in E["type"]]?: readonly [...Upcaster[], (data: any) => Extract<E, { readonly type: T }>["data"]];
};

export interface Microservice<
  S extends CommandSchemas = CommandSchemas,
  State = unknown,
  E extends Message = Message,
  N extends string = string,
> {
  /** Also the `type` clients send and the prefix of its stream ids. */
  readonly name: N;
  readonly partitionBy: PartitionBy;
  /**
   * The one aggregate of a microservice whose whole state is one stream
   * (`partitionBy: "microservice"` only): a command without `aggregateId` is for it.
   */
  readonly singleAggregate?: string;
  /** An optional shaped read of an aggregate (`GET /carts/{cartId}`). */
  readonly view?: View<State>;
  /** Bump when the shape of State changes: older snapshots are then rebuilt from the log. */
  readonly schemaVersion: number;
  readonly commands: S;
  /**
   * Who may send each command: a caller needs one of the listed roles. A
   * command not listed is open to any authenticated caller. Checked by the
   * API before anything is written (403) and again by the sequencer.
   */
  readonly roles?: { readonly [K in keyof S & string]?: readonly string[] };
  readonly initialState: State;
  readonly decide: (command: CommandOf<S>, state: State, context: DecideContext) => Decision<E>;
  readonly evolve: (state: State, event: E) => State;
  /**
   * How older shapes of its events are read: run wherever events are read,
   * never rewriting the log; new events are written at the current version.
   */
  readonly upcasters?: NoInfer<Upcasters<E>>;
}

/** Identity function that keeps the inferred types of a microservice definition. */
export const defineMicroservice = <S extends CommandSchemas, State, E extends Message, const N extends string>(
  definition: Microservice<S, State, E, N>,
): Microservice<S, State, E, N> => {
  if (definition.singleAggregate !== undefined && definition.partitionBy !== "microservice")
    throw new Error(`${definition.name}: singleAggregate needs partitionBy "microservice" (one command key, one stream)`);
  checkUpcasters(definition);
  return definition;
};

/** The events a microservice writes, as the log holds them: its event union with the record's fields. */
export type EventsOf<M> = M extends Microservice<any, any, infer E, infer N> ? ReceivedEvent<E, N> : never;

/** An event as the log holds it, with its type and data narrowed to one of `E` (of microservice `N`). */
export type ReceivedEvent<E extends Message, N extends string = string> = E extends Message
  ? Omit<EventRecord, "type" | "data" | "microservice"> & { readonly microservice: N } & E
  : never;

/** The engine only ever sees microservices through this erased view. */
export type AnyMicroservice = Microservice<CommandSchemas, unknown, Message, string>;

export const fold = <State, E>(evolve: (state: State, event: E) => State, initial: State, events: Iterable<E>): State => {
  let state = initial;
  for (const event of events) state = evolve(state, event);
  return state;
};

/** Why `roles` refuses a caller, or undefined when it may send the command. */
export const forbiddenRole = (microservice: AnyMicroservice, command: string, roles: readonly string[]): string | undefined => {
  const allowed = microservice.roles?.[command];
  if (!allowed || allowed.some((role) => roles.includes(role))) return undefined;
  return `${microservice.name}.${command} may only be sent by a caller with role ${allowed.map((r) => `'${r}'`).join(" or ")}`;
};
