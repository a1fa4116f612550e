// The fan-out's benchmark (issue 3), on the in-process local stack:
//
// 1. Rebuild throughput: events per second from the S3 archive to a new
//    generation of cart-summary swapped in (a POST /admin/replays job with
//    reset, until the serving read model equals the live one), next to the
//    raw SendMessageBatch rate of the same fauxqs in the same run (same
//    messages, 10 per call, one call at a time, before and after), and next to
//    a replay in place (the read models deleted first, as the old reset did).
//    Readers of GET /users/{user}/carts run throughout both and count the
//    answers that missed a cart or showed one behind: the time readers saw
//    partial data (zero for the rebuild; the whole replay for the peer).
// 2. End-to-end latency: from the start of POST /command until GET
//    /users/{user}/carts shows the command's effect, for a sample of commands
//    sent while the other clients keep the pipeline busy, split into stages.
//
// `npm run bench -- --fanout` calls benchFanout(); it also runs on its own:
//
//   npx tsx bench/fanout.ts [--carts 200] [--clients 16] [--samples <carts>] [--out .ordinal/bench-fanout.json]
//   npx tsx bench/fanout.ts --carts 2000 --samples 200      # the rebuild over 10,000 events
//
// It asserts no timings. It does check that the work it timed happened: every
// command accepted, every event archived once, the replay sent every archived
// event, the rebuilt model identical to the live one, nothing parked or dead-
// lettered. Standalone, it exits 1 when a check fails.
import { eachLimited } from "../core/each-limited.js";
import { CreateQueueCommand, DeleteQueueCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { checksTable, fixed, gitCommit, intFlag, latency, parkedBatches, progressLog, sleep, stackProcesses, table, timedBatches, usageSince, type Latency, type Usage } from "./measure.js";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, KinesisStreamBatchResponse, KinesisStreamEvent } from "aws-lambda";
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { listArchive, readArchiveObject } from "../core/fanout/archiver.js";
import { cartSummary, summaryOf, type CartSummary } from "../core/cart/cart-summary.js";
import type { CartState } from "../core/cart/state.js";
import { accepts, loadGenerations, partitionOf, queryReadModels, resetProjection } from "../core/projections/index.js";
import type { EventRecord } from "../core/records.js";
import { fifoId, queueDepth } from "../core/sqs.js";
import { startStack, type LocalStack } from "../local/stack.js";
import { runTag } from "./workload.js";
import { app } from "../core/app.js";
import { expandApp } from "../core/app-definition.js";

const referenceApp = expandApp(app);

// ── Workload ──────────────────────────────────────────────────────────────

const PER_CART = 5; // OpenCart, 3 × AddItem, CloseCart: one event each
const USERS = 20; // carts are spread over this many owners
const POLL_MS = 10; // GET /users/{user}/carts while waiting for a command's effect
const SAMPLE_TIMEOUT_MS = 30_000;

interface Line {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: number;
}
interface CartCommand {
  readonly body: Record<string, unknown>;
  /** What GET /users/{user}/carts shows for the cart once this command is applied. */
  readonly expect: CartSummary;
}
interface CartPlan {
  readonly cartId: string;
  readonly user: string;
  readonly commands: readonly CartCommand[];
  /** Index of the command whose visibility is timed, or -1. */
  readonly sampled: number;
}

const lineOf = (cart: number, j: number): Line => ({ sku: `SKU-${j}`, quantity: 1 + ((cart + j) % 3), unitPrice: 100 + 37 * j + (cart % 50) });

const planCart = (prefix: string, tag: string, i: number, sample: boolean): CartPlan => {
  const cartId = `${prefix}${i}`;
  const user = `u${tag}-${i % USERS}`;
  const lines = Array.from({ length: PER_CART - 2 }, (_, j) => lineOf(i, j + 1));
  const envelope = (command: string, n: number, payload: Record<string, unknown> = {}) => ({ type: "cart", command, aggregateId: cartId, id: `${cartId}-${n}`, user, payload });
  const open = (upTo: number): CartSummary => ({
    cartId,
    status: "open",
    itemCount: lines.slice(0, upTo).reduce((s, l) => s + l.quantity, 0),
    total: lines.slice(0, upTo).reduce((s, l) => s + l.quantity * l.unitPrice, 0),
  });
  const commands: CartCommand[] = [
    { body: envelope("OpenCart", 0), expect: open(0) },
    ...lines.map((line, j) => ({ body: envelope("AddItem", j + 1, { ...line }), expect: open(j + 1) })),
    { body: envelope("CloseCart", PER_CART - 1), expect: { ...open(lines.length), status: "closed" as const } },
  ];
  // Every command position is sampled equally often across carts.
  return { cartId, user, commands, sampled: sample ? i % PER_CART : -1 };
};

// ── Small tools ───────────────────────────────────────────────────────────

const progress = progressLog("bench fanout");


/** Polls `check` until it answers a value, or throws after `timeoutMs`. */
const until = async <T>(what: string, check: () => Promise<T | undefined>, { timeoutMs = 60_000, everyMs = 250 } = {}): Promise<T> => {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what}: still not so after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
};

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

// ── Taps: AWS SDK calls by phase, and the fan-out's batches by event ──────

interface CallStats {
  count: number;
  ms: number;
  /** Messages returned (ReceiveMessage) or sent (SendMessageBatch). */
  messages: number;
}
interface Poller {
  iterations: number;
  messages: number;
  receiveMs: number;
  handlerMs: number;
  deleteMs: number;
  lastReceiveEnd?: number;
}

