// `npm start` killed with SIGKILL, as a crash or an impatient `kill -9` does:
// its emulators must go down with it, and a data folder is only ever used by
// one live stack at a time.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDynamo } from "../local/dynamodb.js";
import { apiAt, cartCommand } from "./support/api.js";
import { descendantsOf, expectCleanStop, isAlive, startChildStack, type ChildStack } from "./support/local-stack.js";
import { until } from "./support/wait.js";

const dataDir = mkdtempSync(join(tmpdir(), "ordinal-crash-"));
const stacks: ChildStack[] = [];
const start = async () => {
  const stack = await startChildStack(["--data", dataDir, "--port", "0"]);
  stacks.push(stack);
  return stack;
};

afterAll(async () => {
  try {
    for (const stack of stacks) await stack.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe("a local stack killed with SIGKILL", () => {
  it("takes DynamoDB Local and kinesis-local down with it, and the next start on its folder keeps its data", async () => {
    // Prepare
    const crashed = await start();
    const api = apiAt(crashed.url);
    expect((await api.send(cartCommand("OpenCart", "survivor", "s-1"), 5)).body.status).toBe("accepted");
    const tree = descendantsOf(crashed.pid);
    expect(tree.filter((p) => /java/.test(p.command)), "DynamoDB Local under the stack").toHaveLength(1);
    expect(tree.length, "DynamoDB Local, kinesis-local and the watchdog").toBeGreaterThanOrEqual(3);

    // Act
    process.kill(crashed.pid, "SIGKILL");

    // Assess
    try {
      await until("every process the stack started to be gone", async () => (tree.some((p) => isAlive(p.pid)) ? undefined : true), {
        timeoutMs: 10_000,
      });
    } finally {
      for (const { pid } of tree) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    }
    const again = await start();
    const cart = await apiAt(again.url).get("/carts/survivor");
    expect(cart.body).toMatchObject({ cartId: "survivor", status: "open", version: 1 });
    expectCleanStop(again, await again.stop());
  });

  it("refuses, with a message that names the holder, a data folder another live stack holds", async () => {
    // Prepare
    const holder = await start();

    // Act
    const refused = await start().then(
      () => undefined,
      (error: Error) => error.message,
    );

    // Assess
    expect(refused).toContain(`Ordinal cannot start: the data folder ${dataDir} is in use by another local stack (pid ${holder.pid})`);
    expect((await apiAt(holder.url).get("/carts/survivor")).status).toBe(200);
    expectCleanStop(holder, await holder.stop());
  });

  it("refuses a data folder that an orphaned DynamoDB Local still holds, naming its pid", async () => {
    // Prepare: a DynamoDB Local on the folder with no stack around it, as a runtime without a watchdog left it.
    const orphan = await startDynamo({ dataDir });
    try {
      // Act
      const refused = await start().then(
        () => undefined,
        (error: Error) => error.message,
      );

      // Assess
      expect(refused).toContain(`is held by a DynamoDB Local that outlived its runtime (pid ${orphan.pid})`);
    } finally {
      await orphan.stop();
    }
    const after = await start();
    expectCleanStop(after, await after.stop());
  });
});
