// Replay jobs on the local stack, over HTTP: a rebuild under live traffic that
// readers never see partial, a job that survives a restart mid-way, and a
// projection whose new version is rebuilt at the next start.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { app } from "../core/app.js";
import { expandApp } from "../core/app-definition.js";
import { cartSummary } from "../core/cart/cart-summary.js";
import type { CartState } from "../core/cart/state.js";
import type { Store } from "../core/dynamo.js";
import { readLog } from "../core/events.js";
import { listArchive, readArchiveObject } from "../core/fanout/archiver.js";
import { loadGenerations, partitionOf, queryReadModels, type AnyProjection } from "../core/projections/index.js";
import { startStack, type LocalStack, type StackOptions } from "../local/stack.js";
import { apiAt, cartCommand, type Api, type Json } from "./support/api.js";
import { referenceApp } from "./support/app.js";
import { stopLocalStack } from "./support/local-stack.js";
import { eventually, sleep } from "./support/wait.js";

const USER = "u-1";
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Events in the archive, every object read. */
const archivedEvents = async (stack: LocalStack) => {
  const { keys } = await listArchive(stack.deps.s3, stack.deps.names.archiveBucket);
  const objects = await Promise.all(keys.map((key) => readArchiveObject(stack.deps.s3, stack.deps.names.archiveBucket, key)));
  return objects.flat().length;
};

/** Each cart's read model as a fold of its log would make it. */
const foldedModels = async (store: Store, projection: AnyProjection, cartIds: readonly string[]) =>
  Object.fromEntries(
    await Promise.all(
      cartIds.map(async (cartId) => [cartId, (await readLog(store, `cart:${cartId}`)).reduce((model, event) => projection.evolve(model, event), projection.initial)] as const),
    ),
  );

/** The serving generation's models, by cart. */
const servedModels = async (store: Store, name: string) => {
  const generations = await loadGenerations(store, name);
  const items = await queryReadModels(store, { name: partitionOf(name, generations?.serving.generation ?? 1) });
  return Object.fromEntries(items.map((item) => [item.key, item.model]));
};

const openCarts = async (api: Api, cartIds: readonly string[], items = 2) =>
  Promise.all(
    cartIds.map(async (cartId) => {
      expect((await api.send(cartCommand("OpenCart", cartId, `open-${cartId}`), 5)).body.status).toBe("accepted");
      for (let i = 0; i < items; i++)
        expect((await api.send(cartCommand("AddItem", cartId, `add-${cartId}-${i}`, { sku: `SKU-${i}`, quantity: 1, unitPrice: 100 }), 5)).body.status).toBe("accepted");
    }),
  );

/** Polls a job until it has ended; answers every status seen. */
const followJob = async (api: Api, statusUrl: string, timeoutMs = 120_000) => {
  const seen: Json[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await api.get(statusUrl);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    seen.push(answer.body);
    if (answer.body.state !== "running") return seen;
    if (Date.now() > deadline) throw new Error(`${statusUrl} still running after ${timeoutMs} ms: ${JSON.stringify(answer.body)}`);
    await sleep(100);
  }
};

/**
 * Readers of GET /users/{user}/carts, as many as `readers`, until stopped:
 * every answer is checked against the most each reader has seen, and a cart
 * that went missing or fell behind (fewer items) is a violation.
 */
