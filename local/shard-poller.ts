// Plays Lambda's event source mapping for sharded streams (DynamoDB Streams,
// Kinesis): batches per shard in order, partial batch failures resumed from
// the failed record, bounded retries, a failure destination, checkpoints that
// survive restarts, and shard lineage (a child shard only after its parent).
import type { CheckpointStore } from "./checkpoints.js";
import { doorbell, type Doorbell } from "./doorbell.js";
import { setTimeout as sleep } from "node:timers/promises";

export interface ShardSource<R> {
  listShards(): Promise<readonly { readonly id: string; readonly parent?: string }[]>;
  /** An iterator after `after`, or at the oldest record kept. */
  iterator(shardId: string, after?: string): Promise<string | undefined>;
  /**
   * True when a checkpoint names a record this run of the emulator has not
   * written yet: its sequence numbers started again below it (see
   * dynamodb-stream-source.ts), so the shard must be read from its oldest record.
   */
  isAhead?(sequenceNumber: string): boolean;
  /** One page; `next` is undefined once a closed shard is drained. */
  read(shardId: string, iterator: string, limit: number): Promise<{ readonly records: readonly R[]; readonly next?: string }>;
  sequenceOf(record: R): string;
  /** When the record reached the stream, ms since epoch: what a consumer's lag is measured from. */
  arrivalOf?(record: R): number | undefined;
}

export interface ParkedBatch<R = unknown> {
  readonly consumer: string;
  readonly shardId: string;
  readonly records: readonly R[];
  readonly error: string;
  readonly attempts: number;
}

export type BatchHandler<R> = (event: { Records: R[] }) => Promise<{ batchItemFailures?: { itemIdentifier: string }[] } | void>;

export interface ShardPollerOptions<R> {
  readonly consumer: string;
  readonly source: ShardSource<R>;
  readonly checkpoints: CheckpointStore;
  readonly handler: BatchHandler<R>;
  readonly batchSize: number;
  /** Retries after the first failed attempt; then the rest of the batch is parked. */
  readonly retryAttempts: number;
  readonly onFailure: (batch: ParkedBatch<R>) => Promise<void>;
  /** Pause between polls of a shard that just went idle; it doubles while the shard stays idle. */
  readonly idleMs?: number;
  /**
   * Rung by whoever writes the stream's source in this process (the local
   * stack's clients): an idle shard is read at once, so it can back off to
   * `maxIdleMs` between polls without delaying what this process writes.
   */
  readonly doorbell?: Doorbell;
  /** The longest pause between polls of an idle shard: 250 ms (Lambda polls a DynamoDB stream four times a second), or a second with a doorbell; the local stack sets 5 s. */
  readonly maxIdleMs?: number;
  /** Pause between re-reads of the shard list (a drained shard re-reads it at once). */
  readonly discoverMs?: number;
  /** Lambda's MaximumBatchingWindowInSeconds: how long a batch that is not full gathers records before it goes. */
  readonly batchingWindowMs?: number;
  /**
   * The least time between two reads of a shard that is not being drained:
   * rings within it make one read, not one each (Lambda polls a Kinesis shard
   * about once a second, a DynamoDB stream's four times).
   */
  readonly minPollIntervalMs?: number;
  readonly log?: (message: string, extra?: Record<string, unknown>) => void;
}

export interface Poller {
  stop(): Promise<void>;
  /** Now minus the arrival of the oldest record read and not yet handled, over its shards; 0 when none waits. */
  lagMs?(): number;
}

