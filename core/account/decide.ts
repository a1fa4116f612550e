import { z } from "zod";
import { reject, type CommandOf, type DecideContext, type Decision } from "../decider.js";
import type { AccountEvent, AccountState } from "./state.js";

const amount = z.number().int("must be an integer number of minor units").positive("must be positive");
const transactionId = z.string().min(1).max(128);

export const commands = {
  OpenAccount: z.strictObject({ currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR") }),
  Deposit: z.strictObject({ amount, transactionId }),
  Withdraw: z.strictObject({ amount, transactionId }),
  ReverseTransaction: z.strictObject({ transactionId, reason: z.string().min(1).max(500) }),
};

export type AccountCommand = CommandOf<typeof commands>;

type Open = Extract<AccountState, { status: "open" }>;

const money = (state: Open, minor: number) => `${minor} ${state.currency}`;

/** The checks every command on an existing account shares: opened, and sent by its owner. */
const guard = (state: AccountState, context: DecideContext) => {
  if (state.status !== "open") return reject("AccountNotOpened", `account ${context.aggregateId} has not been opened`);
  if (state.owner !== context.user) return reject("Forbidden", `only the account's owner may use account ${context.aggregateId}`);
  return state;
};

export const decide = (command: AccountCommand, state: AccountState, context: DecideContext): Decision<AccountEvent> => {
  if (command.type === "OpenAccount") {
    if (state.status !== "unopened") return reject("AccountAlreadyOpened", `account ${context.aggregateId} is already opened`);
    return [{ type: "AccountOpened", data: { owner: context.user, currency: command.data.currency } }];
  }
  const open = guard(state, context);
  if ("rejected" in open) return open;
  switch (command.type) {
    case "Deposit":
    case "Withdraw": {
      const { transactionId, amount } = command.data;
      if (open.transactions.some((t) => t.transactionId === transactionId))
        return reject("DuplicateTransaction", `transaction ${transactionId} is already recorded on this account`);
      if (command.type === "Deposit") return [{ type: "MoneyDeposited", data: { transactionId, amount } }];
      if (amount > open.balance)
        return reject(
          "InsufficientFunds",
          `cannot withdraw ${money(open, amount)}: the balance is ${money(open, open.balance)}`,
        );
      return [{ type: "MoneyWithdrawn", data: { transactionId, amount } }];
    }
    case "ReverseTransaction": {
      const { transactionId, reason } = command.data;
      const original = open.transactions.find((t) => t.transactionId === transactionId);
      if (!original) return reject("TransactionNotFound", `no transaction ${transactionId} on this account`);
      if (original.reversed) return reject("AlreadyReversed", `transaction ${transactionId} is already reversed`);
      if (original.kind === "withdrawal")
        return [{ type: "WithdrawalReversed", data: { transactionId, amount: original.amount, reason } }];
      if (original.amount > open.balance)
        return reject(
          "InsufficientFunds",
          `cannot reverse deposit ${transactionId} of ${money(open, original.amount)}: the balance is ${money(open, open.balance)}`,
        );
      return [{ type: "DepositReversed", data: { transactionId, amount: original.amount, reason } }];
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
};
