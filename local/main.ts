// `npm start`: the local stack, offline. Flags: --memory (no files kept),
// --data <dir> (default .ordinal/data), --port <n> (default $PORT or 4000).
import { parseArgs } from "node:util";
import { startStack } from "./stack.js";

const { values } = parseArgs({
  options: {
    memory: { type: "boolean", default: false },
    data: { type: "string", default: ".ordinal/data" },
    port: { type: "string", default: process.env.PORT ?? "4000" },
    quiet: { type: "boolean", default: false },
  },
});

const started = Date.now();
const log = (message: string, extra?: Record<string, unknown>) =>
  console.error(JSON.stringify({ time: new Date().toISOString(), message, ...extra }));

const stack = await startStack({
  port: Number(values.port),
  dataDir: values.memory ? undefined : values.data,
  log: values.quiet ? undefined : log,
});

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.error(`${signal}: stopping the local stack`);
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

console.log(
  `Ordinal ready at ${stack.url} in ${((Date.now() - started) / 1000).toFixed(1)}s (DynamoDB Local ${stack.endpoints.dynamodb}, ` +
    `${values.memory ? "in memory" : `data in ${values.data}`}) — try: curl -s -X POST '${stack.url}/command?wait=5' -d '{"type":"cart","command":"OpenCart","aggregateId":"c-1","id":"req-1","user":"u-1"}'`,
);
