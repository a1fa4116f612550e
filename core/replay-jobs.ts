// Replay jobs: a replay of the archive into one projection that runs to its end
// by itself, its state an item of the projections table (partition "replays"),
// so a crash or a restart resumes it where it was. A runner advances a job a
// step at a time (each step's effect is saved before the next), for as long as
// its invocation may run, and then hands it on (see functions/replayer.ts).
//
// A replay with `reset` is a rebuild: it builds a new generation of the
// read models beside the one that serves, which live events feed too; once
// the rebuild has caught up with the log it serves, in one transaction, and
// the old generation is deleted a little later. Readers never see it partial.
//
//   waiting-for-archive (rebuilds) → counting → sending → draining → retiring (rebuilds) → done
import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { GetCommand, paginateQuery, paginateScan, PutCommand, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { setTimeout as sleep } from "node:timers/promises";
import { ulid } from "ulid";
import { partOf, type ExpandedApp } from "./app-definition.js";
import { batchGet, queryAll, type Store } from "./dynamo.js";
import { ConflictError } from "./errors.js";
import { ARCHIVE_INDEX } from "./fanout/archive-index.js";
import { listArchive } from "./fanout/archiver.js";
import { ensureGenerations, GENERATIONS, GENERATIONS_TTL_MS, loadGenerations, partitionOf, resetProjection, versionOf, type AnyProjection } from "./projections/index.js";
import { archiveRangeOf, replayDeadLetterOf, replayPage, replayQueueOf } from "./replay.js";
import { queueDepth } from "./sqs.js";

/** The partition of the projections table holding replay jobs. */
export const REPLAYS = "replays";

export type ReplayState = "running" | "done" | "failed" | "cancelled";
export type ReplayPhase = "waiting-for-archive" | "counting" | "sending" | "draining" | "retiring" | "ended";

export interface ReplayJob {
  readonly projection: typeof REPLAYS;
  /** The replay id (a ULID: jobs list in the order they were made). */
  readonly key: string;
  readonly handler: string;
  /** Bounds on `recordedAt`, ms since epoch; a rebuild has none. */
  readonly from?: number;
  readonly to?: number;
  readonly reset: boolean;
  /** Who asked: a caller, or a deployment whose projection version differs from the serving one. */
  readonly reason: "request" | "version" | "new-projection";
  /** The generation its events go to: a new one for a rebuild, else the one serving when it began. */
  readonly generation: number;
  /** The projection version it builds with (a rebuild's generation is of this version). */
  readonly version: number;
  readonly state: ReplayState;
  readonly phase: ReplayPhase;
  /** Bumped by every runner write: two runners never both advance a job. */
  readonly revision: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly endedAt?: number;
  /** The last archive key sent. */
  readonly cursor?: string;
  readonly objectsTotal?: number;
  readonly objectsRead: number;
  readonly eventsRead: number;
  readonly eventsSent: number;
  /** Added by the replay projector as it takes the job's messages. */
  readonly eventsApplied: number;
  /** Streams whose events the archive did not have yet, while waiting for it. */
  readonly streamsBehind?: number;
  /** The dead-letter queue's depth when sending began: more there means messages of this replay were parked. */
  readonly deadLetterBaseline?: number;
  readonly sentAt?: number;
  readonly swappedAt?: number;
  /** Until when the replaced generation is kept current for readers that have not heard of the swap. */
  readonly retireAt?: number;
  readonly error?: string;
  /** A failed or cancelled rebuild's generation still to delete. */
  readonly cleanup?: "pending" | "done";
  /** Failed steps in a row. */
  readonly attempts: number;
  /** The runner that holds the job, until when. */
  readonly runner?: string;
  readonly leaseUntil?: number;
}

export interface ReplayJobDeps {
  readonly store: Store;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly names: { readonly archiveBucket: string; readonly queueUrls: Readonly<Record<string, string>> };
  readonly app: Pick<ExpandedApp, "projections" | "topology">;
  readonly clock: () => number;
  /** Timings, shortened by tests. */
  readonly timings?: Partial<ReplayTimings>;
}

export interface ReplayTimings {
  /** How long the replaced generation is kept current after a swap: longer than any reader's cache of which generation serves. */
  readonly retireAfterMs: number;
  /** How long a rebuild waits for the archive to hold what the log held when it began. */
  readonly archiveWaitMs: number;
  /** Between two looks at a queue being drained or the archive being caught up. */
  readonly pollMs: number;
  /** Failed steps in a row before the job fails. */
  readonly maxAttempts: number;
  /** Archive objects per page. */
  readonly pageObjects: number;
}

export const defaultTimings: ReplayTimings = { retireAfterMs: 10_000, archiveWaitMs: 5 * 60_000, pollMs: 500, maxAttempts: 5, pageObjects: 20 };

/** The queue through which runners hand jobs on: `{replayId}` messages. */
export const REPLAYS_QUEUE = "replays";

export class ReplayConflict extends ConflictError {}

const jobKey = (replayId: string) => ({ projection: REPLAYS, key: replayId });
const timingsOf = (deps: ReplayJobDeps): ReplayTimings => ({ ...defaultTimings, ...deps.timings });

export const loadJob = async (store: Store, replayId: string): Promise<ReplayJob | undefined> => {
  const { Item } = await store.db.send(new GetCommand({ TableName: store.tables.projections, Key: jobKey(replayId), ConsistentRead: true }));
  return Item as ReplayJob | undefined;
};

/** The newest jobs first, at most `limit`. */
export const listJobs = async (store: Store, limit = 20): Promise<ReplayJob[]> => {
  const jobs: ReplayJob[] = [];
  const pages = paginateQuery(
    { client: store.db, pageSize: limit },
    {
      TableName: store.tables.projections,
      KeyConditionExpression: "#projection = :replays",
      ExpressionAttributeNames: { "#projection": "projection" },
      ExpressionAttributeValues: { ":replays": REPLAYS },
      ScanIndexForward: false,
      ConsistentRead: true,
    },
  );
  for await (const page of pages) {
    jobs.push(...((page.Items ?? []) as ReplayJob[]));
    if (jobs.length >= limit) break;
  }
  return jobs.slice(0, limit);
};

/** Jobs a runner still has work on: running, or a generation left to delete. */
export const unfinishedJobs = (store: Store): Promise<ReplayJob[]> =>
  queryAll<ReplayJob>(store, {
    TableName: store.tables.projections,
    KeyConditionExpression: "#projection = :replays",
    FilterExpression: "#state = :running OR cleanup = :pending",
    ExpressionAttributeNames: { "#projection": "projection", "#state": "state" },
    ExpressionAttributeValues: { ":replays": REPLAYS, ":running": "running", ":pending": "pending" },
    ConsistentRead: true,
  });

/** Adds what the replay projector took of a job's messages; nothing for a replay that has no job. */
export const countApplied = async (store: Store, replayId: string, count: number): Promise<void> => {
  try {
    await store.db.send(
      new UpdateCommand({
        TableName: store.tables.projections,
        Key: jobKey(replayId),
        UpdateExpression: "ADD eventsApplied :n",
        ConditionExpression: "attribute_exists(#key)",
        ExpressionAttributeNames: { "#key": "key" },
        ExpressionAttributeValues: { ":n": count },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
};

/** Hands a job to a runner: on AWS the replayer function, locally the stack's poller of the same queue. */
export const kick = async (deps: Pick<ReplayJobDeps, "sqs" | "names">, replayId: string, { takeOver = false } = {}) => {
  const queueUrl = deps.names.queueUrls[REPLAYS_QUEUE];
  if (!queueUrl) throw new Error(`this function has no URL for the '${REPLAYS_QUEUE}' queue`);
  await deps.sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ replayId, ...(takeOver ? { takeOver } : {}) }) }),
  );
};

