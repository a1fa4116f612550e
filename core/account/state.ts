import type { Message } from "../decider.js";

export interface Transaction {
  readonly transactionId: string;
  readonly kind: "deposit" | "withdrawal";
  /** Minor units of the account's currency. */
  readonly amount: number;
  readonly reversed: boolean;
}

export type AccountState =
  | { readonly status: "unopened" }
  | {
      readonly status: "open";
      readonly owner: string;
      readonly currency: string;
      readonly balance: number;
      readonly transactions: readonly Transaction[];
    };

export type AccountEvent =
  | Message<"AccountOpened", { readonly owner: string; readonly currency: string }>
  | Message<"MoneyDeposited", { readonly transactionId: string; readonly amount: number }>
  | Message<"MoneyWithdrawn", { readonly transactionId: string; readonly amount: number }>
  // Compensating events: the original stays in the log as it was.
  | Message<"DepositReversed", { readonly transactionId: string; readonly amount: number; readonly reason: string }>
  | Message<"WithdrawalReversed", { readonly transactionId: string; readonly amount: number; readonly reason: string }>;

export const initialState: AccountState = { status: "unopened" };

const markReversed = (transactions: readonly Transaction[], transactionId: string) =>
  transactions.map((t) => (t.transactionId === transactionId ? { ...t, reversed: true } : t));

export const evolve = (state: AccountState, event: AccountEvent): AccountState => {
  if (event.type === "AccountOpened")
    return { status: "open", owner: event.data.owner, currency: event.data.currency, balance: 0, transactions: [] };
  if (state.status !== "open") return state;
  switch (event.type) {
    case "MoneyDeposited":
      return {
        ...state,
        balance: state.balance + event.data.amount,
        transactions: [...state.transactions, { ...event.data, kind: "deposit", reversed: false }],
      };
    case "MoneyWithdrawn":
      return {
        ...state,
        balance: state.balance - event.data.amount,
        transactions: [...state.transactions, { ...event.data, kind: "withdrawal", reversed: false }],
      };
    case "DepositReversed":
      return { ...state, balance: state.balance - event.data.amount, transactions: markReversed(state.transactions, event.data.transactionId) };
    case "WithdrawalReversed":
      return { ...state, balance: state.balance + event.data.amount, transactions: markReversed(state.transactions, event.data.transactionId) };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};
