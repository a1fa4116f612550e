// A replay job's progress as `npm run replay` shows it: a percentage for the bar, and words.

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
  readonly error?: string;
  readonly statusUrl?: string;
}

/** How far a job is, 0-100: half for the archive read, half for the projector's share of what was sent. */
export const percentOf = (s: ReplayStatus): number => {
  if (s.state === "done") return 100;
  const read = s.objectsTotal ? s.objectsRead / s.objectsTotal : s.phase === "draining" || s.phase === "retiring" ? 1 : 0;
  const applied = s.eventsSent ? Math.min(1, s.eventsApplied / s.eventsSent) : read === 1 ? 1 : 0;
  return Math.floor(((read + applied) / 2) * 100);
};

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