const makeTaps = (stack: LocalStack) => {
  let phase = "setup";
  const calls: Record<string, Record<string, CallStats>> = {};
  const pollers: Record<string, Poller> = {};
  const queueNameOf = new Map<string, string>(Object.entries(stack.deps.names.queueUrls).map(([name, url]) => [url, name]));
  const record = (client: string, command: string, ms: number, messages = 0) => {
    const byCall = (calls[phase] ??= {});
    const stats = (byCall[`${client} ${command}`] ??= { count: 0, ms: 0, messages: 0 });
    stats.count++;
    stats.ms += ms;
    stats.messages += messages;
  };
  const tap = (client: string, target: { middlewareStack: { add: (...args: any[]) => void } }) =>
    target.middlewareStack.add(
      (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
        const command = (context.commandName ?? "?").replace(/Command$/, "");
        const queue = args.input?.QueueUrl === undefined ? undefined : (queueNameOf.get(args.input.QueueUrl) ?? "scratch");
        const label = queue ? `${command} ${queue}` : command;
        const started = performance.now();
        const poller = queue ? (pollers[`${phase} ${queue}`] ??= { iterations: 0, messages: 0, receiveMs: 0, handlerMs: 0, deleteMs: 0 }) : undefined;
        if (poller && command === "DeleteMessageBatch" && poller.lastReceiveEnd !== undefined) {
          // The poller is sequential: receive, handle, delete. What lies between is the handler.
          poller.handlerMs += started - poller.lastReceiveEnd;
          poller.lastReceiveEnd = undefined;
        }
        let messages = 0;
        try {
          const result = await next(args);
          if (command === "ReceiveMessage") messages = result.output?.Messages?.length ?? 0;
          if (command === "SendMessageBatch") messages = args.input?.Entries?.length ?? 0;
          return result;
        } finally {
          const ended = performance.now();
          record(client, messages === 0 && command === "ReceiveMessage" ? `${label} (empty: long-poll wait)` : label, ended - started, messages);
          if (poller && command === "ReceiveMessage" && messages > 0) {
            poller.iterations++;
            poller.messages += messages;
            poller.receiveMs += ended - started;
            poller.lastReceiveEnd = ended;
          }
          if (poller && command === "DeleteMessageBatch") poller.deleteMs += ended - started;
        }
      },
      { step: "initialize", name: "benchFanoutTap" },
    );
  tap("sqs", stack.deps.sqs);
  tap("s3", stack.deps.s3);
  tap("dynamodb", stack.store.db);
  return {
    calls,
    pollers,
    set phase(name: string) {
      phase = name;
    },
  };
};

/** When the publisher and the live cart-summary projector handled each event (first delivery), by eventId. */
const batchTimes = {
  publisher: new Map<string, { start: number; end: number }>(),
  projector: new Map<string, { start: number; end: number; recordedAt: number }>(),
};
const wrapStreamHandler = (name: string, handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>) =>
  name !== "publisher"
    ? handler
    : timedBatches(handler, (event, { startedAt: start, endedAt: end }) => {
        for (const r of event.Records) {
          const image = r.dynamodb?.NewImage;
          const id = `${image?.streamId?.S}#${image?.version?.N}`;
          if (!batchTimes.publisher.has(id)) batchTimes.publisher.set(id, { start, end });
        }
      });
const wrapKinesisHandler = (name: string, handler: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>) =>
  name !== "cart-summary"
    ? handler
    : timedBatches(handler, (event, { startedAt: start, endedAt: end }) => {
        for (const r of event.Records) {
          try {
            const { eventId, recordedAt } = JSON.parse(Buffer.from(r.kinesis.data, "base64").toString("utf8")) as EventRecord;
            if (!batchTimes.projector.has(eventId)) batchTimes.projector.set(eventId, { start, end, recordedAt });
          } catch {
            // not an event record: the projector reports it
          }
        }
      });

// ── HTTP ──────────────────────────────────────────────────────────────────

const postJson = async (url: string, body: unknown): Promise<{ status: number; body: any }> => {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
};

interface Sample {
  readonly command: string;
  /** POST start → ?wait answer, ms. */
  readonly answerMs: number;
  /** POST start → GET shows the effect, ms. */
  readonly visibleMs: number;
  readonly sentAt: number;
  readonly visibleAt: number;
  readonly eventId?: string;
}

interface DriveResult {
  readonly commands: number;
  readonly seconds: number;
  readonly rate: number;
  readonly answerMs: Latency;
  readonly responses: Record<string, number>;
  /** Event ids of the accepted commands, from their outcomes. */
  readonly eventIds: string[];
  readonly samples: Sample[];
  readonly sampleTimeouts: number;
  readonly gets: number;
  readonly getMs: Latency;
}

/**
 * Each client takes the next cart and sends its commands in order, each with
 * ?wait=10. For the cart's sampled command it polls GET /users/{user}/carts
 * from the moment the POST starts until the cart shows the command's effect,
 * and sends the cart's next command only then (a client reading its write).
 */
