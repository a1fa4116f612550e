// Process managers, fed by the Kinesis "all events" stream: each reaction is
// appended to the commands table through the typed client's direct transport,
// with the API's validation, as `service:<name>` with the service role.
// One handler for every manager: ORDINAL_PROCESS_MANAGER names the one it runs.
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from "aws-lambda";
import { partOf } from "../core/app-definition.js";
import { createClient, direct, type AnyRegistry } from "../core/client.js";
import { callerOf, runProcessManager } from "../core/process-managers/index.js";
import { handlerEnv, settingOf, type FunctionSpec } from "../core/topology.js";
import { appFromEnv, logger, storeFromEnv, type ApiDeps } from "./deps.js";
import { lazy } from "./http.js";
import { decodeKinesisBatch } from "./event-records.js";

export type ProcessManagerDeps = Pick<ApiDeps, "store" | "app" | "clock">;

/**
 * Kinesis: a batch resumes from the first record reported, so report the
 * first whose reactions could not all be sent, or that is not an event
 * record. The records before it are done; it and those after come again, and
 * the commands already sent for them are answered duplicate.
 */
export const makeHandler = (deps: ProcessManagerDeps, spec: Pick<FunctionSpec, "environment">) => {
  const manager = partOf(deps.app.processManagers, "process manager", settingOf(spec.environment, handlerEnv.processManager));
  const client = createClient<AnyRegistry>(
    direct({ store: deps.store, caller: callerOf(manager), microservices: deps.app.microservices, clock: deps.clock }),
  );
  return async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    const { records, poison, usable } = decodeKinesisBatch(event);
    if (poison !== -1) logger.error("a Kinesis record is not an event record", { processManager: manager.name, sequenceNumber: records[poison]!.id });
    const { failed } = await runProcessManager(manager, client, usable.map((r) => r.event), deps.store.upcast);
    if (failed)
      logger.error("a process manager could not send its commands; the record will be delivered again", {
        processManager: manager.name,
        eventId: usable[failed.index]!.event.eventId,
        error: failed.error as Error,
      });
    const at = failed ? failed.index : poison;
    return { batchItemFailures: at === -1 ? [] : [{ itemIdentifier: records[at]!.id }] };
  };
};

export const handler = lazy(() =>
  makeHandler({ store: storeFromEnv(), app: appFromEnv(), clock: Date.now }, { environment: process.env as Record<string, string> }),
);
