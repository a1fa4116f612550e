// A projection is an event handler defined once: its name, the events it
// takes, which read-model item each event folds into, and how. The engine
// runs it live from Kinesis and replayed from its FIFO queue.
import type { EventRecord } from "../records.js";

export interface Projection<M = unknown> {
  /** Also the partition of its items in the projections table. */
  readonly name: string;
  /** Only events of this microservice, when set: event type names are unique per microservice only. */
  readonly microservice?: string;
  readonly eventTypes: readonly string[];
  /** The read-model item an event belongs to. */
  keyOf(event: EventRecord): string;
  readonly initial: M;
  evolve(model: M, event: EventRecord): M;
}

/** Keeps the inferred read-model type of a definition. */
export const defineProjection = <M>(definition: Projection<M>): Projection<M> => definition;

/** Whether an event is one a handler (a projection or a process manager) takes: of its microservice, of its types. */
export const accepts = (handler: Pick<Projection, "microservice" | "eventTypes">, event: EventRecord): boolean =>
  (handler.microservice === undefined || event.microservice === handler.microservice) && handler.eventTypes.includes(event.type);