const watchReaders = (api: Api, readers = 2) => {
  let stopped = false;
  const violations: string[] = [];
  let reads = 0;
  const reader = async () => {
    const seen = new Map<string, number>();
    while (!stopped) {
      const answer = await api.get(`/users/${USER}/carts`);
      reads++;
      if (answer.status !== 200) violations.push(`status ${answer.status}: ${JSON.stringify(answer.body)}`);
      const now = new Map<string, number>((answer.body.carts ?? []).map((c: Json) => [c.cartId, c.itemCount]));
      for (const [cartId, itemCount] of seen) {
        const current = now.get(cartId);
        if (current === undefined) violations.push(`${cartId} missing (had ${itemCount} items)`);
        else if (current < itemCount) violations.push(`${cartId} behind: ${current} items after ${itemCount}`);
      }
      for (const [cartId, itemCount] of now) seen.set(cartId, Math.max(itemCount, seen.get(cartId) ?? 0));
    }
  };
  const running = Array.from({ length: readers }, reader);
  return {
    violations,
    reads: () => reads,
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
};

describe("a rebuild under live traffic", () => {
  let stack: LocalStack | undefined;
  let slowArchive = false;
  afterAll(async () => {
    if (stack) await stopLocalStack(stack);
  });

  it("never shows a reader a cart missing or behind, swaps in a generation equal to a fold of the log, and deletes the old one", async () => {
    // Prepare: 30 carts of 2 items, projected and archived
    stack = await startStack({
      app: referenceApp,
      port: 0,
      replayTimings: { retireAfterMs: 1_500, pageObjects: 1 },
      intercept: async (call) => {
        if (slowArchive && call.client === "s3" && call.phase === "before" && call.name === "GetObjectCommand") await sleep(500);
      },
    });
    const api = apiAt(stack.url);
    const carts = Array.from({ length: 30 }, (_, i) => `live-${i}`);
    await openCarts(api, carts);
    await eventually("every cart's events in the archive", async () => expect(await archivedEvents(stack!)).toBeGreaterThanOrEqual(carts.length * 3));
    // And carts no later event touches, in the summary but (the archiver gathers 5 s per object) not yet archived:
    // a rebuild that read the archive before it held them would leave them out.
    const quiet = ["quiet-1", "quiet-2", "quiet-3"];
    await openCarts(api, quiet, 1);
    const readers = watchReaders(api);
    await eventually("the quiet carts in the summary", async () => expect((await api.get(`/users/${USER}/carts`)).body.carts).toHaveLength(carts.length + quiet.length), { everyMs: 20 });
    // Live traffic throughout: items added to the carts, and new carts.
    let traffic = true;
    let added = 0;
    const late: string[] = [];
    const load = (async () => {
      for (let n = 0; traffic; n++) {
        if (n % 10 === 0) {
          late.push(`late-${n}`);
          await openCarts(api, [`late-${n}`], 1);
        } else {
          const cartId = carts[n % carts.length]!;
          expect((await api.send(cartCommand("AddItem", cartId, `more-${n}`, { sku: `SKU-${n}`, quantity: 1, unitPrice: 10 }), 5)).body.status).toBe("accepted");
          added++;
        }
      }
    })();

    // Act
    const started = await api.post("/admin/replays", { handler: "cart-summary", reset: true });
    const statuses = await followJob(api, started.body.statusUrl);
    traffic = false;
    await load;
    const all = [...carts, ...quiet, ...late];
    await eventually("the last of the traffic in the summary", async () =>
      expect(await servedModels(stack!.store, "cart-summary")).toEqual(await foldedModels(stack!.store, cartSummary, all)),
    );
    await readers.stop();
    const last = statuses.at(-1)!;
    const generations = await loadGenerations(stack.store, "cart-summary");

    // Assess
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ handler: "cart-summary", state: "running", reset: true, statusUrl: `/admin/replays/${started.body.replayId}` });
    expect(last, JSON.stringify(statuses.map((s) => s.phase))).toMatchObject({ state: "done", phase: "ended", etaSeconds: 0 });
    expect(last.objectsRead).toBe(last.objectsTotal);
    expect(last.eventsSent).toBeGreaterThan(carts.length * 3 - 1);
    expect(last.eventsApplied).toBeGreaterThanOrEqual(last.eventsSent);
    // Progress as it went: counts only grow, and the phases come in order.
    const phases = [...new Set(statuses.map((s) => s.phase))];
    expect(phases.at(-1)).toBe("ended");
    expect(phases).toContain("retiring");
    for (let i = 1; i < statuses.length; i++) expect(statuses[i].eventsApplied).toBeGreaterThanOrEqual(statuses[i - 1].eventsApplied);
    expect(added).toBeGreaterThan(0);
    expect(late.length).toBeGreaterThan(0);
    expect(readers.reads()).toBeGreaterThan(10);
    expect(readers.violations).toEqual([]);
    expect(generations).toMatchObject({ serving: { generation: 2, version: 1 } });
    expect(generations?.building).toBeUndefined();
    expect(generations?.retiring).toBeUndefined();
    expect(await queryReadModels(stack.store, { name: partitionOf("cart-summary", 1) })).toEqual([]);
  });

  it("refuses a second rebuild of the same projection while one runs, and cancels one with DELETE", async () => {
    // Prepare: archive reads slowed, so the job is still sending when it is cancelled
    slowArchive = true;
    const api = apiAt(stack!.url);
    const first = await api.post("/admin/replays", { handler: "open-carts", reset: true });

    // Act
    const second = await api.post("/admin/replays", { handler: "open-carts", reset: true });
    const wrongMethod = await api.post(first.body.statusUrl, {});
    const deleted = await fetch(`${stack!.url}${first.body.statusUrl}`, { method: "DELETE" });
    const afterDelete = (await deleted.json()) as Json;
    const statuses = await followJob(api, first.body.statusUrl);
    const generations = await loadGenerations(stack!.store, "open-carts");

    // Assess
    expect(second.status).toBe(409);
    expect(second.body.message).toContain(first.body.replayId);
    expect(wrongMethod.status).toBe(405);
    expect(deleted.status).toBe(200);
    expect(afterDelete).toMatchObject({ state: "cancelled" });
    expect(statuses.at(-1)).toMatchObject({ state: "cancelled" });
    expect(generations?.serving.generation).toBe(1);
    expect(generations?.building).toBeUndefined();
    await eventually("the cancelled generation deleted", async () =>
      expect(await queryReadModels(stack!.store, { name: partitionOf("open-carts", first.body.generation) })).toEqual([]),
    );
    slowArchive = false;
  });

  it("npm run replay: --detach returns while the job runs; following one that is cancelled meanwhile exits 1", { timeout: 120_000 }, async () => {
    // Prepare: archive reads slowed, so each job is still running when it is looked at
    slowArchive = true;
    const api = apiAt(stack!.url);
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile("npm", ["run", "-s", "replay", "--", ...args, "--url", stack!.url], { cwd: ROOT, timeout: 90_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        ),
      );
    const runningRebuild = async () =>
      ((await api.get("/admin/replays")).body.replays as Json[]).find((r) => r.handler === "open-carts" && r.state === "running");

    // Act: a detached start, then a followed one cancelled as the CLI follows it
    const detached = await cli("--handler", "open-carts", "--reset", "--detach");
    const afterDetach = await runningRebuild();
    if (afterDetach) await fetch(`${stack!.url}${afterDetach.statusUrl}`, { method: "DELETE" });
    await eventually("the detached job ended", async () => expect(await runningRebuild()).toBeUndefined());
    const following = cli("--handler", "open-carts", "--reset");
    const followed = await eventually("the followed job running", async () => {
      const job = await runningRebuild();
      expect(job).toBeDefined();
      return job;
    }, { everyMs: 50 });
    await fetch(`${stack!.url}${followed.statusUrl}`, { method: "DELETE" });
    const ended = await following;
    slowArchive = false;

    // Assess
    expect(detached.code, detached.stderr).toBe(0);
    expect(afterDetach?.replayId).toBeDefined();
    expect(detached.stdout).toContain(`replay ${afterDetach?.replayId} of open-carts started`);
    expect(ended.code).toBe(1);
    expect(ended.stdout).toContain(`replay ${followed.replayId} of open-carts: cancelled`);
  });
});