export interface StartReplay {
  readonly handler: string;
  readonly from?: number;
  readonly to?: number;
  readonly reset?: boolean;
  readonly reason?: ReplayJob["reason"];
}

const newJob = (deps: ReplayJobDeps, request: StartReplay, generation: number, version: number): ReplayJob => {
  const now = deps.clock();
  const reset = request.reset ?? false;
  return {
    projection: REPLAYS,
    key: ulid(now),
    handler: request.handler,
    ...(request.from !== undefined ? { from: request.from } : {}),
    ...(request.to !== undefined ? { to: request.to } : {}),
    reset,
    reason: request.reason ?? "request",
    generation,
    version,
    state: "running",
    phase: reset ? "waiting-for-archive" : "counting",
    revision: 1,
    createdAt: now,
    updatedAt: now,
    objectsRead: 0,
    eventsRead: 0,
    eventsSent: 0,
    eventsApplied: 0,
    attempts: 0,
  };
};

/**
 * Stores a new job and hands it to a runner. A rebuild also takes the
 * projection's next generation as the one being built, in the same
 * transaction; one rebuild per projection at a time (ReplayConflict).
 */
export const startReplay = async (deps: ReplayJobDeps, request: StartReplay): Promise<ReplayJob> => {
  const projection = partOf(deps.app.projections, "projection", request.handler);
  replayQueueOf(deps.app, request.handler);
  const { generations } = await ensureGenerations(deps.store, projection);
  const table = deps.store.tables.projections;
  let job: ReplayJob;
  if (!request.reset) {
    job = newJob(deps, request, generations.serving.generation, versionOf(projection));
    await deps.store.db.send(new PutCommand({ TableName: table, Item: job, ConditionExpression: "attribute_not_exists(#key)", ExpressionAttributeNames: { "#key": "key" } }));
  } else {
    if (generations.building) throw new ReplayConflict(`a rebuild of ${projection.name} is running: replay ${generations.building.replayId}`);
    job = newJob(deps, request, generations.next, versionOf(projection));
    try {
      await deps.store.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: { projection: GENERATIONS, key: projection.name },
                UpdateExpression: "SET building = :building, #next = :after",
                ConditionExpression: "attribute_not_exists(building) AND #next = :next",
                ExpressionAttributeNames: { "#next": "next" },
                ExpressionAttributeValues: {
                  ":building": { generation: job.generation, version: job.version, replayId: job.key },
                  ":next": job.generation,
                  ":after": job.generation + 1,
                },
              },
            },
            { Put: { TableName: table, Item: job, ConditionExpression: "attribute_not_exists(#key)", ExpressionAttributeNames: { "#key": "key" } } },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      throw new ReplayConflict(`another rebuild of ${projection.name} began at the same moment; look at GET /admin/replays`);
    }
  }
  await kick(deps, job.key);
  return job;
};

