// The sequencer's decisions on plain data: no I/O, so every rule of grouping,
// de-duplication and splitting is unit-tested without DynamoDB.
import type { Aggregate } from "../aggregates.js";
import { isRejection, type AnyMicroservice, type Message } from "../decider.js";
import { issuesOf } from "../envelope.js";
import { requestKeyOf, streamIdOf } from "../keys.js";
import type { CommandRecord, EventRecord, OutcomeRecord, RequestRecord } from "../records.js";

/** DynamoDB's limit on items per TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;
/** One command's events, its outcome, its request id and the snapshot must fit one transaction. */
export const MAX_EVENTS_PER_COMMAND = MAX_TRANSACTION_ITEMS - 3;

export interface Group {
  readonly streamId: string;
  readonly microservice: string;
  readonly aggregateId: string;
  /** In seq order, each (key, seq) once. */
  readonly commands: readonly CommandRecord[];
}

/** Splits a batch by aggregate, keeping the order of each key and dropping repeated records. */
export const groupByStream = (records: readonly CommandRecord[]): Group[] => {
  const groups = new Map<string, { streamId: string; microservice: string; aggregateId: string; commands: CommandRecord[] }>();
  const seen = new Set<string>();
  for (const record of records) {
    const id = `${record.key}\u0000${record.seq}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const streamId = streamIdOf(record.type, record.aggregateId);
    let group = groups.get(streamId);
    if (!group) {
      group = { streamId, microservice: record.type, aggregateId: record.aggregateId, commands: [] };
      groups.set(streamId, group);
    }
    group.commands.push(record);
  }
  for (const group of groups.values()) group.commands.sort((a, b) => a.seq - b.seq);
  return [...groups.values()];
};


export interface Step {
  readonly command: CommandRecord;
  readonly outcome: OutcomeRecord;
  readonly events: readonly EventRecord[];
  /** The client request id this command takes; absent for a duplicate. */
  readonly request?: RequestRecord;
  readonly after: Aggregate;
}

export interface PlanInput {
  readonly group: Group;
  readonly microservice: AnyMicroservice | undefined;
  readonly current: Aggregate;
  /** Request ids already taken, as stored: requestKey → the command that took it. */
  readonly taken: ReadonlyMap<string, { readonly key: string; readonly seq: number }>;
  readonly now: number;
}

type Verdict = { events: readonly Message[] } | { reason: string; message: string };

const judge = (microservice: AnyMicroservice | undefined, command: CommandRecord, state: unknown): Verdict => {
  // The API validated these already; the sequencer checks again because the
  // commands table can be written by other means (services with table access).
  if (!microservice) return { reason: "UnknownMicroservice", message: `no microservice '${command.type}'` };
  const schema = microservice.commands[command.command];
  if (!schema) return { reason: "UnknownCommand", message: `${microservice.name} has no command '${command.command}'` };
  const payload = schema.safeParse(command.payload);
  if (!payload.success)
    return {
      reason: "InvalidCommand",
      message: issuesOf(payload.error, "payload").map((issue) => `${issue.field}: ${issue.rule}`).join("; "),
    };
  const decision = microservice.decide({ type: command.command, data: payload.data }, state, {
    now: command.occurredAt,
    user: command.user,
    aggregateId: command.aggregateId,
  });
  if (isRejection(decision)) return { reason: decision.reason, message: decision.message };
  if (decision.length > MAX_EVENTS_PER_COMMAND)
    return { reason: "TooManyEvents", message: `a command may produce at most ${MAX_EVENTS_PER_COMMAND} events, not ${decision.length}` };
  return { events: decision };
};

/** Decides every command of one aggregate not yet applied, in order. */
export const planGroup = ({ group, microservice, current, taken, now }: PlanInput): Step[] => {
  const steps: Step[] = [];
  const takenHere = new Map(taken);
  let aggregate = current;
  for (const command of group.commands) {
    if (command.seq <= aggregate.lastSeq) continue; // applied by an earlier delivery
    const base = {
      key: command.key,
      seq: command.seq,
      streamId: group.streamId,
      commandId: command.id,
      command: command.command,
      user: command.user,
      recordedAt: now,
    };
    const requestKey = requestKeyOf(command.type, command.user, command.id);
    const original = takenHere.get(requestKey);
    if (original) {
      aggregate = { ...aggregate, lastSeq: command.seq };
      steps.push({ command, outcome: { ...base, status: "duplicate", original }, events: [], after: aggregate });
      continue;
    }
    takenHere.set(requestKey, { key: command.key, seq: command.seq });
    const request = { requestKey, key: command.key, seq: command.seq };
    const verdict = judge(microservice, command, aggregate.state);
    if (!("events" in verdict)) {
      aggregate = { ...aggregate, lastSeq: command.seq };
      steps.push({ command, outcome: { ...base, status: "rejected", ...verdict }, events: [], request, after: aggregate });
      continue;
    }
    const events = verdict.events.map((event, i): EventRecord => {
      const version = aggregate.version + i + 1;
      return {
        streamId: group.streamId,
        version,
        type: event.type,
        data: event.data,
        eventId: `${group.streamId}#${version}`,
        microservice: command.type,
        aggregateId: command.aggregateId,
        commandKey: command.key,
        commandSeq: command.seq,
        commandId: command.id,
        user: command.user,
        occurredAt: command.occurredAt,
        recordedAt: now,
      };
    });
    const state = microservice ? verdict.events.reduce(microservice.evolve, aggregate.state) : aggregate.state;
    aggregate = { state, version: aggregate.version + events.length, lastSeq: command.seq };
    const summary = events.map(({ version, type, data }) => ({ version, type, data }));
    steps.push({ command, outcome: { ...base, status: "accepted", events: summary }, events, request, after: aggregate });
  }
  return steps;
};

const itemsOf = (step: Step) => step.events.length + 1 + (step.request ? 1 : 0);

/** Splits steps into transactions of at most `maxItems`, each carrying one snapshot write. */
export const chunkSteps = (steps: readonly Step[], maxItems = MAX_TRANSACTION_ITEMS): Step[][] => {
  const chunks: Step[][] = [];
  let chunk: Step[] = [];
  let items = 1; // the snapshot
  for (const step of steps) {
    if (chunk.length > 0 && items + itemsOf(step) > maxItems) {
      chunks.push(chunk);
      chunk = [];
      items = 1;
    }
    chunk.push(step);
    items += itemsOf(step);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
};
