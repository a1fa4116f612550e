// The commands table's stream → sequencer: events, snapshot and outcomes per aggregate in one transaction.
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import type { CommandRecord } from "../core/records.js";
import { sequence, type SequencerDeps } from "../core/sequencer/sequencer.js";
import { appFromEnv, logger, storeFromEnv } from "./deps.js";
import { lazy } from "./http.js";
import { newImages } from "./stream-images.js";

export const makeHandler =
  (deps: SequencerDeps) =>
  async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const delivered = newImages<CommandRecord>(event);
    const result = await sequence(delivered.map((d) => d.item), deps);
    if (result.failedAt === undefined) return { batchItemFailures: [] };
    const failed = delivered[result.failedAt]!;
    logger.error("sequencing failed; the batch resumes at the first command not committed", {
      key: failed.item.key,
      seq: failed.item.seq,
      errors: result.errors.map(String),
    });
    return { batchItemFailures: [{ itemIdentifier: failed.sequenceNumber }] };
  };

export const handler = lazy(() => makeHandler({ store: storeFromEnv(), microservices: appFromEnv().microservices, clock: Date.now }));
