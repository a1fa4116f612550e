// A process manager is `react(event) → commands`: it follows events of the
// log and answers them with commands to microservices. Like a projection it
// names the microservices and events it takes; unlike one it keeps no state
// of its own: what it needs to know travels in the events (a reservation id
// names its cart).
import type { EventsOf, OutgoingCommand } from "../decider.js";
import type { EventRecord } from "../records.js";
import type { EventsOfTypes, Source } from "../projections/projection.js";

export interface ProcessManager<E extends EventRecord = EventRecord> {
  /** Also the identity its commands are sent with (`service:<name>`) and the name of its consumer. */
  readonly name: string;
  /** The microservices whose events it takes: event type names are unique per microservice only. */
  readonly from: readonly Source[];
  readonly eventTypes: readonly string[];
  /** The commands an event calls for, in the order they are to be sent; [] for none. */
  react(event: E): readonly OutgoingCommand[];
}

/** A process manager as the engine runs it: events checked by `accepts`, not by type. */
export type AnyProcessManager = ProcessManager<any>;

/** Keeps the inferred types: `react` gets the events of `from`'s microservices narrowed to `eventTypes`. */
export const defineProcessManager = <const From extends readonly Source[], const T extends EventsOf<From[number]>["type"]>(definition: {
  readonly name: string;
  readonly from: From;
  readonly eventTypes: readonly T[];
  react(event: EventsOfTypes<From, T>): readonly OutgoingCommand[];
}): ProcessManager<EventsOfTypes<From, T>> => definition as ProcessManager<EventsOfTypes<From, T>>;
