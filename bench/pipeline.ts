// Phase 1: the whole command path over HTTP. Each client takes the next cart and
// sends its commands in order, each with ?wait so it returns with the outcome:
// a command counts once its outcome is there.
import { eachLimited } from "../core/each-limited.js";
import { performance } from "node:perf_hooks";
import { paginateScan } from "@aws-sdk/lib-dynamodb";
import type { Store } from "../core/dynamo.js";
import { latency, sleep, type Latency } from "./measure.js";
import { cartCommands, expectedTotal } from "./workload.js";

export interface PipelineOptions {
  readonly url: string;
  readonly carts: number;
  readonly perCart: number;
  readonly clients: number;
  /** Prefix of this phase's cart ids, unique per run and phase. */
  readonly prefix: string;
  readonly waitSeconds?: number;
}

export interface PipelineResult {
  readonly carts: number;
  readonly commands: number;
  readonly clients: number;
  readonly seconds: number;
  /** Commands per second, POST to outcome. */
  readonly rate: number;
  readonly latencyMs: Latency;
  /** Responses by HTTP status and outcome status, e.g. "200 accepted". */
  readonly responses: Record<string, number>;
  /** Commands still pending when their ?wait ran out, fetched afterwards. */
  readonly pendingAtDeadline: number;
}

/** When a command was sent and answered (wall clock, ms), for attributing its latency. */
export interface Timing {
  readonly key: string;
  readonly seq: number;
  readonly sentAt: number;
  readonly answeredAt: number;
}

interface Answer {
  readonly http: number;
  readonly status?: string;
  readonly key?: string;
  readonly seq?: number;
}

const post = async (url: string, body: unknown): Promise<Answer> => {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = (await response.json()) as { status?: string; key?: string; seq?: number };
  return { http: response.status, status: json.status, key: json.key, seq: json.seq };
};

/** Fetches an outcome until it is no longer pending (or a minute passes). */
const settle = async (url: string, key: string, seq: number): Promise<string> => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await fetch(`${url}/commands/${encodeURIComponent(key)}/${seq}`);
    const json = (await response.json()) as { status?: string };
    if (json.status !== "pending" || Date.now() > deadline) return `${response.status} ${json.status ?? "?"} (late)`;
    await sleep(100);
  }
};

export const runPipeline = async (options: PipelineOptions, timings: Timing[] = []): Promise<PipelineResult> => {
  const { url, carts, perCart, clients, prefix } = options;
  const endpoint = `${url}/command?wait=${options.waitSeconds ?? 10}`;
  const work = Array.from({ length: carts }, (_, i) => cartCommands(`${prefix}${i}`, perCart));
  const samples: number[] = [];
  const responses: Record<string, number> = {};
  const pending: { key: string; seq: number }[] = [];
  const count = (label: string) => (responses[label] = (responses[label] ?? 0) + 1);

  const started = performance.now();
  await eachLimited(work, clients, async (commands) => {
    for (const command of commands) {
      const sent = performance.now();
      const sentAt = Date.now();
      let answer: Answer;
      try {
        answer = await post(endpoint, command);
      } catch (error) {
        count(`error ${(error as Error).message}`);
        continue;
      }
      samples.push(performance.now() - sent);
      if (answer.key !== undefined && answer.seq !== undefined) timings.push({ key: answer.key, seq: answer.seq, sentAt, answeredAt: Date.now() });
      if (answer.status === "pending" && answer.key !== undefined && answer.seq !== undefined) pending.push({ key: answer.key, seq: answer.seq });
      else count(`${answer.http} ${answer.status ?? "?"}`);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  for (const { key, seq } of pending) count(await settle(url, key, seq));

  const commands = carts * perCart;
  return {
    carts,
    commands,
    clients,
    seconds,
    rate: commands / seconds,
    latencyMs: latency(samples),
    responses,
    pendingAtDeadline: pending.length,
  };
};

/** Scans a table, counting the items the filter keeps. */
const countWhere = async (store: Store, table: string, filter: string, names: Record<string, string>, values: Record<string, unknown>) => {
  let count = 0;
  const pages = paginateScan(
    { client: store.db },
    {
      TableName: table,
      Select: "COUNT",
      FilterExpression: filter,
      ExpressionAttributeNames: Object.keys(names).length ? names : undefined,
      ExpressionAttributeValues: values,
    },
  );
  for await (const page of pages) count += page.Count ?? 0;
  return count;
};

export interface StoredCheck {
  /** Accepted outcomes stored for the phase's carts. */
  readonly acceptedOutcomes: number;
  /** Events stored for the phase's carts. */
  readonly events: number;
  /** Snapshots that show a closed cart at the last version with the right total. */
  readonly closedCarts: number;
}

/** Counts, in the tables themselves, what the phase's carts should have left behind. */
export const checkStored = async (store: Store, prefix: string, perCart: number): Promise<StoredCheck> => {
  const key = `cart:${prefix}`;
  const [acceptedOutcomes, events, closedCarts] = await Promise.all([
    countWhere(store, store.tables.outcomes, "begins_with(#key, :key) AND #status = :accepted", { "#key": "key", "#status": "status" }, { ":key": key, ":accepted": "accepted" }),
    countWhere(store, store.tables.events, "begins_with(streamId, :key)", {}, { ":key": key }),
    countWhere(
      store,
      store.tables.snapshots,
      "begins_with(streamId, :key) AND #version = :version AND #state.#status = :closed AND #state.#total = :total",
      { "#version": "version", "#state": "state", "#status": "status", "#total": "total" },
      { ":key": key, ":version": perCart, ":closed": "closed", ":total": expectedTotal(perCart) },
    ),
  ]);
  return { acceptedOutcomes, events, closedCarts };
};
