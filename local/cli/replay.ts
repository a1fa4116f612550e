// npm run replay -- --handler cart-summary [--reset] [--from <time>] [--to <time>] [--detach] [--url <url>]
// npm run replay -- --status <replayId> | --cancel <replayId> | --list
// Starts a replay job on the running stack and shows its progress as a bar
// until it ends; exits non-zero if it fails or is cancelled. The job runs in
// the stack, not here: --detach returns at once, and Ctrl-C leaves it running.
import { SingleBar } from "cli-progress";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { defaultUrl, requestJson, withRetries } from "./post.js";
import { describeStatus, type ReplayStatus } from "./progress.js";

const usage = [
  "usage: npm run replay -- --handler <projection> [--reset] [--from <ISO time>] [--to <ISO time>] [--detach] [--url <url>]",
  "       npm run replay -- --status <replayId> | --cancel <replayId> | --list [--url <url>]",
  "  --reset  rebuild: a new generation of the read models from the whole archive, served once it has caught up",
].join("\n");

const line = (s: ReplayStatus) => `replay ${s.replayId} of ${s.handler}: ${s.state}, ${describeStatus(s)}${s.error ? `\n  ${s.error}` : ""}`;

const follow = async (base: string, statusUrl: string): Promise<ReplayStatus> => {
  const bar = new SingleBar({
    format: "{handler} [{bar}] {percentage}% | {words}",
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 2_000,
    etaBuffer: 1,
  });
  let status = await withRetries(3, () => requestJson<ReplayStatus>("GET", `${base}${statusUrl}`));
  bar.start(100, status.percent, { handler: status.handler, words: describeStatus(status) });
  process.once("SIGINT", () => {
    bar.stop();
    console.log(`\nthe replay goes on in the stack: npm run replay -- --status ${status.replayId}; stop it with --cancel ${status.replayId}`);
    process.exit(130);
  });
  while (status.state === "running") {
    await sleep(250);
    status = await withRetries(5, () => requestJson<ReplayStatus>("GET", `${base}${statusUrl}`));
    bar.update(status.percent, { words: describeStatus(status) });
  }
  bar.stop();
  return status;
};

const main = async () => {
  const { values } = parseArgs({
    options: {
      handler: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      reset: { type: "boolean", default: false },
      detach: { type: "boolean", default: false },
      status: { type: "string" },
      cancel: { type: "string" },
      list: { type: "boolean", default: false },
      url: { type: "string", default: defaultUrl() },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return void console.log(usage);
  const base = values.url.replace(/\/$/, "");
  if (values.list) {
    const { replays } = await requestJson<{ replays: ReplayStatus[] }>("GET", `${base}/admin/replays`);
    for (const replay of replays) console.log(line(replay));
    return;
  }
  if (values.status) return void console.log(line(await requestJson<ReplayStatus>("GET", `${base}/admin/replays/${values.status}`)));
  if (values.cancel) return void console.log(line(await requestJson<ReplayStatus>("DELETE", `${base}/admin/replays/${values.cancel}`)));
  if (!values.handler) throw new Error(`--handler is required\n${usage}`);
  const body = {
    handler: values.handler,
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values.to !== undefined ? { to: values.to } : {}),
    ...(values.reset ? { reset: true } : {}),
  };
  // Not retried: a POST that timed out may have started a job; --list shows it.
  const started = await requestJson<ReplayStatus & { statusUrl: string }>("POST", `${base}/admin/replays`, body);
  console.log(`replay ${started.replayId} of ${started.handler} started${values.reset ? " (a rebuild: the current read models serve until it has caught up)" : ""}: ${base}${started.statusUrl}`);
  if (values.detach) return;
  const ended = await follow(base, started.statusUrl);
  console.log(line(ended));
  if (ended.state !== "done") process.exitCode = 1;
};

main().catch((error: Error) => {
  console.error(`replay failed: ${error.message}`);
  process.exitCode = 1;
});
