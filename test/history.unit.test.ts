// The point-in-time fold behind GET /streams/{id}/state and GET /accounts/{id}:
// which events count at a time or a version, at the exact boundary.
import { describe, expect, it } from "vitest";
import { foldAt } from "../core/history.js";
import { microservices, referenceApp } from "./support/app.js";

const account = microservices.account!;

const NOV_1 = Date.UTC(2026, 10, 1);
const NOV_10 = Date.UTC(2026, 10, 10);
const NOV_12 = Date.UTC(2026, 10, 12);
const NOV_15 = Date.UTC(2026, 10, 15);

// Recorded in this order; the deposit of 12 Nov was reported late, after the withdrawal of 15 Nov.
const log = [
  { version: 1, occurredAt: NOV_1, type: "AccountOpened", data: { owner: "alice", currency: "EUR" } },
  { version: 2, occurredAt: NOV_10, type: "MoneyDeposited", data: { transactionId: "t-1", amount: 10_000 } },
  { version: 3, occurredAt: NOV_15, type: "MoneyWithdrawn", data: { transactionId: "t-3", amount: 3_000 } },
  { version: 4, occurredAt: NOV_12, type: "MoneyDeposited", data: { transactionId: "t-4", amount: 2_000 } },
];
const balanceAt = (point: { at: number } | { version: number }) => (foldAt(account, log, point).state as { balance: number }).balance;

describe("foldAt", () => {
  it("counts an event at exactly its occurredAt, and not a millisecond before", () => {
    expect(balanceAt({ at: NOV_10 })).toBe(10_000);
    expect(balanceAt({ at: NOV_10 - 1 })).toBe(0);
    expect(balanceAt({ at: NOV_15 })).toBe(9_000);
    expect(balanceAt({ at: NOV_15 - 1 })).toBe(12_000);
  });

  it("counts a late-reported event from when it happened, and says which version it folded last", () => {
    expect(foldAt(account, log, { at: NOV_12 })).toMatchObject({ state: { balance: 12_000 }, version: 4, events: 4 });
    expect(foldAt(account, log, { at: NOV_12 - 1 })).toMatchObject({ state: { balance: 10_000 }, version: 2, events: 4 });
  });

  it("folds up to a version, that version included", () => {
    expect(foldAt(account, log, { version: 3 })).toMatchObject({ state: { balance: 7_000 }, version: 3 });
    expect(foldAt(account, log, { version: 0 })).toMatchObject({ state: account.initialState, version: 0 });
  });
});
