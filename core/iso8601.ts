// ISO 8601 as clients write it: instants with a zone (`at=`, `from`, `to`) and
// durations of fixed length (`idleFor=P14D`, `PT1H30M`).
import { z } from "zod";

export const INSTANT_RULE = "must be an ISO 8601 time with seconds and a zone, such as 2026-11-23T14:00:00Z";

/** An instant that means the same on every machine: a date, a time with seconds, and Z or an offset. */
export const isoInstant = z.iso.datetime({ offset: true, error: INSTANT_RULE });

const pattern =
  /^P(?:(?<years>\d+)Y)?(?:(?<months>\d+)M)?(?:(?<weeks>\d+)W)?(?:(?<days>\d+)D)?(?:T(?:(?<hours>\d+)H)?(?:(?<minutes>\d+)M)?(?:(?<seconds>\d+(?:[.,]\d+)?)S)?)?$/;

const unit = { weeks: 604_800_000, days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1_000 } as const;

/** Milliseconds, or the rule the text breaks. */
export const parseDuration = (text: string): { ms: number } | { error: string } => {
  const match = pattern.exec(text);
  const parts = match?.groups ?? {};
  if (!match || text.endsWith("T") || Object.values(parts).every((v) => v === undefined))
    return { error: `must be an ISO 8601 duration such as P14D, PT1H or P1DT12H, not '${text}'` };
  if (parts.years !== undefined || parts.months !== undefined)
    return { error: `years and months have no fixed length: give days, hours, minutes or seconds, not '${text}'` };
  let ms = 0;
  for (const [name, factor] of Object.entries(unit)) {
    const value = parts[name];
    if (value !== undefined) ms += Number(value.replace(",", ".")) * factor;
  }
  if (!Number.isSafeInteger(Math.round(ms))) return { error: `is too long: '${text}'` };
  return { ms: Math.round(ms) };
};