/** The rebuild's generation leaves the generations item (live events stop going to it) as the job ends unswapped. */
const dropBuilding = (deps: ReplayJobDeps, job: ReplayJob) => ({
  Update: {
    TableName: deps.store.tables.projections,
    Key: { projection: GENERATIONS, key: job.handler },
    UpdateExpression: "REMOVE building",
    ConditionExpression: "building.replayId = :id",
    ExpressionAttributeValues: { ":id": job.key },
  },
});

/** Ends a running job as cancelled or failed; a rebuild's generation is left for a runner to delete. */
const endUnswapped = async (deps: ReplayJobDeps, job: ReplayJob, state: "cancelled" | "failed", error?: string): Promise<void> => {
  const now = deps.clock();
  const update = {
    TableName: deps.store.tables.projections,
    Key: jobKey(job.key),
    UpdateExpression: `SET #state = :state, phase = :ended, endedAt = :now, updatedAt = :now, revision = revision + :one${job.reset ? ", cleanup = :pending" : ""}${error ? ", #error = :error" : ""}`,
    ConditionExpression: "#state = :running AND attribute_not_exists(swappedAt)",
    ExpressionAttributeNames: { "#state": "state", ...(error ? { "#error": "error" } : {}) },
    ExpressionAttributeValues: {
      ":state": state,
      ":ended": "ended",
      ":now": now,
      ":one": 1,
      ":running": "running",
      ...(job.reset ? { ":pending": "pending" } : {}),
      ...(error ? { ":error": error } : {}),
    },
  };
  try {
    await deps.store.db.send(new TransactWriteCommand({ TransactItems: [{ Update: update }, ...(job.reset ? [dropBuilding(deps, job)] : [])] }));
  } catch (e) {
    if (!(e instanceof TransactionCanceledException)) throw e;
    const now = await loadJob(deps.store, job.key);
    if (now?.swappedAt !== undefined && now.state === "running") throw new ReplayConflict(`replay ${job.key} has already swapped its generation in; it is finishing`);
    throw new ReplayConflict(`replay ${job.key} is ${now?.state ?? "gone"}`);
  }
};

