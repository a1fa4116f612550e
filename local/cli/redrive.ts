// npm run redrive -- --queue <name> [--url <url>]
// Moves a dead-letter queue's messages back to their source queue through the
// running stack, or hands a stream consumer's parked batches back to it; exits
// non-zero when anything is left parked or the stack refuses.
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
      // A stream consumer's failure destination: parked batches go back to the consumer itself.
      console.log(
        answer.to
          ? `${answer.queue}: ${answer.moved} parked batches handed back to ${answer.to}; ${answer.parked} still parked`
          : `${answer.queue} holds ${answer.parked} parked messages; this deployment only counts them`,
      );
      if (answer.parked > 0) process.exitCode = 1;
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
