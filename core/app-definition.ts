// The seam between the engine and an app: the microservices, projections,
// process managers and SNS subscribers a deployment runs, each named once.
// The engine derives everything else from it (core/topology.ts's
// expandTopology): consumers, queues, routes, permissions, the local runtime.
import type { AnyMicroservice, Microservice } from "./decider.js";
import type { AnyProcessManager } from "./process-managers/process-manager.js";
import type { AnyProjection } from "./projections/projection.js";
import { expandTopology, type Topology } from "./topology.js";

/** Microservices by name, their types kept: what the typed client infers commands from. */
export type MicroserviceRegistry = Readonly<Record<string, Microservice<any, any, any, any>>>;

/** A queue fed by the events topic, with an SNS filter policy on the `microservice` and `type` attributes. */
export interface SubscriberDefinition {
  readonly filterPolicy: Readonly<Record<string, readonly string[]>>;
}

export interface AppDefinition<R extends MicroserviceRegistry = MicroserviceRegistry> {
  /** Each under its own name: `{ cart, account }`. */
  readonly microservices: R;
  readonly projections?: readonly AnyProjection[];
  readonly processManagers?: readonly AnyProcessManager[];
  /** Queues subscribed to the events topic, by queue name. */
  readonly subscribers?: Readonly<Record<string, SubscriberDefinition>>;
}

/** Keeps the registry's types and refuses, at once, an app whose topology cannot be built. */
export const defineApp = <const R extends MicroserviceRegistry>(definition: AppDefinition<R>): AppDefinition<R> => {
  expandTopology(definition);
  return definition;
};

/** The typed registry of an app: `createClient<RegistryOf<typeof app>>(…)`. */
export type RegistryOf<A> = A extends AppDefinition<infer R> ? R : never;

/** An app as the engine runs it: every part by name, types erased, and the full topology. */
export interface ExpandedApp {
  readonly microservices: Readonly<Record<string, AnyMicroservice>>;
  readonly projections: Readonly<Record<string, AnyProjection>>;
  readonly processManagers: Readonly<Record<string, AnyProcessManager>>;
  readonly topology: Topology;
}

const byName = <T extends { readonly name: string }>(items: readonly T[] | undefined) =>
  Object.fromEntries((items ?? []).map((item) => [item.name, item])) as Readonly<Record<string, T>>;

export const expandApp = (definition: AppDefinition): ExpandedApp => ({
  microservices: definition.microservices as Readonly<Record<string, AnyMicroservice>>,
  projections: byName(definition.projections),
  processManagers: byName(definition.processManagers),
  topology: expandTopology(definition),
});

/** A part the deployment must run; its absence is a wiring error, not a client's. */
export const partOf = <T>(parts: Readonly<Record<string, T>>, what: string, name: string): T => {
  const part = parts[name];
  if (!part) throw new Error(`${what} '${name}' is not in the app definition`);
  return part;
};