/** DELETE /admin/replays/{id}: stops sending; a rebuild's generation is dropped and deleted; the serving one is untouched. */
export const cancelReplay = async (deps: ReplayJobDeps, replayId: string): Promise<ReplayJob | undefined> => {
  const job = await loadJob(deps.store, replayId);
  if (!job) return undefined;
  if (job.state !== "running") throw new ReplayConflict(`replay ${replayId} is already ${job.state}`);
  await endUnswapped(deps, job, "cancelled");
  if (job.reset) await kick(deps, replayId);
  return loadJob(deps.store, replayId);
};

type Changes = Partial<Omit<ReplayJob, "projection" | "key" | "revision" | "eventsApplied">>;

/** Saves a step's effect, if the job is still as the runner read it. */
const save = async (deps: ReplayJobDeps, job: ReplayJob, changes: Changes): Promise<ReplayJob> => {
  const now = deps.clock();
  const fields = { ...changes, updatedAt: now };
  const names: Record<string, string> = { "#revision": "revision" };
  const values: Record<string, unknown> = { ":revision": job.revision, ":next": job.revision + 1 };
  const sets = Object.entries(fields).map(([field, value], i) => {
    names[`#f${i}`] = field;
    values[`:v${i}`] = value;
    return `#f${i} = :v${i}`;
  });
  await deps.store.db.send(
    new UpdateCommand({
      TableName: deps.store.tables.projections,
      Key: jobKey(job.key),
      UpdateExpression: `SET ${[...sets, "#revision = :next"].join(", ")}`,
      ConditionExpression: "#revision = :revision",
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
  return { ...job, ...fields, revision: job.revision + 1 };
};

/** A queue of the topology's depth. */
const depthOf = (deps: ReplayJobDeps, queue: string): Promise<number> => queueDepth(deps.sqs, deps.names.queueUrls[queue]!);

/**
 * Each stream of the projection's microservices, with the version its
 * snapshot is at: every stream has one, written with its events.
 */
const streamVersions = async (deps: ReplayJobDeps, projection: AnyProjection): Promise<Map<string, number>> => {
  const prefixes = projection.from.map((source) => `${source.name}:`);
  const versions = new Map<string, number>();
  const pages = paginateScan(
    { client: deps.store.db },
    { TableName: deps.store.tables.snapshots, ProjectionExpression: "streamId, #version", ExpressionAttributeNames: { "#version": "version" } },
  );
  for await (const page of pages)
    for (const item of page.Items ?? []) if (prefixes.some((p) => (item.streamId as string).startsWith(p))) versions.set(item.streamId as string, item.version as number);
  return versions;
};

/** The streams the archive index has not yet reached the given version of. */
const notArchived = async (deps: ReplayJobDeps, wanted: ReadonlyMap<string, number>): Promise<Map<string, number>> => {
  const archived = await batchGet(deps.store, deps.store.tables.projections, [...wanted.keys()].map((key) => ({ projection: ARCHIVE_INDEX, key })));
  const reached = new Map(archived.map((item) => [item.key as string, item.version as number]));
  return new Map([...wanted].filter(([streamId, version]) => (reached.get(streamId) ?? 0) < version));
};

export interface RunOptions {
  /** Stop stepping at this time (ms since epoch) and hand the job on. */
  readonly deadline: number;
  /** Take the job even if another runner's lease has not expired (the stack's start: the last process is gone). */
  readonly takeOver?: boolean;
  /** Ends the run at the next step, as the deadline would. */
  readonly signal?: AbortSignal;
}

/** What a runner did with a job: ended it, ran out of time (hand it on), or found another runner on it. */
export type RunResult = "ended" | "continue" | "busy";

/** Takes the job's lease for this run, unless another runner holds it. */
const takeLease = async (deps: ReplayJobDeps, replayId: string, runner: string, until: number, takeOver: boolean): Promise<boolean> => {
  try {
    await deps.store.db.send(
      new UpdateCommand({
        TableName: deps.store.tables.projections,
        Key: jobKey(replayId),
        UpdateExpression: "SET runner = :runner, leaseUntil = :until",
        ConditionExpression: takeOver ? "attribute_exists(#key)" : "attribute_exists(#key) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
        ExpressionAttributeNames: { "#key": "key" },
        ExpressionAttributeValues: { ":runner": runner, ":until": until, ...(takeOver ? {} : { ":now": deps.clock() }) },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
};

const releaseLease = (deps: ReplayJobDeps, replayId: string, runner: string) =>
  deps.store.db
    .send(
      new UpdateCommand({
        TableName: deps.store.tables.projections,
        Key: jobKey(replayId),
        UpdateExpression: "REMOVE runner, leaseUntil",
        ConditionExpression: "runner = :runner",
        ExpressionAttributeValues: { ":runner": runner },
      }),
    )
    .catch((error) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });

/**
 * Advances a job until it ends or `deadline` comes. Every step saves its
 * effect conditionally on the job's revision, so a step that ran but did not
 * save runs again, and must be (and is) harmless twice: a page sent again
 * carries the same deduplication ids, the projector skips what it applied.
 */
export const runReplay = async (deps: ReplayJobDeps, replayId: string, options: RunOptions): Promise<RunResult> => {
  const runner = ulid();
  if (!(await takeLease(deps, replayId, runner, options.deadline + 5_000, options.takeOver ?? false))) return "busy";
  try {
    return await steps(deps, replayId, options.deadline, options.signal);
  } finally {
    await releaseLease(deps, replayId, runner);
  }
};

const steps = async (deps: ReplayJobDeps, replayId: string, deadline: number, signal?: AbortSignal): Promise<RunResult> => {
  const timings = timingsOf(deps);
  let pending: Map<string, number> | undefined;
  const wait = (ms: number) => sleep(Math.max(0, Math.min(ms, deadline - deps.clock())), undefined, { signal }).catch(() => {});
  for (;;) {
    const job = await loadJob(deps.store, replayId);
    if (!job) return "ended";
    if (job.state !== "running") {
      if (job.cleanup === "pending") {
        // Past every projector's copy of the generations item that still named it.
        await sleep(Math.max(0, (job.endedAt ?? 0) + GENERATIONS_TTL_MS + timings.pollMs - deps.clock()));
        await resetProjection(deps.store, partitionOf(job.handler, job.generation));
        await save(deps, job, { cleanup: "done" });
      }
      return "ended";
    }
    if (deps.clock() >= deadline || signal?.aborted) return "continue";
    try {
      const projection = partOf(deps.app.projections, "projection", job.handler);
      switch (job.phase) {
        case "waiting-for-archive": {
          // Live events reach the new generation from the first batch that read the generations item
          // after it was made (at most GENERATIONS_TTL_MS later); what the log held by then must be in
          // the archive before the archive is read.
          const everyProjectorKnows = job.createdAt + GENERATIONS_TTL_MS;
          if (deps.clock() < everyProjectorKnows) {
            await wait(everyProjectorKnows - deps.clock());
            break;
          }
          pending = await notArchived(deps, pending ?? (await streamVersions(deps, projection)));
          if (pending.size === 0) {
            await save(deps, job, { phase: "counting", streamsBehind: 0, attempts: 0 });
            break;
          }
          if (deps.clock() - job.createdAt > timings.archiveWaitMs) {
            await endUnswapped(deps, job, "failed", `the archive is behind the log: ${pending.size} streams (${[...pending.keys()].slice(0, 3).join(", ")}…) were not archived ${Math.round(timings.archiveWaitMs / 1000)} s after the rebuild began; look at the archiver's failures (GET /health, npm run redrive)`);
            break;
          }
          if (job.streamsBehind !== pending.size) await save(deps, job, { streamsBehind: pending.size });
          await wait(timings.pollMs);
          break;
        }
        case "counting": {
          let objectsTotal = 0;
          let startAfter: string | undefined;
          do {
            const page = await listArchive(deps.s3, deps.names.archiveBucket, { ...archiveRangeOf(job), startAfter });
            objectsTotal += page.keys.length;
            startAfter = page.next;
          } while (startAfter);
          await save(deps, job, { phase: "sending", objectsTotal, deadLetterBaseline: await depthOf(deps, replayDeadLetterOf(deps.app, job.handler)), attempts: 0 });
          break;
        }
        case "sending": {
          const page = await replayPage(deps, {
            handler: job.handler,
            from: job.from,
            to: job.to,
            startAfter: job.cursor,
            maxObjects: timings.pageObjects,
            replayId: job.key,
            generation: job.generation,
          });
          const done = page.nextStartAfter === undefined;
          await save(deps, job, {
            ...(page.nextStartAfter !== undefined ? { cursor: page.nextStartAfter } : {}),
            objectsRead: job.objectsRead + page.objectsRead,
            // More objects than counted: the archive grew since (live events went on being archived).
            objectsTotal: Math.max(job.objectsTotal ?? 0, job.objectsRead + page.objectsRead),
            eventsRead: job.eventsRead + page.eventsRead,
            eventsSent: job.eventsSent + page.eventsSent,
            ...(done ? { phase: "draining", sentAt: deps.clock() } : {}),
            attempts: 0,
          });
          break;
        }
        case "draining": {
          const parked = (await depthOf(deps, replayDeadLetterOf(deps.app, job.handler))) - (job.deadLetterBaseline ?? 0);
          if (parked > 0) {
            await endUnswapped(deps, job, "failed", `${parked} messages went to ${deps.app.topology.queues[replayDeadLetterOf(deps.app, job.handler)]!.name}: the projector kept failing on them; see its logs, redrive them (npm run redrive) or fix the projection, and replay again`);
            break;
          }
          const drained = (await depthOf(deps, replayQueueOf(deps.app, job.handler))) === 0 && job.eventsApplied >= job.eventsSent;
          if (!drained) {
            await wait(timings.pollMs);
            break;
          }
          if (!job.reset) {
            await save(deps, job, { state: "done", phase: "ended", endedAt: deps.clock(), attempts: 0 });
            break;
          }
          await swap(deps, job, timings);
          break;
        }
        case "retiring": {
          if (deps.clock() < (job.retireAt ?? 0)) {
            await wait((job.retireAt ?? 0) - deps.clock());
            break;
          }
          const retiring = (await loadGenerations(deps.store, job.handler))?.retiring;
          if (retiring && retiring.generation !== job.generation) {
            await deps.store.db.send(
              new UpdateCommand({
                TableName: deps.store.tables.projections,
                Key: { projection: GENERATIONS, key: job.handler },
                UpdateExpression: "REMOVE retiring",
                ConditionExpression: "retiring.generation = :old",
                ExpressionAttributeValues: { ":old": retiring.generation },
              }),
            );
            // Past every projector's copy of the generations item that still named it.
            await sleep(GENERATIONS_TTL_MS + timings.pollMs);
            await resetProjection(deps.store, partitionOf(job.handler, retiring.generation));
          }
          await save(deps, job, { state: "done", phase: "ended", endedAt: deps.clock(), attempts: 0 });
          break;
        }
        case "ended":
          return "ended";
      }
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || error instanceof ReplayConflict) continue; // another write moved the job: read it again
      const attempts = job.attempts + 1;
      const message = error instanceof Error ? error.message : String(error);
      if (attempts >= timings.maxAttempts) await endUnswapped(deps, job, "failed", `step ${job.phase} failed ${attempts} times; last: ${message}`).catch(() => {});
      else await save(deps, job, { attempts, error: message }).catch(() => {});
      await wait(Math.min(5_000, 250 * 2 ** attempts));
    }
  }
};

/** The rebuilt generation serves and the old one retires, in one transaction with the job's move to `retiring`. */
const swap = async (deps: ReplayJobDeps, job: ReplayJob, timings: ReplayTimings) => {
  const table = deps.store.tables.projections;
  const generations = (await loadGenerations(deps.store, job.handler))!;
  const now = deps.clock();
  // Readers that have not heard of the swap (their copy is up to GENERATIONS_TTL_MS old) still read a current model.
  const retireAt = now + Math.max(timings.retireAfterMs, GENERATIONS_TTL_MS);
  await deps.store.db.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Update: {
            TableName: table,
            Key: { projection: GENERATIONS, key: job.handler },
            UpdateExpression: "SET serving = :serving, retiring = :retiring REMOVE building",
            ConditionExpression: "building.replayId = :id AND serving.generation = :old",
            ExpressionAttributeValues: {
              ":serving": { generation: job.generation, version: job.version },
              ":retiring": { ...generations.serving, until: retireAt },
              ":id": job.key,
              ":old": generations.serving.generation,
            },
          },
        },
        {
          Update: {
            TableName: table,
            Key: jobKey(job.key),
            UpdateExpression: "SET phase = :retiring, swappedAt = :now, retireAt = :retireAt, updatedAt = :now, attempts = :zero, revision = revision + :one",
            ConditionExpression: "revision = :revision AND #state = :running",
            ExpressionAttributeNames: { "#state": "state" },
            ExpressionAttributeValues: { ":retiring": "retiring", ":now": now, ":retireAt": retireAt, ":zero": 0, ":one": 1, ":revision": job.revision, ":running": "running" },
          },
        },
      ],
    }),
  ).catch((error) => {
    if (error instanceof TransactionCanceledException) throw new ReplayConflict(`replay ${job.key}: the swap's conditions failed`);
    throw error;
  });
};

