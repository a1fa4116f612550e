// The import graph of the TypeScript sources, read with a regular expression
// over import / export-from statements (static and dynamic): enough to check
// which module may import which, without a compiler API.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";

/** Module (path from the root, with its .ts extension) → the project modules it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

const specifiers = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" || name.startsWith(".") ? [] : filesUnder(path);
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : [];
  });

/** The graph of every .ts file in `dirs` (and the root files given) under `root`; only relative imports are followed. */
export const importGraph = (root: string, dirs: readonly string[], files: readonly string[] = []): ImportGraph => {
  const graph = new Map<string, string[]>();
  for (const file of [...dirs.flatMap((d) => filesUnder(join(root, d))), ...files.map((f) => join(root, f))]) {
    const from = relative(root, file).split("\\").join("/");
    const text = readFileSync(file, "utf8");
    const imports: string[] = [];
    for (const match of text.matchAll(specifiers)) {
      const spec = match[1] ?? match[2]!;
      if (!spec.startsWith(".")) continue;
      imports.push(posix.normalize(relative(root, resolve(dirname(file), spec)).split("\\").join("/")).replace(/\.js$/, ".ts"));
    }
    graph.set(from, imports);
  }
  return graph;
};

export interface Boundary {
  /** Whether a module belongs to the app (its microservices, projections, process managers, its definition). */
  readonly isApp: (module: string) => boolean;
  /** The app definition: the one app module the composition roots may import. */
  readonly definition: string;
  /** Engine modules that pick the app a deployment runs (the Lambda environment, `npm start`, the stacks). */
  readonly roots: readonly string[];
}

/** Every engine module that imports an app module, as "engine → app" lines; [] when the boundary holds. */
export const boundaryViolations = (graph: ImportGraph, { isApp, definition, roots }: Boundary): string[] =>
  [...graph].flatMap(([from, imports]) => {
    if (isApp(from)) return [];
    return imports
      .filter((to) => isApp(to) && !(roots.includes(from) && to === definition))
      .map((to) => `${from} → ${to}`);
  });