const drive = async (url: string, plans: readonly CartPlan[], clients: number): Promise<DriveResult> => {
  const answers: number[] = [];
  const responses: Record<string, number> = {};
  const eventIds: string[] = [];
  const samples: Sample[] = [];
  const getMs: number[] = [];
  let sampleTimeouts = 0;
  const started = performance.now();
  await eachLimited(plans, clients, async (plan) => {
    for (const [n, command] of plan.commands.entries()) {
      const t0 = performance.now();
      const sentAt = Date.now();
      const answer = postJson(`${url}/command?wait=10`, command.body).then((a) => ({ ...a, at: performance.now() }));
      let visibleAt: number | undefined;
      if (n === plan.sampled) {
        while (performance.now() - t0 < SAMPLE_TIMEOUT_MS) {
          const g0 = performance.now();
          const response = await fetch(`${url}/users/${encodeURIComponent(plan.user)}/carts`);
          const body = (await response.json()) as { carts?: CartSummary[] };
          getMs.push(performance.now() - g0);
          if (response.status === 200 && sameJson(body.carts?.find((c) => c.cartId === plan.cartId), command.expect)) {
            visibleAt = performance.now();
            break;
          }
          await sleep(POLL_MS);
        }
        if (visibleAt === undefined) sampleTimeouts++;
      }
      const a = await answer;
      answers.push(a.at - t0);
      const label = `${a.status} ${a.body?.status ?? "?"}`;
      responses[label] = (responses[label] ?? 0) + 1;
      const ids: string[] = a.body?.status === "accepted" ? (a.body.events ?? []).map((e: { version: number }) => `${a.body.streamId}#${e.version}`) : [];
      eventIds.push(...ids);
      if (visibleAt !== undefined)
        samples.push({
          command: String(command.body.command),
          answerMs: a.at - t0,
          visibleMs: visibleAt - t0,
          sentAt,
          visibleAt: sentAt + (visibleAt - t0),
          eventId: ids[0],
        });
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const commands = plans.length * PER_CART;
  return { commands, seconds, rate: commands / seconds, answerMs: latency(answers), responses, eventIds, samples, sampleTimeouts, gets: getMs.length, getMs: latency(getMs) };
};

/** Splits each sample's latency at the fan-out's batches (wall-clock ms, one process). */
const stagesOf = (samples: readonly Sample[]) => {
  const stages: Record<string, number[]> = {
    "POST → event recorded (API, commands stream, sequencer)": [],
    "recorded → publisher batch start (events table stream poll)": [],
    "publisher batch (PutRecords to Kinesis, PublishBatch to SNS)": [],
    "publisher end → cart-summary batch start (Kinesis poll)": [],
    "cart-summary batch (read item, fold, conditional put)": [],
    "projected → seen by GET (poll every 10 ms + GET time)": [],
  };
  let attributed = 0;
  for (const s of samples) {
    const pub = s.eventId ? batchTimes.publisher.get(s.eventId) : undefined;
    const proj = s.eventId ? batchTimes.projector.get(s.eventId) : undefined;
    if (!pub || !proj) continue;
    attributed++;
    const values = [proj.recordedAt - s.sentAt, pub.start - proj.recordedAt, pub.end - pub.start, proj.start - pub.end, proj.end - proj.start, s.visibleAt - proj.end];
    Object.values(stages).forEach((list, i) => list.push(values[i]!));
  }
  return { attributed, stages: Object.fromEntries(Object.entries(stages).map(([name, v]) => [name, latency(v)])) };
};

// ── Archive, read model, queues ───────────────────────────────────────────

const readWholeArchive = async (stack: LocalStack) => {
  const { s3, names } = stack.deps;
  const keys: string[] = [];
  let startAfter: string | undefined;
  do {
    const page = await listArchive(s3, names.archiveBucket, { startAfter, maxKeys: 1000 });
    keys.push(...page.keys);
    startAfter = page.next;
  } while (startAfter !== undefined);
  const objects: EventRecord[][] = new Array(keys.length);
  await eachLimited(keys.map((key, i) => ({ key, i })), 8, async ({ key, i }) => {
    objects[i] = await readArchiveObject(s3, names.archiveBucket, key);
  });
  return { keys, events: objects.flat() };
};

/** Waits until cart-summary shows every planned cart in its final state, and answers its items. */
const liveModel = (stack: LocalStack, plans: readonly CartPlan[]) => {
  const expected = plans.map((p) => p.commands.at(-1)!.expect);
  return until("cart-summary holds every cart as its commands say", async () => {
    const items = await cartSummaryItems(stack);
    const byKey = new Map(items.map((item) => [item.key, summaryOf(item.key, item.model)]));
    return expected.every((s) => sameJson(byKey.get(s.cartId), s)) ? items : undefined;
  });
};

/** The cart-summary items as the replay must rebuild them: `revision` only counts writes, so it may differ. */
/** The serving generation's items of cart-summary, by key. */
const cartSummaryItems = async (stack: LocalStack) =>
  (await queryReadModels<CartState>(stack.store, { name: partitionOf(cartSummary.name, (await loadGenerations(stack.store, cartSummary.name))?.serving.generation ?? 1) })).map(({ revision: _revision, projection: _generation, ...item }) => item).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));


interface RawResult {
  readonly messages: number;
  readonly calls: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly rate: number;
  readonly callMs: Latency;
  /** Messages the scratch queue held afterwards: must equal `messages`. */
  readonly queued: number;
}

/**
 * The raw rate: the replay's own message bodies, group ids and (fresh)
 * deduplication ids, SendMessageBatch 10 per call with one call in flight,
 * as core/sqs.ts sendMessages sends a replay page, into a scratch FIFO queue
 * on the same fauxqs through the same client.
 */
const rawSend = async (sqs: SQSClient, name: string, events: readonly EventRecord[]): Promise<RawResult> => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { FifoQueue: "true", VisibilityTimeout: "2" } }));
  try {
    const bodies = events.map((e) => ({ body: JSON.stringify(e), group: fifoId(e.streamId), dedup: fifoId(`${name}:${e.eventId}`) }));
    const callMs: number[] = [];
    const started = performance.now();
    for (let i = 0; i < bodies.length; i += 10) {
      const c0 = performance.now();
      const { Failed = [] } = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: bodies.slice(i, i + 10).map((m, n) => ({ Id: String(n), MessageBody: m.body, MessageGroupId: m.group, MessageDeduplicationId: m.dedup })),
        }),
      );
      callMs.push(performance.now() - c0);
      if (Failed.length > 0) throw new Error(`SendMessageBatch to ${name}: ${Failed.length} refused (${Failed[0]!.Code})`);
    }
    const seconds = (performance.now() - started) / 1000;
    const queued = await queueDepth(sqs, QueueUrl!);
    return { messages: bodies.length, calls: callMs.length, bytes: bodies.reduce((s, m) => s + Buffer.byteLength(m.body), 0), seconds, rate: bodies.length / seconds, callMs: latency(callMs), queued };
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  }
};

