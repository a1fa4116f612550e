// The engine never imports the app: a microservice, projection or process
// manager of the reference app is named only in the app definition
// (core/app.ts) and what it imports. Three composition roots pick the app a
// deployment runs (and the scaffold reads it), and they import the
// definition, nothing of the app itself.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { boundaryViolations, importGraph, type Boundary } from "./support/imports.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const graph = importGraph(root, ["core", "functions", "local", "stacks"], ["sst.config.ts"]);
const definition = "core/app.ts";

// The app is what the definition imports, except the engine's own definition API:
// the folders of those modules are the app's.
const appFolders = [
  ...new Set(
    (graph.get(definition) ?? []).filter((m) => m !== "core/app-definition.ts").map((m) => m.slice(0, m.lastIndexOf("/") + 1)),
  ),
];
const isApp = (module: string) => module === definition || appFolders.some((folder) => module.startsWith(folder));
// The Lambda environment, `npm start`, the stacks; and the scaffold, which reads the app it adds a part to.
const boundary: Boundary = { isApp, definition, roots: ["functions/deps.ts", "local/main.ts", "stacks/index.ts", "local/cli/new.ts"] };

describe("the engine/app boundary", () => {
  it("finds the app's modules through the definition", () => {
    expect(appFolders.sort()).toEqual(["core/account/", "core/cart/", "core/checkout/", "core/inventory/"]);
    expect(graph.get("core/app.ts")).toContain("core/cart/cart-summary.ts");
    // The graph sees type-only and re-exporting imports too.
    expect(graph.get("core/projections/index.ts")).toContain("core/projections/projection.ts");
  });

  it("holds: no engine module imports an app module, and only the composition roots import the definition", () => {
    expect(boundaryViolations(graph, boundary)).toEqual([]);
  });

  it("is told by the composition roots which app to run, and only by them", () => {
    const importers = [...graph].filter(([, imports]) => imports.includes(definition)).map(([from]) => from);
    expect(importers.sort()).toEqual([...boundary.roots].sort());
  });

  it("would report an engine module that reached into the app, even through a root", () => {
    const broken = new Map(graph);
    broken.set("functions/projector.ts", [...(graph.get("functions/projector.ts") ?? []), "core/cart/cart-summary.ts"]);
    broken.set("functions/deps.ts", [...(graph.get("functions/deps.ts") ?? []), "core/cart/index.ts"]);
    broken.set("core/replay.ts", [...(graph.get("core/replay.ts") ?? []), "core/app.ts"]);
    expect(boundaryViolations(broken, boundary).sort()).toEqual([
      "core/replay.ts → core/app.ts",
      "functions/deps.ts → core/cart/index.ts",
      "functions/projector.ts → core/cart/cart-summary.ts",
    ]);
  });
});
