// What a deployment may tune, read at synth from ORDINAL_* variables (like the
// JWT settings), each with a default a production stack can start from. A bad
// value stops the synth with the variable's name and the rule it broke.
import { RetentionDays } from "aws-cdk-lib/aws-logs";

export interface DeploySettings {
  /** API Gateway default-route throttling: steady requests per second and burst. */
  readonly apiRate: number;
  readonly apiBurst: number;
  /** Concurrent executions each API function may use: it cannot starve the sequencer of the account's concurrency. */
  readonly apiConcurrency: number;
  /** Concurrency reserved for each DynamoDB-stream consumer (sequencer, publisher): theirs even when the API is busy. */
  readonly streamConsumerConcurrency: number;
  /** Origins allowed by CORS; none (no CORS at all) by default. */
  readonly corsOrigins: readonly string[];
  /** How long every log group keeps its logs, and the same as SST names it (`one_month`). */
  readonly logRetention: RetentionDays;
  readonly logRetentionName: Lowercase<keyof typeof RetentionDays>;
  /** An address subscribed to the alarm topic, if any. */
  readonly alarmEmail?: string;
}

export const DEFAULT_SETTINGS = {
  apiRate: 200,
  apiBurst: 400,
  apiConcurrency: 50,
  streamConsumerConcurrency: 10,
  logRetention: "one_month",
} as const;

const problem = (name: string, rule: string, value: string) => new Error(`${name}=${value}: ${rule}`);

const positiveInt = (env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) throw problem(name, `must be an integer from 1 to ${max}`, raw);
  return value;
};

const retentionNames = Object.keys(RetentionDays).filter((k) => k !== "INFINITE").map((k) => k.toLowerCase());

export const deploySettingsFromEnv = (env: NodeJS.ProcessEnv = process.env): DeploySettings => {
  const retention = (env.ORDINAL_LOG_RETENTION || DEFAULT_SETTINGS.logRetention).toLowerCase();
  if (!retentionNames.includes(retention))
    throw problem("ORDINAL_LOG_RETENTION", `must be one of ${retentionNames.join(", ")} (logs are never kept forever)`, retention);
  const corsOrigins = (env.ORDINAL_CORS_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  for (const origin of corsOrigins)
    if (!/^https:\/\/[a-z0-9.-]+(:\d+)?$/i.test(origin) && !/^http:\/\/localhost(:\d+)?$/.test(origin))
      throw problem("ORDINAL_CORS_ORIGINS", "each origin must be https://host[:port] (or http://localhost[:port]); '*' is not allowed", origin);
  const alarmEmail = env.ORDINAL_ALARM_EMAIL?.trim();
  if (alarmEmail && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) throw problem("ORDINAL_ALARM_EMAIL", "must be an email address", alarmEmail);
  const apiRate = positiveInt(env, "ORDINAL_API_RATE", DEFAULT_SETTINGS.apiRate, 10_000);
  const apiBurst = positiveInt(env, "ORDINAL_API_BURST", DEFAULT_SETTINGS.apiBurst, 5_000);
  if (apiBurst < Math.min(apiRate, 5_000)) throw problem("ORDINAL_API_BURST", `must be at least the rate (${apiRate})`, String(apiBurst));
  return {
    apiRate,
    apiBurst,
    apiConcurrency: positiveInt(env, "ORDINAL_API_CONCURRENCY", DEFAULT_SETTINGS.apiConcurrency, 1_000),
    streamConsumerConcurrency: positiveInt(env, "ORDINAL_STREAM_CONSUMER_CONCURRENCY", DEFAULT_SETTINGS.streamConsumerConcurrency, 1_000),
    corsOrigins,
    logRetention: RetentionDays[retention.toUpperCase() as keyof typeof RetentionDays],
    logRetentionName: retention as Lowercase<keyof typeof RetentionDays>,
    ...(alarmEmail ? { alarmEmail } : {}),
  };
};