interface ReaderStats {
  readonly reads: number;
  /** Answers that missed a cart, or showed one behind what the live model holds. */
  readonly partialReads: number;
  /** The time those answers stood for: each partial answer counts from the answer before it. */
  readonly partialSeconds: number;
  readonly mostMissing: number;
  /** Requests that got no answer at all (a connection closed under them). */
  readonly failedReads: number;
}

interface ReplayResult {
  readonly replayId: string;
  readonly objectsRead: number;
  readonly eventsSent: number;
  readonly eventsApplied: number;
  /** POST /admin/replays → the rebuilt read model serving, equal to the live one. */
  readonly seconds: number;
  readonly rate: number;
  /** POST → the job's last page sent (first status seen draining). */
  readonly sendSeconds: number;
  /** Seconds in each phase, as the status polls (every 50 ms) saw them. */
  readonly phases: Readonly<Record<string, number>>;
  /** From the last page sent until the rebuilt model was complete: the projector catching up. */
  readonly drainSeconds: number;
  readonly modelChecks: number;
  /** What readers of GET /users/{user}/carts saw throughout. */
  readonly readers: ReaderStats;
}

/** Readers of every user's carts, round-robin, until stopped; each answer compared with the live model. */
const startReaders = (stack: LocalStack, live: readonly { key: string; model: CartState }[]) => {
  const expected = new Map<string, CartSummary[]>();
  for (const { key, model } of live) {
    const summary = summaryOf(key, model);
    const owner = (model as { owner?: string }).owner!;
    if (summary) expected.set(owner, [...(expected.get(owner) ?? []), summary]);
  }
  const users = [...expected.keys()];
  let stopped = false;
  const stats = { reads: 0, partialReads: 0, partialSeconds: 0, mostMissing: 0, failedReads: 0 };
  const run = (async () => {
    let last = performance.now();
    for (let i = 0; !stopped; i++) {
      const user = users[i % users.length]!;
      let answer: { carts?: CartSummary[] };
      try {
        answer = (await (await fetch(`${stack.url}/users/${encodeURIComponent(user)}/carts`)).json()) as { carts?: CartSummary[] };
      } catch {
        // A kept-alive socket the server closed as it was reused: not an answer, partial or not.
        stats.failedReads++;
        continue;
      }
      const now = performance.now();
      const got = new Map((answer.carts ?? []).map((c) => [c.cartId, c]));
      const want = expected.get(user)!;
      const wrong = want.filter((c) => !sameJson(got.get(c.cartId), c)).length;
      stats.reads++;
      if (wrong > 0) {
        stats.partialReads++;
        stats.partialSeconds += (now - last) / 1000;
        stats.mostMissing = Math.max(stats.mostMissing, wrong);
      }
      last = now;
      await sleep(10);
    }
  })();
  return async (): Promise<ReaderStats> => {
    stopped = true;
    await run;
    return { ...stats };
  };
};

/**
 * A replay of cart-summary as a job (POST /admin/replays), followed through
 * GET /admin/replays/{id} every 50 ms until it ends, with readers of the read
 * model throughout. `inPlace` replays the way the one-page API's reset did
 * (delete the serving read models, replay into them): the peer of a rebuild.
 */
