// `npm run new` end to end, in a copy of the project: a scaffolded
// microservice and projection type-check and pass their own tests, core/app.ts
// gains exactly their imports and registrations, the engine derives the
// projection's consumer, queues and route from it, and a run that would
// overwrite something is refused and writes nothing.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const project = fileURLToPath(new URL("..", import.meta.url));
const SLOW = 180_000;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

// The child vitest must not think it runs inside this one; no colours in what is matched.
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST"))),
  NO_COLOR: "1",
  FORCE_COLOR: "0",
};

const run = (cwd: string, args: readonly string[]): Run => {
  const result = spawnSync("npx", args, { cwd, env, encoding: "utf8", timeout: SLOW });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

/**
 * The tracked files as the working tree has them, plus the scaffold itself
 * (tested before it is committed), plus node_modules as a link. Other
 * untracked files stay out: someone's half-written file must not fail tsc here.
 */
const copyProject = (to: string) => {
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: project, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const file of new Set([...files, "local/cli/new.ts"])) {
    const from = join(project, file);
    if (!existsSync(from) || !lstatSync(from).isFile()) continue; // deleted in the working tree
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(from, join(to, file));
  }
  symlinkSync(join(project, "node_modules"), join(to, "node_modules"), "dir");
};

/** Every file of the copy but node_modules, with its content: what "writes nothing" compares. */
const snapshot = (dir: string): Record<string, string> => {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files[relative(dir, path)] = readFileSync(path, "utf8");
    }
  };
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.name !== "node_modules") entry.isDirectory() ? walk(join(dir, entry.name)) : (files[entry.name] = readFileSync(join(dir, entry.name), "utf8"));
  return files;
};

