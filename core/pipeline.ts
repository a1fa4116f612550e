// The pipeline's figures as GET /admin/pipeline reports them: commands in and
// outcomes by status per second over the last minutes, each consumer's lag,
// and what waits in each failure destination. A deployment gives the route a
// `PipelineFigures` source: the local stack meters its own clients and
// pollers (pipelineMeter below).
import type { OutcomeStatus } from "./records.js";

export interface ConsumerLag {
  readonly consumer: string;
  /** What it reads: a table's stream, the all-events stream, a queue. */
  readonly source: string;
  /** Now minus when the oldest record it has not handled yet arrived; 0 when it has handled all it has read. */
  readonly lagMs: number;
}

export interface ParkedCount {
  readonly destination: string;
  readonly count: number;
}

export interface PipelineReport {
  readonly at: number;
  /** Seconds, oldest first, one entry for each second of the last `windowSeconds`. */
  readonly series: {
    readonly at: readonly number[];
    readonly commands: readonly number[];
  } & Readonly<Record<OutcomeStatus, readonly number[]>>;
  readonly windowSeconds: number;
  readonly totals: { readonly commands: number } & Readonly<Record<OutcomeStatus, number>>;
  readonly consumers: readonly ConsumerLag[];
  readonly parked: readonly ParkedCount[];
}

export interface PipelineFigures {
  report(): Promise<PipelineReport>;
}

const STATUSES: readonly OutcomeStatus[] = ["accepted", "rejected", "duplicate"];

/**
 * Per-second counts over a sliding window, kept in process: what the local
 * stack's clients write and its sequencer commits. `lags` and `parked` are
 * asked at each report.
 */
export const pipelineMeter = (options: {
  readonly windowSeconds?: number;
  readonly clock?: () => number;
  readonly lags: () => readonly ConsumerLag[];
  readonly parked: () => Promise<readonly ParkedCount[]>;
}) => {
  const windowSeconds = options.windowSeconds ?? 300;
  const clock = options.clock ?? Date.now;
  type Counts = { commands: number } & Record<OutcomeStatus, number>;
  const empty = (): Counts => ({ commands: 0, accepted: 0, rejected: 0, duplicate: 0 });
  const seconds = new Map<number, Counts>();
  const totals = empty();
  const bucket = () => {
    const second = Math.floor(clock() / 1000);
    let counts = seconds.get(second);
    if (!counts) {
      counts = empty();
      seconds.set(second, counts);
      for (const old of seconds.keys()) if (old <= second - windowSeconds) seconds.delete(old);
    }
    return counts;
  };
  return {
    commands(count = 1) {
      bucket().commands += count;
      totals.commands += count;
    },
    outcomes(statuses: readonly OutcomeStatus[]) {
      const counts = bucket();
      for (const status of statuses) {
        counts[status]++;
        totals[status]++;
      }
    },
    async report(): Promise<PipelineReport> {
      const now = clock();
      const last = Math.floor(now / 1000);
      const first = last - windowSeconds + 1;
      const at: number[] = [];
      const series = { commands: [] as number[], accepted: [] as number[], rejected: [] as number[], duplicate: [] as number[] };
      for (let second = first; second <= last; second++) {
        const counts = seconds.get(second) ?? empty();
        at.push(second);
        series.commands.push(counts.commands);
        for (const status of STATUSES) series[status].push(counts[status]);
      }
      return { at: now, windowSeconds, series: { at, ...series }, totals: { ...totals }, consumers: options.lags(), parked: await options.parked() };
    },
  };
};

export type PipelineMeter = ReturnType<typeof pipelineMeter>;
