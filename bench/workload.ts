// The benchmark's data: carts of OpenCart, AddItems and CloseCart, the same
// commands (and so the same item sizes) for every phase.
import type { CommandEnvelope } from "../core/envelope.js";
import { commandKeyOf } from "../core/keys.js";
import type { CommandRecord } from "../core/records.js";

/** OpenCart, then `perCart - 2` AddItems, then CloseCart: every one accepted. */
export const cartCommands = (cartId: string, perCart: number, user = "bench"): CommandEnvelope[] => {
  const adds = Math.max(0, perCart - 2);
  return [
    { type: "cart", command: "OpenCart", aggregateId: cartId, id: `${cartId}-open`, user, payload: {} },
    ...Array.from({ length: adds }, (_, i): CommandEnvelope => ({
      type: "cart",
      command: "AddItem",
      aggregateId: cartId,
      id: `${cartId}-add-${i + 1}`,
      user,
      payload: { sku: `SKU-${i + 1}`, quantity: 1 + (i % 3), unitPrice: 199 + 100 * i },
    })),
    { type: "cart", command: "CloseCart", aggregateId: cartId, id: `${cartId}-close`, user, payload: {} },
  ];
};

/** What the cart's total comes to once closed (every AddItem has its own SKU, so each is a line). */
export const expectedTotal = (perCart: number): number =>
  Array.from({ length: Math.max(0, perCart - 2) }, (_, i) => (1 + (i % 3)) * (199 + 100 * i)).reduce((a, b) => a + b, 0);

/** A command as the commands table's stream would deliver it: the envelope with its key and seq. */
export const asRecord = (envelope: CommandEnvelope, seq: number, now: number): CommandRecord => ({
  key: commandKeyOf(envelope.type, "aggregate", envelope.aggregateId),
  seq,
  type: envelope.type,
  command: envelope.command,
  aggregateId: envelope.aggregateId,
  id: envelope.id,
  user: envelope.user,
  occurredAt: now,
  receivedAt: now,
  payload: envelope.payload,
});

/** A short tag that keeps one run's aggregate ids apart from any other's. */
export const runTag = (): string => Date.now().toString(36);