/** A job as GET /admin/replays/{id} shows it: its counts, rate and time left. */
export const progressOf = (job: ReplayJob, now: number) => {
  // Up to the swap for a rebuild: the wait before the old generation is deleted is not replaying.
  const elapsed = Math.max(1, (job.swappedAt ?? job.endedAt ?? now) - job.createdAt) / 1000;
  const rate = job.eventsApplied / elapsed;
  const objectsLeft = job.objectsTotal === undefined ? undefined : Math.max(0, job.objectsTotal - job.objectsRead);
  const sendSeconds = objectsLeft === undefined || job.objectsRead === 0 ? undefined : (objectsLeft * elapsed) / job.objectsRead;
  const applySeconds = rate > 0 ? Math.max(0, job.eventsSent - job.eventsApplied) / rate : undefined;
  // Half for the archive read, half for the projector's share of what was sent.
  const read = job.objectsTotal ? job.objectsRead / job.objectsTotal : ["draining", "retiring"].includes(job.phase) ? 1 : 0;
  const applied = job.eventsSent ? Math.min(1, job.eventsApplied / job.eventsSent) : read === 1 ? 1 : 0;
  const percent = job.state === "done" ? 100 : Math.floor(((read + applied) / 2) * 100);
  const etaSeconds = job.state !== "running" ? 0 : sendSeconds === undefined && applySeconds === undefined ? undefined : Math.max(sendSeconds ?? 0, applySeconds ?? 0) + (job.phase === "retiring" ? Math.max(0, ((job.retireAt ?? now) - now) / 1000) : 0);
  return {
    replayId: job.key,
    handler: job.handler,
    state: job.state,
    phase: job.phase,
    reset: job.reset,
    reason: job.reason,
    generation: job.generation,
    ...(job.from !== undefined ? { from: new Date(job.from).toISOString() } : {}),
    ...(job.to !== undefined ? { to: new Date(job.to).toISOString() } : {}),
    objectsTotal: job.objectsTotal ?? null,
    objectsRead: job.objectsRead,
    eventsRead: job.eventsRead,
    eventsSent: job.eventsSent,
    eventsApplied: job.eventsApplied,
    ...(job.streamsBehind ? { streamsBehind: job.streamsBehind } : {}),
    percent,
    eventsPerSecond: Math.round(rate * 10) / 10,
    etaSeconds: etaSeconds === undefined ? null : Math.round(etaSeconds),
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    ...(job.sentAt !== undefined ? { sentAt: new Date(job.sentAt).toISOString() } : {}),
    ...(job.swappedAt !== undefined ? { swappedAt: new Date(job.swappedAt).toISOString() } : {}),
    ...(job.endedAt !== undefined ? { endedAt: new Date(job.endedAt).toISOString() } : {}),
    ...(job.error !== undefined ? { error: job.error } : {}),
  };
};

