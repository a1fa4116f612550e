// The history checker: given what clients were told and what a local stack
// stores, lists every way the history breaks Ordinal's invariants. Fault
// tests end with `expect(await checkHistory(...)).toEqual([])`, so a failure
// names each broken rule and the items concerned.
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { isDeepStrictEqual } from "node:util";
import { listArchive, readArchiveObject } from "../../core/fanout/archiver.js";
import { foldAt } from "../../core/history.js";
import { accepts } from "../../core/projections/index.js";
import type { EventRecord, OutcomeRecord, SnapshotRecord } from "../../core/records.js";
import { buckets, kinesisStreams } from "../../core/topology.js";
import { s3ClientConfig } from "../../local/fauxqs.js";
import { kinesisClientConfig } from "../../local/kinesis.js";
import { TABLE_PREFIX } from "../../local/stack.js";
import { microservices, referenceApp } from "./app.js";

const { projections } = referenceApp;
import { decode, readStream } from "./kinesis.js";
import { readModelItems, tablesAt } from "./tables.js";

/** A command the API acknowledged: where it was put. */
export interface Acknowledged {
  readonly key: string;
  readonly seq: number;
  /** The microservice, the caller and the client's id: what makes a resend a duplicate. */
  readonly type: string;
  readonly user: string;
  readonly id: string | number;
}

export interface Endpoints {
  readonly dynamodb: string;
  readonly kinesis: string;
  readonly s3: string;
}

const groupBy = <T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> => {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
};

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/**
 * Checks, against what the stack at `endpoints` stores:
 * 1. every acknowledged command has an outcome, and of the commands sharing a
 *    client id exactly one is accepted or rejected, the others duplicates of it;
 * 2. each stream's versions are 1..n; no command's events are in two places;
 * 3. each snapshot is the fold of its log, at its version;
 * 4. each stream's events reach Kinesis in version order (repeats allowed),
 *    the archive exactly once, and every projection (model and checkpoint).
 */
