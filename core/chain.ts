// The causes of a command, walked back to the command that started its chain:
// a command names its cause in `causationId` (a command `key/seq`, or an event
// `streamId#version`); an event's cause is the command that produced it.
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { readOutcome, type OutcomeView } from "./commands.js";
import type { Store } from "./dynamo.js";
import { commandRefOf, parseCommandRef, parseEventRef, parseStreamId } from "./keys.js";
import type { EventRecord, OutcomeStatus } from "./records.js";

/** How far back a chain is followed: a loop or a long chain costs at most this many reads. */
export const MAX_CHAIN_STEPS = 20;

export type ChainStep =
  | {
      readonly kind: "command";
      readonly ref: string;
      readonly key: string;
      readonly seq: number;
      readonly status: OutcomeStatus | "pending";
      /** Absent while the command is pending and no longer the latest under its key. */
      readonly command?: string;
      readonly microservice?: string;
      readonly streamId?: string;
      readonly user?: string;
    }
  | {
      readonly kind: "event";
      readonly ref: string;
      readonly eventId: string;
      readonly type: string;
      readonly streamId: string;
      readonly version: number;
    }
  /** A cause that cannot be read: never written, or not a command or event reference (callers may send any causationId). */
  | { readonly kind: "missing"; readonly ref: string; readonly reason: string }
  /** The walk stopped here: `ref` is the next cause, for a client to follow. */
  | { readonly kind: "more"; readonly ref: string; readonly reason: string };

/** What a walk reads, as plain functions: the store in production, maps in unit tests. */
export interface ChainReaders {
  readonly outcome: (key: string, seq: number) => Promise<OutcomeView | undefined>;
  readonly event: (streamId: string, version: number) => Promise<EventRecord | undefined>;
}

const commandStep = (ref: string, key: string, seq: number, outcome: OutcomeView): ChainStep => {
  if (outcome.status === "pending") return { kind: "command", ref, key, seq, status: "pending" };
  return {
    kind: "command",
    ref,
    key,
    seq,
    status: outcome.status,
    command: outcome.command,
    microservice: parseStreamId(outcome.streamId)?.microservice,
    streamId: outcome.streamId,
    user: outcome.user,
  };
};

/**
 * The causes of a command whose causationId is `cause`, nearest first, ending
 * at the command that started the chain (the one with no cause). Stops at a
 * cause it cannot read, at a cause seen before, and after `maxSteps` steps.
 */
export const walkChain = async (cause: string | undefined, readers: ChainReaders, maxSteps = MAX_CHAIN_STEPS): Promise<ChainStep[]> => {
  const steps: ChainStep[] = [];
  const seen = new Set<string>();
  let ref = cause;
  while (ref !== undefined) {
    if (seen.has(ref)) return [...steps, { kind: "missing", ref, reason: "a cause already in this chain: the chain loops" }];
    if (steps.length >= maxSteps) return [...steps, { kind: "more", ref, reason: `the chain is longer than ${maxSteps} steps` }];
    seen.add(ref);
    const event = parseEventRef(ref);
    if (event) {
      const found = await readers.event(event.streamId, event.version);
      if (!found) return [...steps, { kind: "missing", ref, reason: `no event ${event.version} in stream '${event.streamId}'` }];
      steps.push({ kind: "event", ref, eventId: found.eventId, type: found.type, streamId: found.streamId, version: found.version });
      ref = found.causationId ?? commandRefOf(found.commandKey, found.commandSeq);
      continue;
    }
    const command = parseCommandRef(ref);
    if (!command) return [...steps, { kind: "missing", ref, reason: "neither a command (key/seq) nor an event (streamId#version)" }];
    const outcome = await readers.outcome(command.key, command.seq);
    if (!outcome) return [...steps, { kind: "missing", ref, reason: `no command ${command.seq} was sent under key '${command.key}'` }];
    steps.push(commandStep(ref, command.key, command.seq, outcome));
    ref = outcome.causationId;
  }
  return steps;
};

/** Readers over the outcomes, commands and events tables. */
export const storeReaders = (store: Store): ChainReaders => ({
  outcome: (key, seq) => readOutcome(store, key, seq),
  event: async (streamId, version) => {
    const result = await store.db.send(new GetCommand({ TableName: store.tables.events, Key: { streamId, version }, ConsistentRead: true }));
    return result.Item as EventRecord | undefined;
  },
});
