// `npm start`: the local stack, offline. Flags: --memory (no files kept),
// --data <dir> (default .ordinal/data), --port <n> (default $PORT or 4000),
// --auth (users need a JWT signed with $ORDINAL_JWT_SECRET, as on AWS).
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { jwtConfigFromEnv } from "../core/auth.js";
import type { JwtSettings } from "./jwt.js";
import { DataFolderInUse } from "./data-lock.js";
import { app } from "../core/app.js";
import { expandApp } from "../core/app-definition.js";
import { startStack } from "./stack.js";

const { values } = parseArgs({
  options: {
    memory: { type: "boolean", default: false },
    data: { type: "string", default: ".ordinal/data" },
    port: { type: "string", default: process.env.PORT ?? "4000" },
    quiet: { type: "boolean", default: false },
    auth: { type: "boolean", default: false },
  },
});

const started = Date.now();
const log = (message: string, extra?: Record<string, unknown>) =>
  console.error(JSON.stringify({ time: new Date().toISOString(), message, ...extra }));

// A secret made up here lives as long as this run: tokens minted with it stop working at the next start.
const secretGiven = Boolean(process.env.ORDINAL_JWT_SECRET);
const jwt: JwtSettings | undefined = values.auth
  ? { ...jwtConfigFromEnv(), secret: process.env.ORDINAL_JWT_SECRET || randomBytes(32).toString("base64url") }
  : undefined;

if (!jwt)
  console.error(
    "WARNING: authentication is off: identity comes from the request body (user, roles), so anyone can act as anyone. " +
      "Start with --auth to require a JWT (Authorization: Bearer) as on AWS. POST /service/command always needs a SigV4 signature (credentials local/local).",
  );
else {
  console.error(`Authentication is on: users need a JWT (HS256, aud '${jwt.audience}'${jwt.issuer ? `, iss '${jwt.issuer}'` : ""}, user in sub, roles in roles).`);
  if (!secretGiven)
    console.error(
      `ORDINAL_JWT_SECRET was not set; this run signs with ORDINAL_JWT_SECRET=${jwt.secret}\n` +
        `  mint a token: ORDINAL_JWT_SECRET=${jwt.secret} npm run -s token -- --sub u-1 [--roles admin]`,
    );
}

const stack = await startStack({
  app: expandApp(app),
  port: Number(values.port),
  dataDir: values.memory ? undefined : values.data,
  log: values.quiet ? undefined : log,
  jwt,
}).catch((error: unknown) => {
  if (!(error instanceof DataFolderInUse)) throw error;
  console.error(`Ordinal cannot start: ${error.message}`);
  process.exit(1);
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
    `${values.memory ? "in memory" : `data in ${values.data}`}) — try: ` +
    (jwt
      ? `curl -s -X POST '${stack.url}/command?wait=5' -H "Authorization: Bearer $(npm run -s token -- --sub u-1)" -d '{"type":"cart","command":"OpenCart","aggregateId":"c-1","id":"req-1"}'`
      : `curl -s -X POST '${stack.url}/command?wait=5' -d '{"type":"cart","command":"OpenCart","aggregateId":"c-1","id":"req-1","user":"u-1"}'`) +
    `, or open ${stack.url}/console`,
);
