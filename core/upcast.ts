// Reading older shapes of events: a microservice declares, per event type,
// the steps from one version of its data to the next (`upcasters`), and every
// read path maps what it reads through one Upcast. The log is never rewritten.
import type { AnyMicroservice, Upcaster } from "./decider.js";
import type { EventRecord } from "./records.js";

/** An event as the code reads it: at its type's current version. */
export type Upcast = (event: EventRecord) => EventRecord;

/** Refuses upcasters that are not lists of functions, naming the microservice and type. */
export const checkUpcasters = (microservice: Pick<AnyMicroservice, "name" | "upcasters">): void => {
  const { name, upcasters } = microservice;
  if (upcasters === undefined) return;
  if (typeof upcasters !== "object" || upcasters === null || Array.isArray(upcasters))
    throw new Error(`${name}: upcasters must be an object of event type → list of functions`);
  for (const [type, steps] of Object.entries(upcasters as Record<string, unknown>)) {
    if (!Array.isArray(steps)) throw new Error(`${name}: upcasters.${type} must be a list of functions (version 1 → 2, 2 → 3, …)`);
    const bad = steps.findIndex((step) => typeof step !== "function");
    if (bad !== -1) throw new Error(`${name}: upcasters.${type}[${bad}] (version ${bad + 1} → ${bad + 2}) is not a function`);
  }
};

const stepsOf = (microservice: Pick<AnyMicroservice, "upcasters"> | undefined, type: string): readonly Upcaster[] =>
  ((microservice?.upcasters as Readonly<Record<string, readonly Upcaster[]>> | undefined)?.[type]) ?? [];

/**
 * The typeVersion the sequencer writes for a new event of `type`: the current
 * one, for types with upcasters; undefined (stored as absent, meaning 1) otherwise.
 */
export const currentTypeVersion = (microservice: Pick<AnyMicroservice, "upcasters"> | undefined, type: string): number | undefined => {
  const steps = stepsOf(microservice, type);
  return steps.length === 0 ? undefined : steps.length + 1;
};

/**
 * Upcasts events of these microservices to their types' current versions.
 * A current event, or one no upcaster applies to, comes back as the same
 * object; an upcast one is a new record with `storedTypeVersion`. An event
 * stored at a version newer than these microservices know is old code
 * reading new data: an error, not a guess. Events of microservices not
 * listed pass unchanged.
 */
export const upcasterOf = (microservices: Readonly<Record<string, AnyMicroservice>>): Upcast => {
  for (const microservice of Object.values(microservices)) checkUpcasters(microservice);
  return (event) => {
    const microservice = microservices[event.microservice];
    if (!microservice) return event; // not this app's to judge
    const steps = stepsOf(microservice, event.type);
    const current = steps.length + 1;
    const stored = event.typeVersion ?? 1;
    if (stored === current) return event;
    if (!Number.isInteger(stored) || stored < 1)
      throw new Error(`event ${event.eventId} (${event.microservice}.${event.type}) has typeVersion ${String(stored)}, not a version`);
    if (stored > current)
      throw new Error(
        `event ${event.eventId} (${event.microservice}.${event.type}) is stored at typeVersion ${stored}, ` +
          `newer than this code knows (${current}): deploy the code that wrote it`,
      );
    let data = event.data;
    for (const step of steps.slice(stored - 1)) data = step(data);
    return { ...event, data, typeVersion: current, storedTypeVersion: stored };
  };
};
