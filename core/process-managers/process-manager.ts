// A process manager is `react(event) → commands`: it follows events of the
// log and answers them with commands to microservices. Like a projection it
// names the events it takes; unlike one it keeps no state of its own: what it
// needs to know travels in the events (a reservation id names its cart).
import type { Message, OutgoingCommand } from "../decider.js";
import type { EventRecord } from "../records.js";

/** An event as the log holds it, with its type and data narrowed to one of `E`. */
export type ReceivedEvent<E extends Message> = Omit<EventRecord, "type" | "data"> & E;

export interface ProcessManager<E extends Message = Message> {
  /** Also the identity its commands are sent with: `service:<name>`. */
  readonly name: string;
  /** Only events of this microservice, when set: event type names are unique per microservice only. */
  readonly microservice?: string;
  readonly eventTypes: readonly E["type"][];
  /** The commands an event calls for, in the order they are to be sent; [] for none. */
  react(event: ReceivedEvent<E>): readonly OutgoingCommand[];
}

/** Keeps the inferred event types of a definition. */
export const defineProcessManager = <E extends Message>(definition: ProcessManager<E>): ProcessManager<E> => definition;
