// The ATM account's rules as specifications: funds, compensations, ownership.
import { describe, expect, it } from "vitest";
import { account, type AccountCommand, type AccountEvent } from "../core/account/index.js";
import { deciderSpec } from "./support/decider-spec.js";

const { given } = deciderSpec(account, { now: 1_794_000_000_000, user: "alice", roles: [], aggregateId: "acc-1" });

const open = (currency = "EUR"): AccountCommand => ({ type: "OpenAccount", data: { currency } });
const deposit = (transactionId: string, amount: number): AccountCommand => ({ type: "Deposit", data: { transactionId, amount } });
const withdraw = (transactionId: string, amount: number): AccountCommand => ({ type: "Withdraw", data: { transactionId, amount } });
const reverse = (transactionId: string, reason = "mistake"): AccountCommand => ({ type: "ReverseTransaction", data: { transactionId, reason } });

const opened: AccountEvent = { type: "AccountOpened", data: { owner: "alice", currency: "EUR" } };
const deposited = (transactionId: string, amount: number): AccountEvent => ({ type: "MoneyDeposited", data: { transactionId, amount } });
const withdrawn = (transactionId: string, amount: number): AccountEvent => ({ type: "MoneyWithdrawn", data: { transactionId, amount } });
const depositReversed = (transactionId: string, amount: number, reason = "mistake"): AccountEvent => ({
  type: "DepositReversed",
  data: { transactionId, amount, reason },
});
const withdrawalReversed = (transactionId: string, amount: number, reason = "mistake"): AccountEvent => ({
  type: "WithdrawalReversed",
  data: { transactionId, amount, reason },
});

const funded = [opened, deposited("t-1", 10_000)];

describe("account: OpenAccount", () => {
  it("opens an account in a currency, owned by whoever opened it", () => {
    given([]).when(open("EUR")).then([opened]);
    given([]).when(open("USD"), { user: "bob" }).thenState({ status: "open", owner: "bob", currency: "USD", balance: 0, transactions: [] });
  });

  it("opens an account once", () => {
    given([opened]).when(open()).thenRejects("AccountAlreadyOpened");
  });
});

describe("account: commands need an open account of one's own", () => {
  for (const command of [deposit("t-9", 1), withdraw("t-9", 1), reverse("t-1")]) {
    it(`${command.type} on an unopened account is rejected`, () => {
      given([]).when(command).thenRejects("AccountNotOpened");
    });
    it(`${command.type} by someone other than the owner is Forbidden`, () => {
      given(funded).when(command, { user: "mallory" }).thenRejects("Forbidden");
    });
  }
});

describe("account: Deposit", () => {
  it("adds to the balance and records the transaction", () => {
    given([opened]).when(deposit("t-1", 2_500)).then([deposited("t-1", 2_500)]);
    given(funded).when(deposit("t-2", 2_500)).thenState({
      status: "open",
      owner: "alice",
      currency: "EUR",
      balance: 12_500,
      transactions: [
        { transactionId: "t-1", kind: "deposit", amount: 10_000, reversed: false },
        { transactionId: "t-2", kind: "deposit", amount: 2_500, reversed: false },
      ],
    });
  });

  it("uses a transaction id once per account", () => {
    given(funded).when(deposit("t-1", 5)).thenRejects("DuplicateTransaction");
    given([...funded, withdrawn("t-2", 5)]).when(deposit("t-2", 5)).thenRejects("DuplicateTransaction");
  });
});

describe("account: Withdraw", () => {
  it("is accepted when the balance covers it, to the last cent", () => {
    given(funded).when(withdraw("t-2", 10_000)).then([withdrawn("t-2", 10_000)]);
  });

  it("is rejected with InsufficientFunds otherwise, and says the balance and the amount", () => {
    given(funded).when(withdraw("t-2", 10_001)).thenRejects("InsufficientFunds");
    const state = { status: "open", owner: "alice", currency: "EUR", balance: 10_000, transactions: [] } as const;
    const decision = account.decide({ type: "Withdraw", data: { transactionId: "t-2", amount: 10_001 } }, state, {
      now: 0,
      user: "alice",
      roles: [],
      aggregateId: "acc-1",
    });
    expect(decision).toMatchObject({ reason: "InsufficientFunds", message: "cannot withdraw 10001 EUR: the balance is 10000 EUR" });
  });

  it("uses a transaction id once per account", () => {
    given(funded).when(withdraw("t-1", 1)).thenRejects("DuplicateTransaction");
  });
});

describe("account: ReverseTransaction", () => {
  it("compensates a deposit with DepositReversed; the original stays", () => {
    given(funded).when(reverse("t-1", "bounced cheque")).then([depositReversed("t-1", 10_000, "bounced cheque")]);
    given(funded).when(reverse("t-1")).thenState({
      status: "open",
      owner: "alice",
      currency: "EUR",
      balance: 0,
      transactions: [{ transactionId: "t-1", kind: "deposit", amount: 10_000, reversed: true }],
    });
  });

  it("compensates a withdrawal with WithdrawalReversed, giving the money back", () => {
    const history = [...funded, withdrawn("t-2", 4_000)];
    given(history).when(reverse("t-2")).then([withdrawalReversed("t-2", 4_000)]);
    given(history).when(reverse("t-2")).thenState({
      status: "open",
      owner: "alice",
      currency: "EUR",
      balance: 10_000,
      transactions: [
        { transactionId: "t-1", kind: "deposit", amount: 10_000, reversed: false },
        { transactionId: "t-2", kind: "withdrawal", amount: 4_000, reversed: true },
      ],
    });
  });

  it("names an existing transaction", () => {
    given(funded).when(reverse("t-404")).thenRejects("TransactionNotFound");
  });

  it("reverses a transaction once", () => {
    given([...funded, depositReversed("t-1", 10_000)]).when(reverse("t-1")).thenRejects("AlreadyReversed");
  });

  it("cannot reverse a deposit that was already spent: the balance never goes negative", () => {
    given([...funded, withdrawn("t-2", 9_000)]).when(reverse("t-1")).thenRejects("InsufficientFunds");
  });
});
