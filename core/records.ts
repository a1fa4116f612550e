// The items Ordinal keeps, one interface per table.

/** A command as the commands table's stream delivers it (the counter item's new image). */
export interface CommandRecord {
  readonly key: string;
  readonly seq: number;
  readonly type: string;
  readonly command: string;
  readonly aggregateId: string;
  readonly id: string | number;
  readonly user: string;
  /** The caller's roles (absent on commands written before roles existed). */
  readonly roles?: readonly string[];
  /** The first command of the chain this one belongs to; absent means this command starts it. */
  readonly correlationId?: string;
  /** The command (`key/seq`) or event (`streamId#version`) that caused this one; absent when a caller sent it unprompted. */
  readonly causationId?: string;
  /** When the command is for: the client's `timestamp`, else when the API received it. */
  readonly occurredAt: number;
  readonly receivedAt: number;
  readonly payload: Record<string, unknown>;
}

export interface EventRecord {
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly data: unknown;
  /**
   * The version of its type's data shape it was written at; absent means 1.
   * Written only for types with upcasters, so items of unversioned types do not grow.
   */
  readonly typeVersion?: number;
  /** The typeVersion it was stored at, when reading upcast it: set by upcasting only, never stored. */
  readonly storedTypeVersion?: number;
  /** `streamId#version`: stable across retries, so downstream can de-duplicate on it. */
  readonly eventId: string;
  readonly microservice: string;
  readonly aggregateId: string;
  readonly commandKey: string;
  readonly commandSeq: number;
  readonly commandId: string | number;
  readonly user: string;
  /** The chain's first command, `key/seq`. */
  readonly correlationId: string;
  /** The command that produced this event, `key/seq`. */
  readonly causationId: string;
  readonly occurredAt: number;
  readonly recordedAt: number;
}

export interface SnapshotRecord {
  readonly streamId: string;
  readonly version: number;
  /** The microservice's schemaVersion the state was written with. */
  readonly schemaVersion: number;
  /** The last command seq (of the aggregate's one command key) applied: the sequencer's checkpoint. */
  readonly lastSeq: number;
  readonly state: unknown;
  readonly updatedAt: number;
}

/** A command a decider sent to another microservice, as the sending command's outcome lists it. */
export interface SentCommand {
  readonly type: string;
  readonly command: string;
  readonly aggregateId: string;
  /** The command key it was counted under; its seq is assigned by the counter in the same transaction. */
  readonly key: string;
  /** Its request id, derived from the sending command: `key/seq>n`. */
  readonly id: string;
}

export type OutcomeStatus = "accepted" | "rejected" | "duplicate";

export interface OutcomeRecord {
  readonly key: string;
  readonly seq: number;
  readonly status: OutcomeStatus;
  readonly streamId: string;
  readonly commandId: string | number;
  readonly command: string;
  readonly user: string;
  readonly correlationId: string;
  readonly causationId?: string;
  readonly events?: readonly { readonly version: number; readonly type: string; readonly data: unknown }[];
  readonly reason?: string;
  readonly message?: string;
  readonly original?: { readonly key: string; readonly seq: number };
  /** Commands this one sent to other microservices, written in the same transaction as its events. */
  readonly sent?: readonly SentCommand[];
  readonly recordedAt: number;
}

export interface RequestRecord {
  readonly requestKey: string;
  readonly key: string;
  readonly seq: number;
}
