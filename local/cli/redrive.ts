// npm run redrive -- --queue <name> [--url <url>]
// Moves a dead-letter queue's messages back to their source queue through the
// running stack, or reports how many a failure destination holds.
import { parseArgs } from "node:util";
import { ulid } from "ulid";
import { defaultUrl, postJson, withRetries } from "./post.js";

interface RedriveAnswer {
  readonly queue: string;
  readonly to?: string;
  readonly moved: number;
  readonly parked?: number;
  readonly done: boolean;
}

const usage = "usage: npm run redrive -- --queue <name> [--url <url>]";

const main = async () => {
  const { values } = parseArgs({
    options: {
      queue: { type: "string" },
      url: { type: "string", default: defaultUrl() },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return void console.log(usage);
  if (!values.queue) throw new Error(`--queue is required\n${usage}`);
  const endpoint = `${values.url.replace(/\/$/, "")}/admin/redrive`;
  // One id for the whole run: a retried call's copies are dropped by SQS as duplicates.
  const redriveId = ulid();
  let moved = 0;
  for (;;) {
    const answer = await withRetries(3, () => postJson<RedriveAnswer>(endpoint, { queue: values.queue, redriveId }));
    if (answer.parked !== undefined) {
      console.log(`${answer.queue} holds ${answer.parked} parked messages; they are counted, not redriven`);
      return;
    }
    moved += answer.moved;
    console.log(`moved ${answer.moved} messages from ${answer.queue} to ${answer.to} (so far ${moved})`);
    if (answer.done) break;
  }
  console.log(`redrive of ${values.queue} done: ${moved} messages moved`);
};

main().catch((error: Error) => {
  console.error(`redrive failed: ${error.message}`);
  process.exitCode = 1;
});
