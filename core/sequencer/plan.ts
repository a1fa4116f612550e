// The sequencer's decisions on plain data: no I/O, so every rule of grouping,
// de-duplication and splitting is unit-tested without DynamoDB.
import type { Aggregate } from "../aggregates.js";
import type { CommandWrite } from "../commands.js";
import { emissionOf, forbiddenRole, isRejection, type AnyMicroservice, type Message } from "../decider.js";
import { issuesOf } from "../envelope.js";
import { describeIssues } from "../errors.js";
import { commandKeyOf, commandRefOf, eventIdOf, requestKeyOf, serviceUserOf, streamIdOf, SERVICE_ROLE } from "../keys.js";
import type { CommandRecord, EventRecord, OutcomeRecord, RequestRecord } from "../records.js";
import { currentTypeVersion } from "../upcast.js";

/** DynamoDB's limit on items per TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;
/** Commands one command may send to other microservices. */
export const MAX_SENDS_PER_COMMAND = 10;
/** One command's events, sends, its outcome, its request id and the snapshot must fit one transaction. */
export const MAX_EVENTS_PER_COMMAND = MAX_TRANSACTION_ITEMS - 3 - MAX_SENDS_PER_COMMAND;

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
  /** Commands for other microservices, written in the same transaction as the events. */
  readonly sends: readonly CommandWrite[];
  readonly after: Aggregate;
}

export interface PlanInput {
  readonly group: Group;
  readonly microservice: AnyMicroservice | undefined;
  /** Every microservice, to check the commands a decider sends against their targets' schemas. */
  readonly microservices?: Readonly<Record<string, AnyMicroservice>>;
  readonly current: Aggregate;
  /** Request ids already taken, as stored: requestKey → the command that took it. */
  readonly taken: ReadonlyMap<string, { readonly key: string; readonly seq: number }>;
  readonly now: number;
}

interface SendDraft {
  readonly type: string;
  readonly command: string;
  readonly aggregateId: string;
  readonly key: string;
  readonly payload: Record<string, unknown>;
}

/** The commands a decision sends, each checked against its target as the API would check it. */
const checkSends = (
  microservices: Readonly<Record<string, AnyMicroservice>> | undefined,
  sent: readonly { type: string; command: string; aggregateId: string; payload: Record<string, unknown> }[],
): SendDraft[] | { reason: string; message: string } => {
  if (sent.length > MAX_SENDS_PER_COMMAND)
    return { reason: "TooManyCommands", message: `a command may send at most ${MAX_SENDS_PER_COMMAND} commands, not ${sent.length}` };
  const drafts: SendDraft[] = [];
  for (const [i, send] of sent.entries()) {
    const target = microservices?.[send.type];
    if (!target) return { reason: "InvalidCommandSent", message: `sent command ${i} is for unknown microservice '${send.type}'` };
    const schema = target.commands[send.command];
    if (!schema) return { reason: "InvalidCommandSent", message: `sent command ${i}: ${target.name} has no command '${send.command}'` };
    const payload = schema.safeParse(send.payload);
    if (!payload.success) return { reason: "InvalidCommandSent", message: `sent command ${i} (${target.name}.${send.command}): ${describeIssues(issuesOf(payload.error, "payload"))}` };
    const key = commandKeyOf(target.name, target.partitionBy, send.aggregateId);
    // One transaction may touch a counter item once: two sends to one key cannot commit together.
    if (drafts.some((d) => d.key === key))
      return { reason: "TooManyCommands", message: `a command may send only one command per command key; two go to '${key}'` };
    drafts.push({ type: target.name, command: send.command, aggregateId: send.aggregateId, key, payload: payload.data });
  }
  return drafts;
};

const judge = (
  microservice: AnyMicroservice | undefined,
  microservices: Readonly<Record<string, AnyMicroservice>> | undefined,
  command: CommandRecord,
  state: unknown,
): { events: readonly Message[]; sends: readonly SendDraft[] } | { reason: string; message: string } => {
  // The API validated these already; the sequencer checks again because the
  // commands table can be written by other means (services with table access).
  if (!microservice) return { reason: "UnknownMicroservice", message: `no microservice '${command.type}'` };
  const schema = microservice.commands[command.command];
  if (!schema) return { reason: "UnknownCommand", message: `${microservice.name} has no command '${command.command}'` };
  const payload = schema.safeParse(command.payload);
  if (!payload.success) return { reason: "InvalidCommand", message: describeIssues(issuesOf(payload.error, "payload")) };
  const roles = command.roles ?? [];
  const forbidden = forbiddenRole(microservice, command.command, roles);
  if (forbidden) return { reason: "Forbidden", message: forbidden };
  const decision = microservice.decide({ type: command.command, data: payload.data }, state, {
    now: command.occurredAt,
    user: command.user,
    roles,
    aggregateId: command.aggregateId,
  });
  if (isRejection(decision)) return { reason: decision.reason, message: decision.message };
  const { events, commands } = emissionOf(decision);
  if (events.length > MAX_EVENTS_PER_COMMAND)
    return { reason: "TooManyEvents", message: `a command may produce at most ${MAX_EVENTS_PER_COMMAND} events, not ${events.length}` };
  const sends = checkSends(microservices, commands);
  if (!Array.isArray(sends)) return sends;
  return { events, sends };
};

