// npm run replay -- --handler cart-summary [--from <time>] [--to <time>] [--reset] [--url <url>]
// Replays a projection from the archive through the running stack, a page of
// archive objects per request, and prints progress and totals.
import { parseArgs } from "node:util";
import { ulid } from "ulid";
import { defaultUrl, postJson, withRetries } from "./post.js";

interface PageAnswer {
  readonly replayId: string;
  readonly deleted?: number;
  readonly objectsRead: number;
  readonly eventsSent: number;
  readonly done: boolean;
  readonly nextStartAfter?: string;
}

const usage = "usage: npm run replay -- --handler <name> [--from <ISO time>] [--to <ISO time>] [--reset] [--max-objects <n>] [--url <url>]";

const main = async () => {
  const { values } = parseArgs({
    options: {
      handler: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      reset: { type: "boolean", default: false },
      "max-objects": { type: "string" },
      url: { type: "string", default: defaultUrl() },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return void console.log(usage);
  if (!values.handler) throw new Error(`--handler is required\n${usage}`);
  const endpoint = `${values.url.replace(/\/$/, "")}/admin/replay`;
  const request = {
    handler: values.handler,
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values.to !== undefined ? { to: values.to } : {}),
    ...(values["max-objects"] !== undefined ? { maxObjects: Number(values["max-objects"]) } : {}),
  };

  // Pages of one replay share its id, so a retried page's messages are dropped
  // by SQS as duplicates. A retried resetting page takes a new id instead: the
  // reset may have run again and wiped what the first attempt's messages built.
  let replayId = ulid();
  let startAfter: string | undefined;
  const totals = { pages: 0, objectsRead: 0, eventsSent: 0 };
  const started = Date.now();
  for (;;) {
    const first = totals.pages === 0;
    const page = await withRetries(3, (attempt) => {
      if (first && values.reset && attempt > 1) replayId = ulid();
      return postJson<PageAnswer>(endpoint, { ...request, replayId, ...(first && values.reset ? { reset: true } : {}), ...(startAfter ? { startAfter } : {}) });
    });
    if (page.deleted !== undefined) console.log(`reset ${values.handler}: ${page.deleted} read-model items deleted`);
    totals.pages++;
    totals.objectsRead += page.objectsRead;
    totals.eventsSent += page.eventsSent;
    console.log(`page ${totals.pages}: ${page.objectsRead} objects read, ${page.eventsSent} events sent (so far ${totals.objectsRead} objects, ${totals.eventsSent} events)`);
    if (page.done || page.nextStartAfter === undefined) break;
    startAfter = page.nextStartAfter;
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `replay ${replayId} of ${values.handler} sent: ${totals.objectsRead} objects read, ${totals.eventsSent} events sent in ${totals.pages} pages, ${seconds.toFixed(1)} s; the projector applies them from its queue`,
  );
};

main().catch((error: Error) => {
  console.error(`replay failed: ${error.message}`);
  process.exitCode = 1;
});
