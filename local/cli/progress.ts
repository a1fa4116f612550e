// A replay job's progress as `npm run replay` shows it: the words after the bar (the API gives the percentage).

/** GET /admin/replays/{id}, as core/replay-jobs.ts progressOf answers it. */
export interface ReplayStatus {
  readonly replayId: string;
  readonly handler: string;
  readonly state: "running" | "done" | "failed" | "cancelled";
  readonly phase: string;
  readonly reset: boolean;
  readonly objectsTotal: number | null;
  readonly objectsRead: number;
  readonly eventsSent: number;
  readonly eventsApplied: number;
  readonly streamsBehind?: number;
  readonly eventsPerSecond: number;
  readonly etaSeconds: number | null;
  /** 0-100, for a bar (progressOf). */
  readonly percent: number;
  readonly error?: string;
  readonly statusUrl?: string;
}

/** The words after the bar. */
export const describeStatus = (s: ReplayStatus): string =>
  [
    s.phase === "waiting-for-archive" ? `waiting for the archive${s.streamsBehind ? ` (${s.streamsBehind} streams behind)` : ""}` : s.phase,
    `${s.objectsRead}/${s.objectsTotal ?? "?"} objects`,
    `${s.eventsApplied}/${s.eventsSent} events applied`,
    `${s.eventsPerSecond} events/s`,
    s.etaSeconds === null ? "" : `${s.etaSeconds} s left`,
  ]
    .filter(Boolean)
    .join(" | ");

