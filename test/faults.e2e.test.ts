// Fault injection on the real local stack: `npm start` under a load of a few
// hundred commands over many carts is killed with SIGKILL, with everything it
// started, at a random moment; it is started again on the same data folder and
// the clients resend, with the same ids, every request that got no answer.
// The history checker then holds the stack to every invariant, and a replay of
// the archive must rebuild the read models it built live.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { QueueName } from "../core/topology.js";
import { topology } from "./support/app.js";
import { fauxqsClientConfig } from "../local/fauxqs.js";
import { TABLE_PREFIX } from "../local/stack.js";
import { apiAt, cartCommand, type Api, type CommandBody } from "./support/api.js";
import { checkHistory, type Acknowledged } from "./support/history.js";
import { descendantsOf, expectCleanStop, isAlive, startChildStack, type ChildStack } from "./support/local-stack.js";
import { readModelItems, tablesAt } from "./support/tables.js";
import { eventually } from "./support/wait.js";

const CARTS = 60;
const CLIENTS = 8;
const USERS = ["u-1", "u-2", "u-3", "u-4"];
const dataDir = mkdtempSync(join(tmpdir(), "ordinal-faults-"));
let stack: ChildStack | undefined;

afterAll(async () => {
  try {
    if (stack) await stack.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** Four commands per cart, in the order one client sends them. */
const cartScript = (n: number): CommandBody[] => {
  const cartId = `crash-${n}`;
  const user = USERS[n % USERS.length]!;
  return [
    cartCommand("OpenCart", cartId, `${cartId}-open`, undefined, { user }),
    cartCommand("AddItem", cartId, `${cartId}-add-1`, { sku: "SKU-1", quantity: 1 + (n % 3), unitPrice: 250 }, { user }),
    cartCommand("AddItem", cartId, `${cartId}-add-2`, { sku: `SKU-${n}`, quantity: 1, unitPrice: 1000 + n }, { user }),
    ...(n % 2 === 0 ? [cartCommand("CloseCart", cartId, `${cartId}-close`, undefined, { user })] : [cartCommand("RemoveItem", cartId, `${cartId}-remove`, { sku: "SKU-1" }, { user })]),
  ];
};

/** The bodies of every message in a queue of the stack, each received once and left to come back. */
const queuedMessages = async (endpoint: string, queue: QueueName): Promise<string[]> => {
  const sqs = new SQSClient(fauxqsClientConfig(endpoint));
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: `${TABLE_PREFIX}${topology.queues[queue]!.name}` }));
    const bodies: string[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 0 }));
      if (Messages.length === 0) return bodies;
      bodies.push(...Messages.map((m) => m.Body!));
    }
  } finally {
    sqs.destroy();
  }
};

/** SIGKILL of the stack and of every process under it at once, as a power cut does it. */
const killEverything = (victim: ChildStack) => {
  const tree = descendantsOf(victim.pid);
  for (const pid of [victim.pid, ...tree.map((p) => p.pid)]) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  return tree;
};

describe("a local stack killed with SIGKILL under load, and started again", () => {
  it("keeps every invariant, and a rebuild of the read models from the archive resumes and ends, though the power is cut again as it runs", { timeout: 240_000 }, async () => {
    // Prepare: the load, and the moment it is cut.
    stack = await startChildStack(["--data", dataDir, "--port", "0"]);
    const scripts = Array.from({ length: CARTS }, (_, n) => cartScript(n));
    const total = scripts.flat().length;
    const killAt = Math.floor(total * (0.25 + Math.random() * 0.5));
    console.log(`faults.e2e: ${total} commands, SIGKILL after ${killAt} acknowledgements`);
    const acknowledged: Acknowledged[] = [];
    let api: Api = apiAt(stack.url);
    let killed: Promise<void> | undefined;
    const restarted = async () => {
      killed ??= (async () => {
        const tree = killEverything(stack!);
        await eventually("the killed stack's processes to be gone", async () => expect(tree.filter((p) => isAlive(p.pid))).toEqual([]), { timeoutMs: 10_000 });
        stack = await startChildStack(["--data", dataDir, "--port", "0"]);
        api = apiAt(stack.url);
      })();
      await killed;
    };
    /** Sends until an answer comes; a request with no answer is sent again, the same id, once the stack is back. */
    const send = async (body: CommandBody) => {
      for (;;) {
        const answer = await api.send(body).catch(() => undefined);
        if (answer) {
          expect(answer.status, JSON.stringify(answer.body)).toBe(202);
          acknowledged.push({ key: answer.body.key, seq: answer.body.seq, type: body.type, user: body.user, id: body.id });
          if (acknowledged.length === killAt) void restarted();
          return;
        }
        await restarted();
      }
    };

    // Act: each client takes whole carts, so a cart's commands go in order.
    let nextCart = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (nextCart < scripts.length) for (const body of scripts[nextCart++]!) await send(body);
      }),
    );
    await killed;

    // Assess: the history, once the restarted stack has caught up.
    const { endpoints } = (await api.get("/health")).body;
    expect(acknowledged.length).toBeGreaterThanOrEqual(total);
    const problems = await eventually(
      "a history that keeps every invariant",
      async () => {
        const found = await checkHistory(endpoints, acknowledged);
        if (found.length > 0) throw new Error(found.join("\n"));
        return found;
      },
      { timeoutMs: 90_000, everyMs: 1000 },
    ).catch(async () => checkHistory(endpoints, acknowledged));
    expect(problems).toEqual([]);
    // The SNS subscriber's queue (no consumer reads it here) holds every CartClosed, at least once.
    const closed = (await tablesAt(endpoints.dynamodb).scan("events")).filter((e) => e.type === "CartClosed").map((e) => e.eventId);
    expect(closed).toHaveLength(CARTS / 2);
    expect([...new Set((await queuedMessages(endpoints.sqs, "cart-closed-subscriber")).map((m) => JSON.parse(m).eventId))].sort()).toEqual(closed.sort());
    const tables = tablesAt(endpoints.dynamodb);
    const live = await readModelItems(tables);
    expect(live.filter((item) => item.projection === "cart-summary")).toHaveLength(CARTS);

    tables.close();

    // Act: rebuild every read model from the archive, and cut the power the
    // moment both rebuilds are under way: each job must resume after the
    // restart and run to its end, and readers never lose the served model.
    const jobs: string[] = [];
    for (const handler of topology.projections) {
      const started = await api.post("/admin/replays", { handler, reset: true });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      jobs.push(started.body.statusUrl);
    }
    await eventually(
      "both rebuilds under way",
      async () => {
        for (const url of jobs) expect(["sending", "draining"]).toContain((await api.get(url)).body.phase);
      },
      { everyMs: 10 },
    );
    killed = undefined;
    await restarted();
    const again = tablesAt((await api.get("/health")).body.endpoints.dynamodb);

    // Assess
    for (const url of jobs)
      await eventually(`${url} resumed and done`, async () => expect((await api.get(url)).body).toMatchObject({ state: "done", phase: "ended" }), { timeoutMs: 90_000 });
    await eventually("the read models rebuilt from the archive", async () => expect(await readModelItems(again)).toEqual(live), { timeoutMs: 60_000 });
    const generations = (await again.scan("projections")).filter((item) => item.projection === "generations");
    expect(generations.map((g) => (g.serving as { generation: number }).generation)).toEqual(topology.projections.map(() => 2));
    again.close();
    expectCleanStop(stack, await stack.stop());
    stack = undefined;
  });
});