describe("a replay job across restarts", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ordinal-replay-jobs-"));
  let stack: LocalStack | undefined;
  const carts = Array.from({ length: 20 }, (_, i) => `kept-${i}`);
  afterAll(async () => {
    try {
      if (stack) await stopLocalStack(stack);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  const start = (options: Partial<StackOptions> = {}) => startStack({ app: referenceApp, port: 0, dataDir, ...options });

  it("stopped mid-way, resumes where it was at the next start and runs to its end", async () => {
    // Prepare: carts archived in at least two objects; archive reads slowed so the job is stopped mid-way
    stack = await start({
      replayTimings: { pageObjects: 1 },
      intercept: async (call) => {
        if (call.client === "s3" && call.phase === "before" && call.name === "GetObjectCommand") await sleep(300);
      },
    });
    const api = apiAt(stack.url);
    const objects = async (atLeast: number) =>
      eventually(`${atLeast} archive objects`, async () => {
        const { keys } = await listArchive(stack!.deps.s3, stack!.deps.names.archiveBucket);
        expect(keys.length).toBeGreaterThanOrEqual(atLeast);
        return keys.length;
      });
    // In two bursts, each archived in its own objects (the archiver gathers 5 s of events per object).
    await openCarts(api, carts.slice(0, 10));
    const first = await objects(1);
    await openCarts(api, carts.slice(10));
    const archived = await objects(first + 1);
    const started = await api.post("/admin/replays", { handler: "cart-summary", reset: true });
    const midway = await eventually("the job mid-way", async () => {
      const status = (await api.get(started.body.statusUrl)).body;
      expect(status.state).toBe("running");
      expect(status.objectsRead).toBeGreaterThanOrEqual(1);
      expect(status.objectsRead).toBeLessThan(status.objectsTotal);
      return status;
    }, { everyMs: 20 });

    // Act: stopped there (the turn ends at its next step); the next start takes the job up again
    await stopLocalStack(stack);
    stack = undefined;
    stack = await start({ replayTimings: { retireAfterMs: 1_000 } });
    const statuses = await followJob(apiAt(stack.url), started.body.statusUrl);

    // Assess: the same job ended, its counts carried on from where it stopped (a job begun
    // again would have sent the first objects' events twice, and counted them twice)
    expect(midway.eventsSent).toBeLessThan(carts.length * 3);
    // The archiver may have written more objects than there were when the job began: the job counts what it finds.
    const { keys } = await listArchive(stack!.deps.s3, stack!.deps.names.archiveBucket);
    expect(keys.length).toBeGreaterThanOrEqual(archived);
    expect(statuses.at(-1)).toMatchObject({ replayId: started.body.replayId, state: "done", objectsRead: keys.length, objectsTotal: keys.length, eventsSent: carts.length * 3 });
    expect(await servedModels(stack!.store, "cart-summary")).toEqual(await foldedModels(stack!.store, cartSummary, carts));
  });

  it("rebuilds a projection whose version changed at the next start, serving the old generation whole until the new one has caught up", async () => {
    // Prepare: version 2 of cart-summary counts each cart's events
    await stopLocalStack(stack!);
    stack = undefined;
    const counting = {
      ...cartSummary,
      version: 2,
      initial: { ...cartSummary.initial, events: 0 },
      evolve: (model: CartState & { events: number }, event: Parameters<typeof cartSummary.evolve>[1]) => ({ ...cartSummary.evolve(model, event), events: model.events + 1 }),
    };
    const v2 = expandApp({ ...app, projections: [counting, ...(app.projections ?? []).filter((p) => p.name !== cartSummary.name)] });

    // Act
    stack = await start({ app: v2, replayTimings: { retireAfterMs: 1_000 } });
    const api = apiAt(stack.url);
    const readers = watchReaders(api, 1);
    const job = await eventually("the rebuild the start began", async () => {
      const { replays } = (await api.get("/admin/replays")).body;
      const found = replays.find((r: Json) => r.handler === "cart-summary" && r.reason === "version");
      expect(found).toBeDefined();
      return found;
    });
    const statuses = await followJob(api, job.statusUrl);
    await readers.stop();
    const served = await servedModels(stack.store, "cart-summary");

    // Assess
    expect(statuses.at(-1)).toMatchObject({ state: "done" });
    expect(readers.violations).toEqual([]);
    expect(await loadGenerations(stack.store, "cart-summary")).toMatchObject({ serving: { version: 2 } });
    expect(served).toEqual(await foldedModels(stack.store, counting, carts));
    expect(Object.values(served).map((model) => (model as { events: number }).events)).toEqual(carts.map(() => 3));
  });
});
