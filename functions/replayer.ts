// The runner of replay jobs: a consumer of the "replays" queue, whose messages
// say `{replayId}`. It advances the job for as long as its invocation may run
// and then sends itself the job again; the job's progress is in its table item,
// so a crash only means the message comes back (SQS) and the job resumes.
// On AWS a Lambda function; locally the stack's poller of the same queue.
//
// Why a queue and not Step Functions: the job is a loop of idempotent steps
// whose state is already stored; a queue adds the retry, the redelivery after
// a crash and the dead-letter queue that every other consumer here has, and
// runs unchanged on the local stack (fauxqs), where Step Functions has no emulator.
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { ensureProjectionVersions, kick, runReplay, type ReplayJobDeps } from "../core/replay-jobs.js";
import { fanoutDepsFromEnv, logger } from "./deps.js";
import { lazy } from "./http.js";

export interface ReplayerDeps extends ReplayJobDeps {
  /** How long one invocation advances a job when no Lambda context says how long it has. */
  readonly budgetMs?: number;
  /** Ends a turn early: the local stack is stopping. */
  readonly signal?: AbortSignal;
}

/** What a runner leaves for the deadline: saving a step and sending the next message. */
const MARGIN_MS = 5_000;

export const makeHandler = (deps: ReplayerDeps) => async (event: SQSEvent, context?: Pick<Context, "getRemainingTimeInMillis">): Promise<SQSBatchResponse> => {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    let message: { replayId?: unknown; takeOver?: unknown };
    try {
      message = JSON.parse(record.body);
    } catch {
      logger.error("a replays message is not JSON; dropped", { messageId: record.messageId });
      continue;
    }
    if (typeof message.replayId !== "string") {
      logger.error("a replays message names no replayId; dropped", { messageId: record.messageId });
      continue;
    }
    const budget = context ? context.getRemainingTimeInMillis() - MARGIN_MS : (deps.budgetMs ?? 10_000);
    try {
      const result = await runReplay(deps, message.replayId, { deadline: deps.clock() + Math.max(1_000, budget), takeOver: message.takeOver === true, signal: deps.signal });
      if (result === "continue") await kick(deps, message.replayId);
    } catch (error) {
      logger.error("a replay step failed; the message comes again", { replayId: message.replayId, error: error as Error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};

/** On deploy (SST Script, onCreate and onUpdate): rebuild each projection whose version changed. */
export const makeOnDeploy = (deps: ReplayJobDeps) => async () => {
  const started = await ensureProjectionVersions(deps);
  for (const job of started) logger.info("a projection's version changed: rebuilding it", { projection: job.handler, replayId: job.key, reason: job.reason });
  return { started: started.map((job) => ({ handler: job.handler, replayId: job.key })) };
};

export const handler = lazy(() => makeHandler(fanoutDepsFromEnv()));
export const onDeploy = lazy(() => makeOnDeploy(fanoutDepsFromEnv()));
