// A projection is an event handler defined once: its name, the microservices
// and events it takes, which read-model item each event folds into, and how.
// The engine runs it live from Kinesis and replayed from its FIFO queue, and
// serves the GET routes it declares over its read models.
import type { EventsOf } from "../decider.js";
import type { HttpAnswer } from "../errors.js";
import type { EventRecord } from "../records.js";
import type { ReadModelFilter } from "./read-models.js";

/** What a handler needs to know of a microservice it follows: its name (and, for types, its events). */
export interface Source {
  readonly name: string;
}

/** The events of `From` whose type is one of `T`: what a handler of those types receives. */
export type EventsOfTypes<From extends readonly Source[], T extends string> = Extract<EventsOf<From[number]>, { readonly type: T }>;

/** A projection's read models, as its routes read them. */
export interface ReadModels<M> {
  /** One item's model, or undefined when no event has reached it. */
  get(key: string): Promise<M | undefined>;
  /** Every item, in key order; `filter` narrows what DynamoDB returns. */
  query(filter?: ReadModelFilter): Promise<{ readonly key: string; readonly model: M }[]>;
}

/** A request to a projection's GET route. */
export interface QueryRequest<M> {
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Now, ms since epoch (the deployment's clock). */
  readonly now: number;
  readonly readModels: ReadModels<M>;
}

/** A GET route over a projection's read models; may read them only. */
export interface QueryRoute<M> {
  /** API Gateway path syntax: `/users/{user}/carts`. */
  readonly path: string;
  readonly answer: (request: QueryRequest<M>) => Promise<HttpAnswer>;
}

export interface Projection<M = unknown, E extends EventRecord = EventRecord> {
  /** Also the partition of its items in the projections table and the name of its consumer and queues. */
  readonly name: string;
  /**
   * Bump it when `evolve`, `keyOf` or the event types change what the read
   * models hold: a deployment whose version differs from the serving
   * generation's rebuilds the projection from the archive, with no gap. 1 when absent.
   */
  readonly version?: number;
  /** The microservices whose events it takes: event type names are unique per microservice only. */
  readonly from: readonly Source[];
  readonly eventTypes: readonly string[];
  /** The read-model item an event belongs to. */
  keyOf(event: E): string;
  readonly initial: M;
  evolve(model: M, event: E): M;
  /** GET routes over its read models. */
  readonly routes?: readonly QueryRoute<M>[];
}

/** A projection as the engine runs it: events checked by `accepts`, not by type. */
export type AnyProjection = Projection<any, any>;

/**
 * Keeps the inferred types: `evolve` and `keyOf` get the events of `from`'s
 * microservices narrowed to `eventTypes`, with no cast.
 */
export const defineProjection = <const From extends readonly Source[], const T extends EventsOf<From[number]>["type"], M>(definition: {
  readonly name: string;
  readonly version?: number;
  readonly from: From;
  readonly eventTypes: readonly T[];
  keyOf(event: EventsOfTypes<From, T>): string;
  readonly initial: M;
  evolve(model: M, event: EventsOfTypes<From, T>): M;
  readonly routes?: readonly QueryRoute<M>[];
}): Projection<M, EventsOfTypes<From, T>> => definition as Projection<M, EventsOfTypes<From, T>>;

/** Whether an event is one a handler (a projection or a process manager) takes: of its microservices, of its types. */
export const accepts = (handler: { readonly from: readonly Source[]; readonly eventTypes: readonly string[] }, event: EventRecord): boolean =>
  handler.from.some((source) => source.name === event.microservice) && handler.eventTypes.includes(event.type);