const replay = async (stack: LocalStack, live: readonly { key: string; model: CartState }[], options: { reset: boolean; inPlace?: boolean }): Promise<ReplayResult> => {
  const stopReaders = startReaders(stack, live);
  const started = performance.now();
  if (options.inPlace) {
    const generations = await loadGenerations(stack.store, cartSummary.name);
    await resetProjection(stack.store, partitionOf(cartSummary.name, generations?.serving.generation ?? 1));
  }
  const post = await postJson(`${stack.url}/admin/replays`, { handler: "cart-summary", ...(options.reset ? { reset: true } : {}) });
  if (post.status !== 202) throw new Error(`POST /admin/replays answered ${post.status}: ${JSON.stringify(post.body)}`);
  const phases: Record<string, number> = {};
  let status = post.body;
  let at = performance.now();
  let sent: number | undefined;
  while (status.state === "running") {
    await sleep(50);
    const next = (await (await fetch(`${stack.url}${post.body.statusUrl}`)).json()) as any;
    const now = performance.now();
    phases[status.phase] = (phases[status.phase] ?? 0) + (now - at) / 1000;
    if (sent === undefined && ["draining", "retiring", "ended"].includes(next.phase)) sent = now;
    status = next;
    at = now;
  }
  if (status.state !== "done") throw new Error(`replay ${status.replayId} ended ${status.state}: ${status.error ?? ""}`);
  let modelChecks = 0;
  const done = await until(
    "the rebuilt cart-summary equal to the live one",
    async () => {
      const checked = performance.now();
      modelChecks++;
      return sameJson(await cartSummaryItems(stack), live) ? checked : undefined;
    },
    { timeoutMs: 90_000, everyMs: 50 },
  );
  const readers = await stopReaders();
  // A rebuild is complete at its swap; the wait before the old generation is deleted is not replaying.
  const swappedAt = status.swappedAt ? Date.parse(status.swappedAt) - Date.parse(status.createdAt) : undefined;
  const seconds = swappedAt !== undefined ? swappedAt / 1000 : (done - started) / 1000;
  return {
    replayId: status.replayId,
    objectsRead: status.objectsRead,
    eventsSent: status.eventsSent,
    eventsApplied: status.eventsApplied,
    seconds,
    rate: status.eventsSent / seconds,
    sendSeconds: ((sent ?? done) - started) / 1000,
    phases,
    drainSeconds: Math.max(0, seconds - ((sent ?? done) - started) / 1000),
    modelChecks,
    readers,
  };
};

// ── The benchmark ─────────────────────────────────────────────────────────

/**
 * Runs the fan-out benchmark on a fresh in-process local stack and answers
 * its report. `report.ok` is false (and `report.checks` says which) when the
 * work it timed did not all happen: callers must not print its numbers as
 * valid then. Takes about a minute on 2 cores with the defaults.
 */
