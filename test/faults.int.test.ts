// Faults injected at each step of the pipeline's work, in process, on the
// real emulators: a call that fails where a crash would stop the handler.
// One such call in three (or two) fails; the event source mappings retry; the history
// checker then holds the stack to every invariant.
import { afterEach, describe, expect, it } from "vitest";
import { startStack, TABLE_PREFIX, type InterceptedCall, type LocalStack } from "../local/stack.js";
import { apiAt, cartCommand } from "./support/api.js";
import { checkHistory, type Acknowledged } from "./support/history.js";
import { stopLocalStack } from "./support/local-stack.js";
import { eventually } from "./support/wait.js";
import { referenceApp } from "./support/app.js";

const CARTS = 12;

interface Fault {
  /** The call the fault hits. */
  readonly at: (call: InterceptedCall) => boolean;
  readonly phase: InterceptedCall["phase"];
  /** One call in this many fails; the default is three. */
  readonly every?: number;
}

const faults: Record<string, Fault> = {
  "the sequencer, after its snapshot read (before the transaction)": {
    at: (call) => call.name === "TransactWriteItemsCommand",
    phase: "before",
  },
  "the sequencer, after its transaction committed": {
    at: (call) => call.name === "TransactWriteItemsCommand",
    phase: "after",
  },
  "the sequencer's batch, handled, before its checkpoint is written": {
    at: (call) =>
      call.name === "PutItemCommand" && call.input.TableName === `${TABLE_PREFIX}checkpoints` && JSON.stringify(call.input.Item?.consumer).includes('"sequencer"'),
    phase: "before",
    every: 2,
  },
  "the publisher, between Kinesis and SNS": {
    at: (call) => call.client === "sns" && call.name === "PublishBatchCommand",
    phase: "before",
  },
};

let stack: LocalStack | undefined;
afterEach(async () => {
  if (stack) await stopLocalStack(stack);
  stack = undefined;
});

describe("a fault at each step of the pipeline", () => {
  it.each(Object.entries(faults))("%s: every acknowledged command, event and read model comes out right", { timeout: 120_000 }, async (_, fault) => {
    // Prepare
    let seen = 0;
    let injected = 0;
    stack = await startStack({
    app: referenceApp,
      port: 0,
      retryAttempts: 50,
      intercept: (call) => {
        if (call.phase !== fault.phase || !fault.at(call)) return;
        if (++seen % (fault.every ?? 3) === 0) {
          injected++;
          throw new Error(`injected fault (${call.client} ${call.name}, ${call.phase})`);
        }
      },
    });
    const api = apiAt(stack.url);
    const acknowledged: Acknowledged[] = [];

    // Act: carts opened, filled and half of them closed, all at once.
    await Promise.all(
      Array.from({ length: CARTS }, async (_, n) => {
        const cartId = `fault-${n}`;
        const script = [
          cartCommand("OpenCart", cartId, `${cartId}-1`),
          cartCommand("AddItem", cartId, `${cartId}-2`, { sku: "SKU-1", quantity: 2, unitPrice: 300 }),
          cartCommand("AddItem", cartId, `${cartId}-3`, { sku: "SKU-2", quantity: 1, unitPrice: 50 }),
          ...(n % 2 === 0 ? [cartCommand("CloseCart", cartId, `${cartId}-4`)] : []),
        ];
        for (const body of script) {
          // Waiting for each outcome spreads the load over many batches, so the faults hit many of them.
          const answer = await api.send(body, 5);
          expect([200, 202], JSON.stringify(answer.body)).toContain(answer.status);
          acknowledged.push({ key: answer.body.key, seq: answer.body.seq, type: body.type, user: body.user, id: body.id });
        }
      }),
    );

    // Assess
    const problems = await eventually(
      "a history that keeps every invariant",
      async () => {
        const found = await checkHistory(stack!.endpoints, acknowledged);
        if (found.length > 0) throw new Error(found.join("\n"));
        return found;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    ).catch(() => checkHistory(stack!.endpoints, acknowledged));
    expect(problems).toEqual([]);
    expect(injected, "faults injected").toBeGreaterThanOrEqual(2);
    // Retried, not parked: nothing waits in a failure destination.
    for (const destination of [...Object.values(stack.failures), ...Object.values(stack.kinesisFailures)]) expect(await destination.list()).toEqual([]);
  });
});
