// The ATM session over HTTP: funds, compensating events, and state at a past time.
import { describe, expect, it } from "vitest";
import { expectJson } from "./support/api.js";
import { useChildStack } from "./support/local-stack.js";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { localAwsConfig } from "../local/dynamodb.js";
import { tableNames } from "./support/tables.js";

// Stopped with expectCleanStop: a clean exit and nothing left behind, as every other e2e file checks.
const { api } = useChildStack();

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const account = (aggregateId: string, command: string, id: string, payload: Record<string, unknown>, timestamp?: number, user = "alice") => ({
  type: "account",
  command,
  aggregateId,
  id,
  user,
  payload,
  ...(timestamp === undefined ? {} : { timestamp }),
});

describe("an ATM session", () => {
  const ACC = "acc-e2e";
  const send = (command: string, id: string, payload: Record<string, unknown>, timestamp?: number, user?: string) =>
    api.send(account(ACC, command, id, payload, timestamp, user), 10);

  it("enforces funds, compensates reversals, and answers balances now and at past times", async () => {
    // Prepare / Act: open on 1 Nov, deposit 100.00 on 10 Nov
    expect((await send("OpenAccount", "a-1", { currency: "EUR" }, day("2026-11-01"))).status).toBe(200);
    expect((await send("Deposit", "a-2", { amount: 10_000, transactionId: "t-1" }, day("2026-11-10"))).status).toBe(200);

    // A withdrawal above the balance is rejected, and says both numbers
    const tooMuch = await send("Withdraw", "a-3", { amount: 50_000, transactionId: "t-2" }, day("2026-11-14"));
    expectJson(tooMuch);
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body).toMatchObject({ status: "rejected", reason: "InsufficientFunds" });
    expect(tooMuch.body.message).toContain("50000");
    expect(tooMuch.body.message).toContain("10000");

    // Within the balance, on 15 Nov
    const within = await send("Withdraw", "a-4", { amount: 3_000, transactionId: "t-3" }, day("2026-11-15"));
    expect(within.status).toBe(200);
    expect(within.body.events).toEqual([{ version: 3, type: "MoneyWithdrawn", data: { amount: 3_000, transactionId: "t-3" } }]);

    // A deposit made on 12 Nov, reported late (after the 15 Nov withdrawal was recorded)
    const late = await send("Deposit", "a-5", { amount: 2_000, transactionId: "t-4" }, day("2026-11-12"));
    expect(late.status).toBe(200);

    // Reverse the late deposit: a compensating event, the original stays
    const reversal = await send("ReverseTransaction", "a-6", { transactionId: "t-4", reason: "counterfeit notes" });
    expect(reversal.status).toBe(200);
    expect(reversal.body.events).toEqual([
      { version: 5, type: "DepositReversed", data: { transactionId: "t-4", amount: 2_000, reason: "counterfeit notes" } },
    ]);

    // Someone else cannot touch the account
    const stranger = await send("Withdraw", "a-7", { amount: 1, transactionId: "t-5" }, undefined, "mallory");
    expect(stranger.status).toBe(409);
    expect(stranger.body.reason).toBe("Forbidden");

    // Assess: now 10000 - 3000 + 2000 - 2000
    const now = await api.get(`/accounts/${ACC}`);
    expect(now.status).toBe(200);
    expect(now.body).toMatchObject({ accountId: ACC, owner: "alice", currency: "EUR", balance: 7_000, version: 5 });
    expect(now.body.transactions).toContainEqual({ transactionId: "t-4", kind: "deposit", amount: 2_000, reversed: true });

    // The log keeps the order things were recorded in: the late deposit after the withdrawal
    const log = await api.allEvents(`account:${ACC}`);
    expect(log.map((e: { type: string }) => e.type)).toEqual(["AccountOpened", "MoneyDeposited", "MoneyWithdrawn", "MoneyDeposited", "DepositReversed"]);
    expect(log.map((e: { version: number }) => e.version)).toEqual([1, 2, 3, 4, 5]);
    expect(log[3].occurredAt).toBe("2026-11-12T00:00:00.000Z");
    // Recorded after the withdrawal, though it happened before it.
    expect(Date.parse(log[3].recordedAt)).toBeGreaterThanOrEqual(Date.parse(log[2].recordedAt));
    expect(Date.parse(log[3].occurredAt)).toBeLessThan(Date.parse(log[2].occurredAt));

    // Business time: on 11 Nov only the first deposit had happened; on 13 Nov the late one had too
    const on11 = await api.get(`/accounts/${ACC}?at=2026-11-11T00:00:00Z`);
    expect(on11.status).toBe(200);
    expect(on11.body).toMatchObject({ balance: 10_000, version: 2 });
    const on13 = await api.get(`/accounts/${ACC}?at=2026-11-13T00:00:00Z`);
    expect(on13.body.balance).toBe(12_000);
    const on16 = await api.get(`/accounts/${ACC}?at=2026-11-16T00:00:00%2B01:00`);
    expect(on16.body.balance).toBe(9_000);

    // Log time: after the 3rd event, before the late deposit was recorded
    const v3 = await api.get(`/accounts/${ACC}?version=3`);
    expect(v3.body).toMatchObject({ balance: 7_000, version: 3 });

    // Before the account was opened there is no account
    expect((await api.get(`/accounts/${ACC}?at=2026-10-01T00:00:00Z`)).status).toBe(404);
  });
});