export async function benchFanout(options: { carts?: number; clients?: number; samples?: number }): Promise<Record<string, unknown>> {
  const carts = options.carts ?? 200;
  // Each sampled cart's GET scans the whole cart-summary (the route filters by owner): cap them for large runs.
  const samples = Math.min(carts, options.samples ?? carts);
  const clients = options.clients ?? 16;
  const tag = runTag();
  const benchStarted = performance.now();
  const warmCarts = Math.max(clients, 16);
  const loadBefore = loadavg();
  batchTimes.publisher.clear();
  batchTimes.projector.clear();

  const logged: { message: string; extra?: Record<string, unknown> }[] = [];
  progress(`starting the local stack (DynamoDB Local in memory, kinesis-mock, fauxqs in process); run ${tag}`);
  const stack = await startStack({ app: referenceApp, port: 0, wrapStreamHandler, wrapKinesisHandler, log: (message, extra) => logged.push({ message, extra }) });
  try {
    const taps = makeTaps(stack);
    const usage = () => usageSince(stackProcesses(stack));
    const idle = usage();
    await sleep(2000);
    const idleUsage = idle();

    // Warm-up: the same paths at a smaller scale, replay included (without reset: every event is skipped as applied).
    taps.phase = "warm-up";
    progress(`warm-up: ${warmCarts} carts × ${PER_CART} commands, a replay, ${warmCarts * PER_CART} raw sends`);
    const warmPlans = Array.from({ length: warmCarts }, (_, i) => planCart(`fw${tag}-`, tag, i, true));
    const warm = await drive(stack.url, warmPlans, clients);
    const warmIds = new Set(warm.eventIds);
    await until("the warm-up's events archived", async () => {
      const { events } = await readWholeArchive(stack);
      return events.filter((e) => warmIds.has(e.eventId)).length >= warmIds.size ? true : undefined;
    });
    const warmLive = await liveModel(stack, warmPlans);
    await replay(stack, warmLive, { reset: false });
    await rawSend(stack.deps.sqs, `ordinal-bench-warm-${tag}`, (await readWholeArchive(stack)).events);

    // 1. Commands under load, with the latency sample.
    taps.phase = "commands";
    progress(`commands: ${carts} carts × ${PER_CART} at ${clients} clients, POST /command?wait=10; one command per cart (${carts}) timed until GET /users/{user}/carts shows them`);
    const plans = Array.from({ length: carts }, (_, i) => planCart(`fm${tag}-`, tag, i, i < samples));
    const commandsUsage = usage();
    const commands = await drive(stack.url, plans, clients);
    const commandsCpu = commandsUsage();

    // 2. Every event in the archive, once; the live model complete.
    taps.phase = "catch-up";
    progress("waiting until the archive holds every event and cart-summary every cart");
    const expectedIds = new Set([...warm.eventIds, ...commands.eventIds]);
    const c0 = performance.now();
    const archive = await until("every event archived", async () => {
      const read = await readWholeArchive(stack);
      return read.events.filter((e) => expectedIds.has(e.eventId)).length >= expectedIds.size ? read : undefined;
    });
    const archivedIds = archive.events.map((e) => e.eventId);
    const duplicates = archivedIds.length - new Set(archivedIds).size;
    const archivedSet = new Set(archivedIds);
    const missing = [...expectedIds].filter((id) => !archivedSet.has(id)).length;
    const live = await liveModel(stack, [...warmPlans, ...plans]);
    const catchUpSeconds = (performance.now() - c0) / 1000;
    await sleep(1000); // open-carts and the SNS subscriber finish too: the replay runs on a quiet stack
    const replayed = archive.events.filter((e) => accepts(cartSummary, e));

    // 3. Raw SendMessageBatch, the replay, raw again.
    taps.phase = "raw before";
    progress(`raw SendMessageBatch (before): ${replayed.length} messages, 10 per call, 1 call in flight`);
    const rawBeforeUsage = usage();
    const rawBefore = await rawSend(stack.deps.sqs, `ordinal-bench-raw1-${tag}`, replayed);
    const rawBeforeCpu = rawBeforeUsage();

    // The peer: a replay as the one-page API's reset did it, the serving read models emptied first.
    taps.phase = "replay in place";
    progress(`replay of cart-summary in place (its read models deleted first, as the old reset did): ${replayed.length} events`);
    const inPlace = await replay(stack, live, { reset: false, inPlace: true });

    taps.phase = "replay";
    progress(`rebuild of cart-summary (a new generation, swapped in): ${archive.keys.length} archive objects, ${replayed.length} events`);
    const replayUsage = usage();
    const replayResult = await replay(stack, live, { reset: true });
    const replayCpu = replayUsage();

    taps.phase = "raw after";
    progress(`raw SendMessageBatch (after): ${replayed.length} messages`);
    const rawAfterUsage = usage();
    const rawAfter = await rawSend(stack.deps.sqs, `ordinal-bench-raw2-${tag}`, replayed);
    const rawAfterCpu = rawAfterUsage();
    taps.phase = "checks";

    // 4. Nothing failed on the way.
    const parked = await parkedBatches(stack);
    const dlq = await queueDepth(stack.deps.sqs, stack.deps.names.queueUrls["cart-summary-replay-dlq"]!);
    const rebuilt = await cartSummaryItems(stack);

    const accepted = commands.responses["200 accepted"] ?? 0;
    const warmAccepted = warm.responses["200 accepted"] ?? 0;
    const checks = [
      { check: "commands answered 200 accepted (warm-up + measured)", got: warmAccepted + accepted, want: (warmCarts + carts) * PER_CART },
      { check: "sampled commands seen in GET /users/{user}/carts", got: commands.samples.length, want: samples },
      { check: "events in the archive (distinct)", got: new Set(archivedIds).size, want: expectedIds.size },
      { check: "events archived more than once", got: duplicates, want: 0 },
      { check: "accepted events missing from the archive", got: missing, want: 0 },
      { check: "replay: archive objects read", got: replayResult.objectsRead, want: archive.keys.length },
      { check: "replay: events sent", got: replayResult.eventsSent, want: replayed.length },
      { check: "rebuild: answers readers saw partial", got: replayResult.readers.partialReads, want: 0 },
      { check: "in-place replay: events sent", got: inPlace.eventsSent, want: replayed.length },
      { check: "rebuilt cart-summary identical to the live one (items)", got: sameJson(rebuilt, live) ? live.length : -1, want: live.length },
      { check: "raw: messages in the scratch queue (before, after)", got: rawBefore.queued + rawAfter.queued, want: 2 * replayed.length },
      { check: "parked batches + replay dead letters", got: parked + dlq, want: 0 },
      { check: "poller errors logged", got: logged.length, want: 0 },
    ].map((c) => ({ ...c, ok: c.got === c.want }));

    const rawRate = (rawBefore.rate + rawAfter.rate) / 2;
    const { attributed, stages } = stagesOf(commands.samples);
    const poller = taps.pollers["replay cart-summary-replay"] ?? { iterations: 0, messages: 0, receiveMs: 0, handlerMs: 0, deleteMs: 0 };
    const replayCalls = taps.calls.replay ?? {};
    const visible = latency(commands.samples.map((s) => s.visibleMs));
    const report = {
      at: new Date().toISOString(),
      commit: gitCommit(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadAverage: { before: loadBefore, after: loadavg() } },
      options: { carts, clients, samples, perCart: PER_CART, users: USERS, warmCarts, pollMs: POLL_MS },
      ok: checks.every((c) => c.ok),
      checks,
      inPlace,
      replay: {
        ...replayResult,
        archiveObjects: archive.keys.length,
        rawRate,
        ratio: replayResult.rate / rawRate,
        ratioBefore: replayResult.rate / rawBefore.rate,
        ratioAfter: replayResult.rate / rawAfter.rate,
        sendOnlyRate: replayResult.eventsSent / replayResult.sendSeconds,
        sendOnlyRatio: replayResult.eventsSent / replayResult.sendSeconds / rawRate,
        poller: {
          ...poller,
          lastReceiveEnd: undefined,
          messagesPerIteration: poller.messages / (poller.iterations || 1),
          receiveMsPerIteration: poller.receiveMs / (poller.iterations || 1),
          handlerMsPerIteration: poller.handlerMs / (poller.iterations || 1),
          deleteMsPerIteration: poller.deleteMs / (poller.iterations || 1),
          busySeconds: (poller.receiveMs + poller.handlerMs + poller.deleteMs) / 1000,
        },
        calls: replayCalls,
        usage: replayCpu,
      },
      rawBefore: { ...rawBefore, usage: rawBeforeCpu },
      rawAfter: { ...rawAfter, usage: rawAfterCpu },
      latency: {
        visibleMs: visible,
        answerMs: latency(commands.samples.map((s) => s.answerMs)),
        visibleBeforeAnswer: commands.samples.filter((s) => s.visibleMs <= s.answerMs).length,
        byCommand: Object.fromEntries(["OpenCart", "AddItem", "CloseCart"].map((c) => [c, latency(commands.samples.filter((s) => s.command === c).map((s) => s.visibleMs))])),
        stagesAttributed: attributed,
        stagesMs: stages,
        gets: commands.gets,
        getMs: commands.getMs,
        sampleTimeouts: commands.sampleTimeouts,
      },
      commands: {
        commands: commands.commands,
        seconds: commands.seconds,
        rate: commands.rate,
        answerMs: commands.answerMs,
        responses: commands.responses,
        usage: commandsCpu,
        calls: taps.calls.commands ?? {},
      },
      catchUpSeconds,
      idle: idleUsage,
      events: { archived: archive.events.length, replayed: replayed.length, bodyBytes: rawBefore.bytes },
      logged: logged.slice(0, 20),
      // Up to here: the stack's stop comes after.
      totalSeconds: (performance.now() - benchStarted) / 1000,
    };
    return report;
  } finally {
    progress("stopping the local stack");
    await stack.stop();
  }
}

