import { defineMicroservice } from "../decider.js";
import { commands, decide } from "./decide.js";
import { evolve, initialState, type AccountState } from "./state.js";

/** The public shape of an account, as GET /accounts/{accountId} answers it. */
export const view = (accountId: string, state: AccountState, version: number) =>
  state.status === "unopened"
    ? undefined
    : { accountId, owner: state.owner, currency: state.currency, balance: state.balance, version, transactions: state.transactions };

export const account = defineMicroservice({
  name: "account",
  partitionBy: "aggregate",
  schemaVersion: 1,
  commands,
  initialState,
  decide,
  evolve,
  view: { path: "/accounts/{accountId}", render: view },
});

export type { AccountState, AccountEvent, Transaction } from "./state.js";
export type { AccountCommand } from "./decide.js";
