// Builds the console (console/ → console/dist) when its sources are newer than
// its build: `npm start` runs it first, so the stack serves a current console
// at /console without a build on every start.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const root = fileURLToPath(new URL("../../console", import.meta.url));
const built = join(root, "dist", "index.html");

const newest = (path: string): number => {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).filter((name) => name !== "dist" && name !== "node_modules").map((name) => newest(join(path, name))));
};

if (process.argv.includes("--force") || !existsSync(built) || newest(root) > statSync(built).mtimeMs) {
  await build({ configFile: join(root, "vite.config.ts"), logLevel: "warn" });
  console.log(`console built: ${join(root, "dist")}`);
}