/**
 * What a deployment owes its projections: each one's generations item, and a
 * rebuild for each whose code version is not the serving generation's (a
 * rebuild at another version is cancelled first), or that is new while the
 * archive already holds events. Locally at `npm start`; on AWS on each deploy.
 */
export const ensureProjectionVersions = async (deps: ReplayJobDeps): Promise<ReplayJob[]> => {
  const started: ReplayJob[] = [];
  for (const projection of Object.values(deps.app.projections)) {
    const { generations, created } = await ensureGenerations(deps.store, projection);
    const version = versionOf(projection);
    if (created) {
      const { keys } = await listArchive(deps.s3, deps.names.archiveBucket, { maxKeys: 1 });
      if (keys.length) started.push(await startReplay(deps, { handler: projection.name, reset: true, reason: "new-projection" }));
      continue;
    }
    if (generations.serving.version === version) continue;
    if (generations.building?.version === version) continue;
    if (generations.building) {
      const job = await loadJob(deps.store, generations.building.replayId);
      if (job?.state === "running") await endUnswapped(deps, job, "cancelled", `superseded: version ${version} of ${projection.name} was deployed`).catch(() => {});
      await kick(deps, generations.building.replayId);
    }
    started.push(await startReplay(deps, { handler: projection.name, reset: true, reason: "version" }));
  }
  return started;
};