describe("npm run new: a microservice and a projection of it, in a copy of the project", () => {
  let tmp: string;
  let copy: string;
  let originalApp: string;
  let microservice: Run;
  let projection: Run;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "ordinal-scaffold-"));
    copy = join(tmp, "project");
    copyProject(copy);
    originalApp = readFileSync(join(copy, "core/app.ts"), "utf8");
    microservice = run(copy, ["tsx", "local/cli/new.ts", "microservice", "notes"]);
    projection = run(copy, ["tsx", "local/cli/new.ts", "projection", "note-count", "--from", "notes"]);
  }, SLOW);

  afterAll(() => {
    // Removes the node_modules link, not what it points to.
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("writes the files, and says how to try them on the local stack", () => {
    expect(microservice.stderr).toBe("");
    expect(microservice.status).toBe(0);
    expect(projection.stderr).toBe("");
    expect(projection.status).toBe(0);
    const written = ["core/notes/state.ts", "core/notes/decide.ts", "core/notes/index.ts", "test/notes.unit.test.ts"];
    for (const file of written) {
      expect(microservice.stdout).toContain(`wrote ${file}\n`);
      expect(existsSync(join(copy, file)), file).toBe(true);
    }
    for (const file of ["core/notes/note-count.ts", "test/note-count.unit.test.ts"]) {
      expect(projection.stdout).toContain(`wrote ${file}\n`);
      expect(existsSync(join(copy, file)), file).toBe(true);
    }
    const create = `curl -s -X POST "http://localhost:4000/command?wait=5" -d '{"type":"notes","command":"Create","aggregateId":"notes-1","id":1,"user":"u-1","payload":{"title":"First"}}'`;
    expect(microservice.stdout).toContain(create);
    expect(microservice.stdout).toContain("curl -s http://localhost:4000/notes/notes-1\n");
    expect(projection.stdout).toContain(create);
    expect(projection.stdout).toContain("curl -s http://localhost:4000/note-count/notes-1");
    expect(readFileSync(join(copy, "core/notes/note-count.ts"), "utf8")).toContain(`eventTypes: ["Created", "Renamed", "Archived"],`);
  });

  it("edits core/app.ts by exactly two imports after the last one and the two registration lines", () => {
    const edited = readFileSync(join(copy, "core/app.ts"), "utf8");
    const lines = originalApp.split("\n");
    const lastImport = lines.findLastIndex((line) => line.startsWith("import "));
    const microservicesLine = lines.find((line) => /^ {2}microservices: \{ .+ \},$/.test(line))!;
    const projectionsLine = lines.find((line) => /^ {2}projections: \[.+\],$/.test(line))!;
    expect(microservicesLine).toBeDefined();
    expect(projectionsLine).toBeDefined();
    const expected = [
      ...lines.slice(0, lastImport + 1),
      `import { notes } from "./notes/index.js";`,
      `import { noteCount } from "./notes/note-count.js";`,
      ...lines.slice(lastImport + 1),
    ]
      .join("\n")
      .replace(microservicesLine, microservicesLine.replace(/ \},$/, ", notes },"))
      .replace(projectionsLine, projectionsLine.replace(/\],$/, ", noteCount],"));
    expect(edited).toBe(expected);

    // And, counted by git: four lines in, two out.
    writeFileSync(join(tmp, "app.original.ts"), originalApp);
    const diff = spawnSync("git", ["diff", "--no-index", "--numstat", join(tmp, "app.original.ts"), join(copy, "core/app.ts")], { encoding: "utf8" });
    expect(diff.status).toBe(1); // git diff --no-index: 1 = the files differ
    expect(diff.stdout.split("\t").slice(0, 2)).toEqual(["4", "2"]);
  });

  it("type-checks: npx tsc --noEmit -p . in the copy", { timeout: SLOW }, () => {
    const tsc = run(copy, ["tsc", "--noEmit", "-p", "."]);
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  });

  it("passes its own tests: npx vitest run test/notes.unit.test.ts test/note-count.unit.test.ts in the copy", { timeout: SLOW }, () => {
    const report = join(tmp, "vitest.json");
    const vitest = run(copy, ["vitest", "run", "--no-cache", "--reporter=json", `--outputFile=${report}`, "test/notes.unit.test.ts", "test/note-count.unit.test.ts"]);
    expect(existsSync(report), vitest.stdout + vitest.stderr).toBe(true);
    const results = JSON.parse(readFileSync(report, "utf8")) as {
      numPassedTests: number;
      numFailedTests: number;
      testResults: { name: string; status: string; message: string; assertionResults: { fullName: string; failureMessages: string[] }[] }[];
    };
    const failures = results.testResults.flatMap((file) => [
      ...(file.message ? [file.message] : []),
      ...file.assertionResults.flatMap((test) => test.failureMessages.map((message) => `${test.fullName}: ${message.split("\n")[0]}`)),
    ]);
    expect(failures).toEqual([]);
    expect(results.numFailedTests).toBe(0);
    expect(vitest.status, vitest.stderr).toBe(0);
    expect(results.numPassedTests).toBeGreaterThan(5);
    expect(results.testResults.map((file) => [relative(copy, file.name), file.status]).sort()).toEqual([
      ["test/note-count.unit.test.ts", "passed"],
      ["test/notes.unit.test.ts", "passed"],
    ]);
    for (const file of results.testResults) expect(file.assertionResults.length, file.name).toBeGreaterThan(0);
  });

  it("is in the copy's expanded topology: the projection's consumer, queues and route, the microservice's view", { timeout: SLOW }, () => {
    const script = `
      import { app } from "./core/app.js";
      import { expandApp } from "./core/app-definition.js";
      const { microservices, topology } = expandApp(app);
      console.log(JSON.stringify({
        microservices: Object.keys(microservices),
        kinesisConsumers: Object.fromEntries(Object.entries(topology.kinesisConsumers).map(([name, c]) => [name, c.environment ?? {}])),
        queues: Object.keys(topology.queues),
        queueConsumers: Object.keys(topology.queueConsumers),
        routes: topology.routes.map((r) => r.method + " " + r.path),
        replayGrants: topology.queueConsumers.replays?.uses?.queues ?? {},
        projections: topology.projections,
      }));`;
    const expanded = run(copy, ["tsx", "--input-type=module", "-e", script]);
    expect(expanded.status, expanded.stderr).toBe(0);
    const topology = JSON.parse(expanded.stdout) as {
      microservices: string[];
      kinesisConsumers: Record<string, Record<string, string>>;
      queues: string[];
      queueConsumers: string[];
      routes: string[];
      replayGrants: Record<string, string>;
      projections: string[];
    };
    expect(topology.microservices).toContain("notes");
    expect(topology.projections).toContain("note-count");
    expect(topology.kinesisConsumers["note-count"]).toEqual({ ORDINAL_PROJECTION: "note-count" });
    expect(topology.queues).toEqual(expect.arrayContaining(["note-count-replay", "note-count-replay-dlq", "note-count-failures"]));
    expect(topology.queueConsumers).toContain("note-count-replay");
    expect(topology.routes).toEqual(expect.arrayContaining(["GET /notes/{notesId}", "GET /note-count/{key}"]));
    expect(topology.replayGrants["note-count-replay"]).toBe("feed");
    // What was there before is still there.
    expect(topology.kinesisConsumers).toHaveProperty("cart-summary");
  });

  it("refuses what would overwrite or clash, with a non-zero exit, and writes nothing", { timeout: SLOW }, () => {
    const before = snapshot(copy);
    const refusals: [readonly string[], RegExp][] = [
      [["microservice", "notes"], /microservice 'notes' is already registered/],
      [["projection", "note-count", "--from", "notes"], /already a projection's/],
      [["projection", "notes-by-day", "--from", "nowhere"], /--from nowhere: no such microservice/],
      [["microservice", "Bad_Name"], /a name is 1-40 lowercase letters/],
    ];
    for (const [args, message] of refusals) {
      const refused = run(copy, ["tsx", "local/cli/new.ts", ...args]);
      expect(refused.status, args.join(" ")).not.toBe(0);
      expect(refused.status, args.join(" ")).not.toBeNull();
      expect(refused.stderr).toMatch(message);
      expect(refused.stdout).not.toContain("wrote ");
    }
    expect(snapshot(copy)).toEqual(before);
  });
});
