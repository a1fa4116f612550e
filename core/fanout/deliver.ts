// Batched sends whose entries can fail one by one (Kinesis PutRecords, SNS
// PublishBatch): resend only the failed entries, with backoff and a bounded
// number of attempts, and optionally keep each key's entries in order. No SDK
// does this for us.
import { setTimeout as wait } from "node:timers/promises";

export interface DeliverOptions<T> {
  /**
   * Sends one batch; answers, for each entry in the same order, why it failed
   * (an error code) or undefined when it was accepted. Throwing fails the whole
   * call: the SDK has already retried what it could, so delivery stops there.
   */
  readonly send: (batch: readonly T[]) => Promise<readonly (string | undefined)[]>;
  readonly maxEntries: number;
  readonly maxBytes?: number;
  readonly sizeOf?: (item: T) => number;
  /**
   * Entries with the same key are delivered in input order: a call carries at
   * most one entry per key, and an entry goes only after the key's previous
   * one was accepted. Leave it out when order does not matter.
   */
  readonly orderKey?: (item: T) => string;
  /** Attempts per entry, the first included. */
  readonly maxAttempts: number;
  /** Wait before the `attempt`-th try (2, 3, …) of a failed entry. */
  readonly backoff?: (attempt: number) => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface Delivery {
  /** By input position: whether the entry was accepted. */
  readonly delivered: readonly boolean[];
  /** By input position: the last reason an entry that ran out of attempts failed. */
  readonly reasons: ReadonlyMap<number, string>;
  /** Why delivery stopped early, when a whole call failed. */
  readonly error?: unknown;
}

export const defaultBackoff = (attempt: number): number => Math.min(1_000, 50 * 2 ** (attempt - 2));

interface Pending<T> {
  readonly item: T;
  readonly position: number;
  attempts: number;
}

export const deliver = async <T>(items: readonly T[], options: DeliverOptions<T>): Promise<Delivery> => {
  const { send, maxEntries, maxBytes = Infinity, sizeOf = () => 0, orderKey, maxAttempts } = options;
  const backoff = options.backoff ?? defaultBackoff;
  const sleep = options.sleep ?? wait;
  const delivered = items.map(() => false);
  const reasons = new Map<number, string>();
  let pending: Pending<T>[] = items.map((item, position) => ({ item, position, attempts: 0 }));

  while (pending.length > 0) {
    // The next call: pending entries in input order, the first of each key only, within the limits.
    const batch: Pending<T>[] = [];
    const keys = new Set<string>();
    let bytes = 0;
    for (const entry of pending) {
      if (batch.length === maxEntries) break;
      if (orderKey) {
        const key = orderKey(entry.item);
        if (keys.has(key)) continue;
        keys.add(key);
      }
      const size = sizeOf(entry.item);
      if (batch.length > 0 && bytes + size > maxBytes) break;
      batch.push(entry);
      bytes += size;
    }

    const retry = Math.max(...batch.map((e) => e.attempts));
    if (retry > 0) await sleep(backoff(retry + 1));
    let failures: readonly (string | undefined)[];
    try {
      failures = await send(batch.map((e) => e.item));
    } catch (error) {
      return { delivered, reasons, error };
    }

    const exhausted = new Set<string | number>();
    batch.forEach((entry, i) => {
      entry.attempts++;
      if (i < failures.length && failures[i] === undefined) delivered[entry.position] = true;
      else if (entry.attempts >= maxAttempts) {
        reasons.set(entry.position, failures[i] ?? "no answer for the entry");
        exhausted.add(orderKey ? orderKey(entry.item) : entry.position);
      }
    });
    // Drop what was accepted, what ran out of attempts and, to keep order, everything after it with the same key.
    pending = pending.filter(
      (e) => !delivered[e.position] && !exhausted.has(orderKey ? orderKey(e.item) : e.position),
    );
  }
  return { delivered, reasons };
};
