// Runs a process manager over a batch of events: each reaction goes out
// through the typed client, named after the event that caused it, so a
// redelivered event's commands are answered `duplicate` by the sequencer
// instead of being applied twice.
import type { AnyRegistry, Client } from "../client.js";
import type { Caller } from "../envelope.js";
import { SERVICE_ROLE, serviceUserOf } from "../keys.js";
import type { EventRecord } from "../records.js";
import { accepts } from "../projections/projection.js";
import type { Upcast } from "../upcast.js";
import type { AnyProcessManager } from "./process-manager.js";

/** The identity a process manager sends with. */
export const callerOf = (manager: AnyProcessManager): Caller => ({ user: serviceUserOf(manager.name), roles: [SERVICE_ROLE] });

/** The request id of the `index`th command an event caused: the same on every delivery of the event. */
export const requestIdOf = (event: EventRecord, index: number): string => `${event.eventId}>${index}`;

export interface RunResult {
  /** The first event whose commands were not all sent, and why; the events after it were not looked at. */
  readonly failed?: { readonly index: number; readonly error: unknown };
}

/**
 * Reacts to the events in order, sending each reaction's commands in order;
 * stops at the first that fails. `upcast` (the store's) lets `react` see
 * every event at its type's current version.
 */
export const runProcessManager = async (
  manager: AnyProcessManager,
  client: Client<AnyRegistry>,
  delivered: readonly EventRecord[],
  upcast?: Upcast,
): Promise<RunResult> => {
  const events = upcast ? delivered.map(upcast) : delivered;
  for (const [index, event] of events.entries()) {
    if (!accepts(manager, event)) continue;
    try {
      for (const [i, command] of manager.react(event).entries())
        await client.send(command.type, command.command, command.aggregateId, command.payload, {
          id: requestIdOf(event, i),
          correlationId: event.correlationId,
          causationId: event.eventId,
        });
    } catch (error) {
      return { failed: { index, error } };
    }
  }
  return {};
};