// ── Printing ──────────────────────────────────────────────────────────────


/** The report as tables, for `npm run bench` or the standalone run. */
export const formatFanout = (report: Record<string, any>): string => {
  const { replay: r, rawBefore, rawAfter, latency: l, commands: c } = report;
  const cpu = (u: Usage) => `node ${fixed(u.nodeCores, 2)} (loop ${fixed(u.eventLoop * 100)}%), DynamoDB ${fixed(u.dynamoCores, 2)}, kinesis ${fixed(u.emulatorCores, 2)}, other ${fixed(u.otherCores, 2)}`;
  const lat = (x: Latency) => [fixed(x.p50, 1), fixed(x.p90, 1), fixed(x.p99, 1), fixed(x.max, 1), fixed(x.mean, 1)];
  const throughput = table(
    ["phase", "events", "seconds", "events/s", "cores used (node = API, pollers, handlers, fauxqs)"],
    [
      ["raw SendMessageBatch (before)", String(rawBefore.messages), fixed(rawBefore.seconds, 2), fixed(rawBefore.rate), cpu(rawBefore.usage)],
      ["rebuild: archive → new generation of cart-summary, swapped in", String(r.eventsSent), fixed(r.seconds, 2), fixed(r.rate), cpu(r.usage)],
      ["  of which until the last page was sent", String(r.eventsSent), fixed(r.sendSeconds, 2), fixed(r.sendOnlyRate), ""],
      ["  then projector catching up", "", fixed(r.drainSeconds, 2), "", ""],
      ["peer: replay in place (read models deleted first)", String(report.inPlace.eventsSent), fixed(report.inPlace.seconds, 2), fixed(report.inPlace.rate), ""],
      ["raw SendMessageBatch (after)", String(rawAfter.messages), fixed(rawAfter.seconds, 2), fixed(rawAfter.rate), cpu(rawAfter.usage)],
    ],
  );
  const ratios = table(
    ["ratio", "value", "note"],
    [
      ["replay / raw SendMessageBatch", fixed(r.ratio, 3), `raw = mean of ${fixed(rawBefore.rate)} and ${fixed(rawAfter.rate)} msg/s`],
      ["replay / raw (before, after)", `${fixed(r.ratioBefore, 3)}, ${fixed(r.ratioAfter, 3)}`, ""],
      ["replay's sending alone / raw", fixed(r.sendOnlyRatio, 3), "the job's pages: list, get, send"],
      ["rebuild / replay in place", fixed(r.rate / report.inPlace.rate, 3), "the same events, the same run"],
    ],
  );
  const p = r.poller;
  // Work first, by total time; then the long polls that found nothing, which are waiting.
  const callRows = Object.entries(r.calls as Record<string, CallStats>)
    .sort(([a, x], [b, y]) => Number(a.includes("(empty")) - Number(b.includes("(empty")) || y.ms - x.ms)
    .map(([name, s]) => [
      name.startsWith("sqs GetQueueAttributes cart-summary-replay") ? `${name} (the bench polling for the end)` : name,
      String(s.count),
      fixed(s.ms / s.count, 2),
      fixed(s.ms / 1000, 2),
    ]);
  const perEvent = (name: string) => fixed((r.calls[name]?.count ?? 0) / r.eventsSent, 2);
  const where = table(
    ["where the replay's time goes", "value"],
    [
      ["archive objects / events sent / applied", `${r.objectsRead} / ${r.eventsSent} / ${r.eventsApplied}`],
      ["seconds by phase", Object.entries(r.phases as Record<string, number>).map(([phase, sec]) => `${phase} ${fixed(sec, 2)}`).join(", ")],
      ["projector poller iterations, messages each", `${p.iterations}, ${fixed(p.messagesPerIteration, 2)}`],
      ["per iteration ms: ReceiveMessage / handler / DeleteMessageBatch", `${fixed(p.receiveMsPerIteration, 1)} / ${fixed(p.handlerMsPerIteration, 1)} / ${fixed(p.deleteMsPerIteration, 1)}`],
      ["poller busy s (of the replay's " + fixed(r.seconds, 2) + " s)", fixed(p.busySeconds, 2)],
      ["read-model GetItem / PutItem per replayed event", `${perEvent("dynamodb GetItem")} / ${perEvent("dynamodb PutItem")}`],
      ["SendMessageBatch ms per call: replay's / raw p50 (before, after)", `${fixed(r.calls["sqs SendMessageBatch cart-summary-replay"]?.ms / r.calls["sqs SendMessageBatch cart-summary-replay"]?.count, 2)} / ${fixed(rawBefore.callMs.p50, 2)}, ${fixed(rawAfter.callMs.p50, 2)}`],
      ["model checks until equal", String(r.modelChecks)],
    ],
  );
  const calls = table(["SDK calls during the replay", "count", "mean ms", "total s"], callRows);
  const readerRow = (label: string, x: ReaderStats) => [label, String(x.reads), String(x.partialReads), fixed(x.partialSeconds, 2), String(x.mostMissing)];
  const readers = table(
    ["readers of GET /users/{user}/carts during", "reads", "partial answers", "seconds partial", "most carts wrong in one answer"],
    [readerRow("the rebuild (new generation)", r.readers), readerRow("the replay in place (peer)", report.inPlace.readers)],
  );
  const latencyTable = table(
    ["latency (ms), sampled commands under load", "p50", "p90", "p99", "max", "mean"],
    [
      ["POST /command → visible in GET /users/{user}/carts", ...lat(l.visibleMs)],
      ["POST /command → ?wait=10 answer (same commands)", ...lat(l.answerMs)],
      ...Object.entries(l.byCommand as Record<string, Latency>).map(([name, x]) => [`  visible, ${name} (${x.n})`, ...lat(x)]),
      ...Object.entries(l.stagesMs as Record<string, Latency>).map(([name, x]) => [`  ${name}`, ...lat(x)]),
      ["GET /users/{user}/carts (each poll)", ...lat(l.getMs)],
    ],
  );
  const details = table(
    ["detail", "value"],
    [
      ["samples / attributed to batches / visible before ?wait answered", `${l.visibleMs.n} / ${l.stagesAttributed} / ${l.visibleBeforeAnswer}`],
      ["GET polls issued while sampling", String(l.gets)],
      ["commands phase", `${c.commands} commands in ${fixed(c.seconds, 1)} s = ${fixed(c.rate)} cmd/s; ?wait p50 ${fixed(c.answerMs.p50, 1)} ms, p99 ${fixed(c.answerMs.p99, 1)} ms; ${cpu(c.usage)}`],
      ["responses", Object.entries(c.responses).map(([k, v]) => `${k}: ${v}`).join(", ")],
      ["archive and read model caught up after the commands", `${fixed(report.catchUpSeconds, 1)} s`],
      ["whole bench (stack start to last check)", `${fixed(report.totalSeconds, 1)} s`],
      ["stack idle (pollers polling)", cpu(report.idle)],
      ["message body bytes (replayed events)", `${report.events.bodyBytes} (${fixed(report.events.bodyBytes / report.events.replayed)} per event)`],
      ["raw SendMessageBatch call ms p50 / p99 (before, after)", `${fixed(rawBefore.callMs.p50, 2)} / ${fixed(rawBefore.callMs.p99, 2)}, ${fixed(rawAfter.callMs.p50, 2)} / ${fixed(rawAfter.callMs.p99, 2)}`],
    ],
  );
  const checks = checksTable(report.checks);
  return [
    "",
    `Ordinal fan-out bench — ${report.at}, ${report.machine.cores} cores, Node ${report.machine.node}, load average before/after ${report.machine.loadAverage.before.map((x: number) => x.toFixed(1)).join(" ")} / ${report.machine.loadAverage.after.map((x: number) => x.toFixed(1)).join(" ")}`,
    `${report.options.carts} carts × ${report.options.perCart} commands at ${report.options.clients} clients (after a warm-up of ${report.options.warmCarts} carts); a rebuild of cart-summary from the whole archive (${report.events.replayed} events), and a replay in place as its peer`,
    "",
    throughput,
    "",
    ratios,
    "",
    readers,
    "",
    where,
    "",
    calls,
    "",
    latencyTable,
    "",
    details,
    "",
    checks,
    report.ok ? "" : "\nTHE BENCH'S WORK DID NOT ALL HAPPEN: its numbers are not valid.\n",
  ].join("\n");
};

// ── Standalone ────────────────────────────────────────────────────────────

const isEntry = (() => {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(fileURLToPath(import.meta.url)) === realpathSync(resolve(process.argv[1]));
  } catch {
    return false;
  }
})();

if (isEntry) {
  const { values } = parseArgs({
    options: {
      carts: { type: "string", default: "200" },
      samples: { type: "string" },
      clients: { type: "string", default: "16" },
      out: { type: "string", default: ".ordinal/bench-fanout.json" },
    },
  });
  const report = await benchFanout({
    carts: intFlag("carts", values.carts),
    clients: intFlag("clients", values.clients),
    ...(values.samples !== undefined ? { samples: intFlag("samples", values.samples) } : {}),
  });
  console.log(formatFanout(report));
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, JSON.stringify(report, null, 2) + "\n");
  console.log(`written to ${values.out}`);
  if (!report.ok) process.exit(1);
}