export const startShardPoller = <R>(options: ShardPollerOptions<R>): Poller => {
  const { source, checkpoints, consumer } = options;
  const idleMs = options.idleMs ?? 25;
  const maxIdleMs = options.maxIdleMs ?? (options.doorbell ? 1000 : 250);
  const discoverMs = options.discoverMs ?? (options.doorbell ? 10_000 : 1000);
  const bell = options.doorbell ?? doorbell();
  const windowMs = options.batchingWindowMs ?? 0;
  const minPollMs = options.minPollIntervalMs ?? 0;
  /** Rung when the poller stops or a shard is drained (its children may start): the discovery loop's own wake-up. */
  const rediscover = doorbell();
  const log = options.log ?? (() => {});
  let stopped = false;
  const workers = new Map<string, Promise<void>>();
  const finished = new Set<string>();
  /** Per shard, the arrival of the oldest record read and not yet handled. */
  const waiting = new Map<string, number>();
  const noteWaiting = (shardId: string, records: readonly R[]) => {
    const first = records[0] && source.arrivalOf?.(records[0]);
    if (first !== undefined && !waiting.has(shardId)) waiting.set(shardId, first);
  };

  const checkpoint = (shardId: string, record: R) =>
    checkpoints.set(shardId, { sequenceNumber: source.sequenceOf(record), done: false });

  /** Delivers one batch until every record is handled: delivered, or parked after the retries. */
  const deliver = async (shardId: string, batch: readonly R[]) => {
    let rest = [...batch];
    let attempts = 0;
    let lastError = "";
    while (rest.length > 0 && !stopped) {
      let failedAt = -1;
      try {
        const response = await options.handler({ Records: rest });
        const failure = response?.batchItemFailures?.[0]?.itemIdentifier;
        if (failure !== undefined) {
          // An identifier that names no record fails the whole batch, as on Lambda.
          failedAt = Math.max(0, rest.findIndex((r) => source.sequenceOf(r) === failure));
          lastError = `handler reported ${failure} as failed`;
        }
      } catch (error) {
        failedAt = 0;
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (failedAt < 0) return checkpoint(shardId, rest.at(-1)!);
      if (failedAt > 0) {
        await checkpoint(shardId, rest[failedAt - 1]!);
        rest = rest.slice(failedAt);
      }
      attempts++;
      if (attempts > options.retryAttempts) {
        await options.onFailure({ consumer, shardId, records: rest, error: lastError, attempts });
        log("batch parked in the failure destination", { consumer, shardId, records: rest.length, error: lastError });
        return checkpoint(shardId, rest.at(-1)!);
      }
      await sleep(Math.min(2000, 50 * 2 ** (attempts - 1)));
    }
  };

  const runShard = async (shardId: string) => {
    const saved = await checkpoints.get(shardId);
    if (saved?.done) return;
    let last = saved?.sequenceNumber;
    if (last !== undefined && source.isAhead?.(last)) {
      log("checkpoint is ahead of the stream's sequence numbers; reading the shard from its oldest record", { consumer, shardId, checkpoint: last });
      // Forgotten at once, so a later restart cannot take it for a position again.
      await checkpoints.set(shardId, { done: false });
      last = undefined;
    }
    let iterator = await source.iterator(shardId, last);
    let idle = idleMs;
    let failedReads = 0;
    // Records read but not delivered yet: gathered while the batching window is open.
    let gathered: R[] = [];
    let windowEnds = 0;
    let readAt = 0;
    let draining = false;
    while (iterator && !stopped) {
      if (!draining && minPollMs > 0) {
        const wait = readAt + minPollMs - Date.now();
        if (wait > 0) await sleep(wait);
      }
      readAt = Date.now();
      const rang = bell.rings;
      let page;
      try {
        page = await source.read(shardId, iterator, options.batchSize - gathered.length);
        failedReads = 0;
      } catch (error) {
        // Expired iterators, and a brand-new DynamoDB Local stream refusing
        // TRIM_HORIZON until its first record: ask again from the checkpoint.
        // Those pass at once; a read that keeps failing is something else, and said.
        if (++failedReads === 3) log("shard reads keep failing; retrying from the checkpoint", { consumer, shardId, error: String(error) });
        await sleep(idleMs * 4);
        gathered = []; // read again from the checkpoint
        iterator = await source.iterator(shardId, last);
        continue;
      }
      iterator = page.next;
      // A full page means more may be waiting: read on at once.
      draining = page.records.length > 0 && page.records.length === options.batchSize - gathered.length;
      if (page.records.length > 0 && gathered.length === 0) windowEnds = Date.now() + windowMs;
      gathered.push(...page.records);
      noteWaiting(shardId, gathered);
      // As Lambda does: a batch goes once it is full, its window has passed, or the shard has closed.
      if (gathered.length > 0 && (gathered.length >= options.batchSize || Date.now() >= windowEnds || !iterator)) {
        await deliver(shardId, gathered);
        waiting.delete(shardId);
        if (stopped) return;
        last = source.sequenceOf(gathered.at(-1)!);
        gathered = [];
        idle = idleMs;
        continue;
      }
      draining = false;
      if (!iterator) break;
      // An idle shard is polled less and less often; a ring (a write to the source) reads it again at
      // once; a window that is gathering reads on each ring, and delivers when it ends.
      idle = page.records.length === 0 ? Math.min(idle * 2, maxIdleMs) : idleMs;
      const pause = gathered.length > 0 ? Math.max(0, Math.min(maxIdleMs, windowEnds - Date.now())) : idle;
      if ((await bell.wait(pause, rang)) && gathered.length === 0) idle = idleMs;
    }
    // No next iterator: the shard is closed and drained, its children may start.
    if (!stopped) await checkpoints.set(shardId, { sequenceNumber: last, done: true });
  };

  const discover = async () => {
    const shards = await source.listShards();
    const known = new Set(shards.map((s) => s.id));
    for (const { id, parent } of shards) {
      if (workers.has(id) || finished.has(id)) continue;
      // A child is read only after its parent is drained (or trimmed away).
      if (parent && known.has(parent) && !finished.has(parent) && !(await checkpoints.get(parent))?.done) continue;
      const worker = runShard(id)
        .then(() => {
          if (!stopped) finished.add(id);
        })
        .catch((error) => log("shard reader failed; it restarts from its checkpoint", { consumer, shardId: id, error: String(error) }))
        .finally(() => {
          workers.delete(id);
          rediscover.ring();
        });
      workers.set(id, worker);
    }
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await discover();
      } catch (error) {
        log("listing shards failed", { consumer, error: String(error) });
      }
      if (!stopped) await rediscover.wait(discoverMs, rediscover.rings);
    }
  })();

  return {
    async stop() {
      stopped = true;
      rediscover.ring();
      bell.ring();
      await loop;
      await Promise.allSettled([...workers.values()]);
    },
    lagMs: () => Math.max(0, ...[...waiting.values()].map((arrival) => Date.now() - arrival)),
  };
};