describe("GET /streams/{streamId}/state", () => {
  it("folds any microservice's stream by version or time, and answers current state without a parameter", async () => {
    // Prepare
    const opened = await api.send({ type: "cart", command: "OpenCart", aggregateId: "pit-cart", id: "p-1", user: "u", timestamp: day("2026-11-02") }, 10);
    const added = await api.send({ type: "cart", command: "AddItem", aggregateId: "pit-cart", id: "p-2", user: "u", payload: { sku: "A", quantity: 1, unitPrice: 5 } }, 10);
    expect([opened.status, added.status]).toEqual([200, 200]);

    // Act
    const current = await api.get("/streams/cart:pit-cart/state");
    const v1 = await api.get("/streams/cart:pit-cart/state?version=1");
    const before = await api.get("/streams/cart:pit-cart/state?at=2026-11-03T00:00:00Z");

    // Assess
    expect(current.body).toEqual({ streamId: "cart:pit-cart", version: 2, state: { status: "open", owner: "u", items: [{ sku: "A", quantity: 1, unitPrice: 5, currency: "EUR" }] } });
    expect(v1.body).toEqual({ streamId: "cart:pit-cart", version: 1, state: { status: "open", owner: "u", items: [] } });
    expect(before.body).toEqual(v1.body);
  });

  it("rejects an invalid version or time with 400 naming the parameter", async () => {
    for (const [query, field] of [
      ["version=abc", "version"],
      ["version=-1", "version"],
      ["version=1.5", "version"],
      ["version=999", "version"],
      ["at=yesterday", "at"],
      ["at=2026-11-03", "at"],
      ["at=2026-11-03T00:00:00", "at"],
      ["at=2026-13-45T00:00:00Z", "at"],
      ["version=1&at=2026-11-03T00:00:00Z", "version"],
      ["verify=maybe", "verify"],
    ]) {
      const answer = await api.get(`/streams/cart:pit-cart/state?${query}`);
      expectJson(answer);
      expect(answer.status, query).toBe(400);
      expect(answer.body.issues[0].field, query).toBe(field);
    }
    expect((await api.get("/accounts/acc-e2e?at=soon")).status).toBe(400);
  });

  it("answers 404 for an unknown stream or microservice", async () => {
    expect((await api.get("/streams/cart:never/state")).status).toBe(404);
    expect((await api.get("/streams/nope:x/state")).status).toBe(404);
    expect((await api.get("/accounts/never")).status).toBe(404);
  });

  it("verify=true agrees with the snapshot after a long mixed history", async () => {
    // Prepare: 60 commands of every kind, accepted and rejected, on one account
    const ACC = "acc-verify";
    expect((await api.send(account(ACC, "OpenAccount", "v-0", { currency: "USD" }), 10)).status).toBe(200);
    // Six rounds of ten, each round waited for, so a reversal can name a deposit of the round before.
    const outcomes: number[] = [];
    for (let round = 0; round < 6; round++) {
      const sent = [];
      for (let i = round * 10 + 1; i <= round * 10 + 10; i++) {
        const kind = i % 5;
        const body =
          kind === 0
            ? account(ACC, "ReverseTransaction", `v-${i}`, { transactionId: i > 13 ? `t-${i - 13}` : "t-missing", reason: "audit" })
            : kind === 3
              ? account(ACC, "Withdraw", `v-${i}`, { amount: 700 + i, transactionId: `t-${i}` })
              : account(ACC, "Deposit", `v-${i}`, { amount: 500 + i, transactionId: `t-${i}` }, day("2026-11-01") + i * 60_000);
        sent.push(api.send(body, 10));
      }
      outcomes.push(...(await Promise.all(sent)).map((answer) => answer.status));
    }
    // Every one of them got its outcome: accepted or rejected, none refused as bad input or left pending.
    expect(outcomes).toHaveLength(60);
    expect(outcomes.filter((status) => status !== 200 && status !== 409)).toEqual([]);
    expect(outcomes).toContain(409);
    const last = await api.send(account(ACC, "Deposit", "v-final", { amount: 1, transactionId: "t-final" }), 10);
    expect(last.status).toBe(200);

    // Act
    const verified = await api.get(`/streams/account:${ACC}/state?verify=true`);

    // Assess
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ agrees: true, differences: [] });
    expect(verified.body.snapshotVersion).toBeGreaterThan(30);
    expect(verified.body.foldedVersion).toBe(verified.body.snapshotVersion);
    // Mixed indeed: money went both ways.
    const types = (await api.allEvents(`account:${ACC}`)).map((e: { type: string }) => e.type);
    expect(types).toContain("MoneyDeposited");
    expect(types).toContain("MoneyWithdrawn");
    expect(types).toContain("DepositReversed");
  });

  it("verify=true reports a snapshot that disagrees with its log, and where", async () => {
    // Prepare: an account, then a snapshot tampered with behind the engine's back
    const ACC = "acc-tampered";
    expect((await api.send(account(ACC, "OpenAccount", "x-0", { currency: "EUR" }), 10)).status).toBe(200);
    expect((await api.send(account(ACC, "Deposit", "x-1", { amount: 500, transactionId: "t-1" }), 10)).status).toBe(200);
    const { endpoints } = (await api.get("/health")).body;
    const client = new DynamoDBClient(localAwsConfig(endpoints.dynamodb));
    await DynamoDBDocumentClient.from(client).send(
      new UpdateCommand({
        TableName: tableNames.snapshots,
        Key: { streamId: `account:${ACC}` },
        UpdateExpression: "SET #state.balance = :forged",
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: { ":forged": 1_000_000 },
      }),
    );
    client.destroy();

    // Act
    const verified = await api.get(`/streams/account:${ACC}/state?verify=true`);

    // Assess
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({
      agrees: false,
      differences: [{ path: "state.balance", snapshot: 1_000_000, folded: 500 }],
    });
  });
});