export const checkHistory = async (endpoints: Endpoints, acknowledged: readonly Acknowledged[]): Promise<string[]> => {
  const problems: string[] = [];
  const tables = tablesAt(endpoints.dynamodb);
  const kinesis = new KinesisClient(kinesisClientConfig(endpoints.kinesis));
  const s3 = new S3Client(s3ClientConfig(endpoints.s3));
  try {
    const events = (await tables.scan("events")) as unknown as EventRecord[];
    const outcomes = (await tables.scan("outcomes")) as unknown as OutcomeRecord[];
    const snapshots = (await tables.scan("snapshots")) as unknown as SnapshotRecord[];
    const streams = groupBy(events, (e) => e.streamId);
    for (const log of streams.values()) log.sort((a, b) => a.version - b.version);

    // 1. One outcome per acknowledged command; of the commands of one client id
    //    (a resend of one whose answer was lost is another command), one original.
    const outcomeOf = new Map(outcomes.map((o) => [`${o.key}/${o.seq}`, o]));
    for (const ack of acknowledged) if (!outcomeOf.has(`${ack.key}/${ack.seq}`)) problems.push(`no outcome for acknowledged ${ack.key}/${ack.seq}`);
    const requestIdOf = (type: string, user: string, id: string | number) => JSON.stringify([type, user, id]);
    const byRequest = groupBy(outcomes, (o) => requestIdOf(o.streamId.split(":")[0]!, o.user, o.commandId));
    for (const ack of acknowledged) {
      const all = byRequest.get(requestIdOf(ack.type, ack.user, ack.id)) ?? [];
      const originals = all.filter((o) => o.status !== "duplicate");
      if (originals.length !== 1) problems.push(`client id ${requestIdOf(ack.type, ack.user, ack.id)} has ${originals.length} non-duplicate outcomes`);
    }

    // 2. Gapless versions; each command's events in one place.
    for (const [streamId, log] of streams) {
      const versions = log.map((e) => e.version);
      if (!isDeepStrictEqual(versions, oneTo(log.length))) problems.push(`${streamId} has versions ${versions.join(",")}`);
    }
    for (const [command, produced] of groupBy(events, (e) => `${e.commandKey}/${e.commandSeq}`)) {
      const places = new Set(produced.map((e) => e.streamId));
      const versions = produced.map((e) => e.version).sort((a, b) => a - b);
      const contiguous = versions.every((v, i) => i === 0 || v === versions[i - 1]! + 1);
      if (places.size > 1 || !contiguous) problems.push(`command ${command} has events ${produced.map((e) => e.eventId).join(", ")}`);
    }
    for (const [requestId, produced] of groupBy(events, (e) => JSON.stringify([e.microservice, e.user, e.commandId]))) {
      const commands = new Set(produced.map((e) => `${e.commandKey}/${e.commandSeq}`));
      if (commands.size > 1) problems.push(`client id ${requestId} was applied as ${[...commands].join(" and ")}`);
    }

    // 3. Snapshots are folds of their logs.
    for (const snapshot of snapshots) {
      const microservice = microservices[snapshot.streamId.split(":")[0]!];
      if (!microservice) continue;
      const folded = foldAt(microservice, streams.get(snapshot.streamId) ?? [], { version: snapshot.version });
      if (folded.version !== snapshot.version || !isDeepStrictEqual(folded.state, snapshot.state)) problems.push(`snapshot of ${snapshot.streamId} is not the fold of its log`);
    }

    // 4a. Kinesis: every event, in each stream's order (a repeat of an earlier one is allowed).
    const onKinesis = (await readStream(kinesis, `${TABLE_PREFIX}${kinesisStreams.allEvents.name}`)).flatMap((s) => s.records.map(decode));
    for (const [streamId, seen] of groupBy(onKinesis, (e) => e.streamId)) {
      let next = 1;
      for (const e of seen) if (e.version === next) next++;
      else if (e.version > next) problems.push(`Kinesis carries ${e.eventId} before ${streamId}#${next}`);
      if (next - 1 !== (streams.get(streamId)?.length ?? 0)) problems.push(`Kinesis carries ${streamId} up to ${next - 1} of ${streams.get(streamId)?.length ?? 0}`);
    }
    for (const streamId of streams.keys()) if (!onKinesis.some((e) => e.streamId === streamId)) problems.push(`Kinesis carries nothing of ${streamId}`);

    // 4b. The archive: every event exactly once.
    const bucket = `${TABLE_PREFIX}${buckets.archive.name}`;
    const keys: string[] = [];
    for (let page = await listArchive(s3, bucket); ; page = await listArchive(s3, bucket, { startAfter: page.next })) {
      keys.push(...page.keys);
      if (!page.next) break;
    }
    const archived = (await Promise.all(keys.map((k) => readArchiveObject(s3, bucket, k)))).flat();
    const timesArchived = new Map<string, number>();
    for (const e of archived) timesArchived.set(e.eventId, (timesArchived.get(e.eventId) ?? 0) + 1);
    for (const e of events) if (timesArchived.get(e.eventId) !== 1) problems.push(`${e.eventId} is in the archive ${timesArchived.get(e.eventId) ?? 0} times`);
    for (const id of timesArchived.keys()) if (!events.some((e) => e.eventId === id)) problems.push(`the archive holds ${id}, which the log does not`);

    // 4c. Each projection: every item is its events folded, and has seen every version of its streams.
    const items = await readModelItems(tables);
    for (const projection of Object.values(projections)) {
      const expected = groupBy(
        events.filter((e) => accepts(projection, e)),
        (e) => projection.keyOf(e),
      );
      for (const [key, folded] of expected) {
        const item = items.find((i) => i.projection === projection.name && i.key === key) as { model: unknown; versions: Record<string, number> } | undefined;
        const model = folded.sort((a, b) => a.streamId.localeCompare(b.streamId) || a.version - b.version).reduce(projection.evolve, projection.initial);
        if (!item) problems.push(`${projection.name} has no item ${key}`);
        else if (!isDeepStrictEqual(item.model, model)) problems.push(`${projection.name}/${key} is not its events folded`);
        else
          for (const streamId of new Set(folded.map((e) => e.streamId)))
            if (item.versions[streamId] !== streams.get(streamId)!.length) problems.push(`${projection.name}/${key} saw ${streamId} up to ${item.versions[streamId]}`);
      }
    }
    return problems;
  } finally {
    tables.close();
    kinesis.destroy();
    s3.destroy();
  }
};