/** Decides every command of one aggregate not yet applied, in order. */
export const planGroup = ({ group, microservice, microservices, current, taken, now }: PlanInput): Step[] => {
  const steps: Step[] = [];
  const takenHere = new Map(taken);
  let aggregate = current;
  for (const command of group.commands) {
    if (command.seq <= aggregate.lastSeq) continue; // applied by an earlier delivery
    const ref = commandRefOf(command.key, command.seq);
    const correlationId = command.correlationId ?? ref;
    const base = {
      key: command.key,
      seq: command.seq,
      streamId: group.streamId,
      commandId: command.id,
      command: command.command,
      user: command.user,
      correlationId,
      ...(command.causationId === undefined ? {} : { causationId: command.causationId }),
      recordedAt: now,
    };
    const requestKey = requestKeyOf(command.type, command.user, command.id);
    const original = takenHere.get(requestKey);
    if (original) {
      aggregate = { ...aggregate, lastSeq: command.seq };
      steps.push({ command, outcome: { ...base, status: "duplicate", original }, events: [], sends: [], after: aggregate });
      continue;
    }
    takenHere.set(requestKey, { key: command.key, seq: command.seq });
    const request = { requestKey, key: command.key, seq: command.seq };
    const verdict = judge(microservice, microservices, command, aggregate.state);
    if (!("events" in verdict)) {
      aggregate = { ...aggregate, lastSeq: command.seq };
      steps.push({ command, outcome: { ...base, status: "rejected", ...verdict }, events: [], sends: [], request, after: aggregate });
      continue;
    }
    const events = verdict.events.map((event, i): EventRecord => {
      const version = aggregate.version + i + 1;
      const typeVersion = currentTypeVersion(microservice, event.type);
      return {
        streamId: group.streamId,
        version,
        type: event.type,
        data: event.data,
        // Only versioned types carry it: absent means 1.
        ...(typeVersion === undefined ? {} : { typeVersion }),
        eventId: eventIdOf(group.streamId, version),
        microservice: command.type,
        aggregateId: command.aggregateId,
        commandKey: command.key,
        commandSeq: command.seq,
        commandId: command.id,
        user: command.user,
        correlationId,
        causationId: ref,
        occurredAt: command.occurredAt,
        recordedAt: now,
      };
    });
    // A sent command acts as the sending microservice, with the service role,
    // and is named after the command that sent it: a retried batch re-sends
    // nothing (same transaction), and a resent id would be a duplicate anyway.
    const sends = verdict.sends.map((send, i): CommandWrite => ({
      key: send.key,
      type: send.type,
      command: send.command,
      aggregateId: send.aggregateId,
      id: `${ref}>${i}`,
      user: serviceUserOf(command.type),
      roles: [SERVICE_ROLE],
      correlationId,
      causationId: ref,
      occurredAt: command.occurredAt,
      receivedAt: now,
      payload: send.payload,
    }));
    const state = microservice ? verdict.events.reduce(microservice.evolve, aggregate.state) : aggregate.state;
    aggregate = { state, version: aggregate.version + events.length, lastSeq: command.seq };
    const summary = events.map(({ version, type, data }) => ({ version, type, data }));
    const sent = sends.map(({ type, command, aggregateId, key, id }) => ({ type, command, aggregateId, key, id: String(id) }));
    steps.push({
      command,
      outcome: { ...base, status: "accepted", events: summary, ...(sent.length ? { sent } : {}) },
      events,
      sends,
      request,
      after: aggregate,
    });
  }
  return steps;
};

export const itemsPerStep = (step: Step) => step.events.length + step.sends.length + 1 + (step.request ? 1 : 0);

/**
 * Splits steps into transactions of at most `maxItems`, each carrying one
 * snapshot write, and touching each command key's counter at most once
 * (DynamoDB refuses two operations on one item in a transaction).
 */
export const chunkSteps = (steps: readonly Step[], maxItems = MAX_TRANSACTION_ITEMS): Step[][] => {
  const chunks: Step[][] = [];
  let chunk: Step[] = [];
  let items = 1; // the snapshot
  let keys = new Set<string>();
  for (const step of steps) {
    const clash = step.sends.some((send) => keys.has(send.key));
    if (chunk.length > 0 && (clash || items + itemsPerStep(step) > maxItems)) {
      chunks.push(chunk);
      chunk = [];
      items = 1;
      keys = new Set();
    }
    chunk.push(step);
    items += itemsPerStep(step);
    for (const send of step.sends) keys.add(send.key);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
};
