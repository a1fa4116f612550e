// npm run new -- microservice <name>
// npm run new -- projection <name> --from <microservice> [--events A,B]
// Scaffolds a part of the app that works as written (a decider or a
// projection, with a passing test) and registers it in core/app.ts, from
// which the engine derives its consumers, queues and routes.
//
// A projection's `eventTypes` must be literal names of its microservice's
// events, and those exist only as types: they are read from the
// `Message<"Name", ...>` members in core/<microservice>/*.ts (how every
// microservice here declares its events), or given with --events. Either
// way tsc checks them against the microservice's event union.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { app } from "../../core/app.js";
import { expandApp } from "../../core/app-definition.js";

const usage =
  "usage: npm run new -- microservice <name>\n" +
  "       npm run new -- projection <name> --from <microservice> [--events <Type,Type>]\n" +
  "  <name>: 1-40 lowercase letters, digits or '-', starting with a letter";

const root = fileURLToPath(new URL("../../", import.meta.url));
const appFile = "core/app.ts";

class Refused extends Error {}

// ---- names -----------------------------------------------------------------

const words = (name: string) => name.split("-");
const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const camelOf = (name: string) => words(name).map((w, i) => (i === 0 ? w : capitalized(w))).join("");
const pascalOf = (name: string) => words(name).map(capitalized).join("");
/** The collection in a view's path: `note` → `notes`, `notes` stays (taken as plural already), `entry` → `entries`. */
const pluralOf = (name: string) =>
  name.endsWith("s") ? name : /[^aeiou]y$/.test(name) ? `${name.slice(0, -1)}ies` : /(x|z|ch|sh)$/.test(name) ? `${name}es` : `${name}s`;

const reservedWords = new Set(
  ("arguments await break case catch class const continue debugger default delete do else enum eval export extends false finally for " +
    "function if implements import in instanceof interface let new null package private protected public return static super switch " +
    "this throw true try typeof undefined var void while with yield").split(" "),
);

/** Identifiers the generated modules and tests declare or import themselves: a part named after one would clash. */
const microserviceIdentifiers = new Set(
  ["view", "commands", "decide", "evolve", "initialState", "title", "defineMicroservice", "reject", "z"].concat(
    ["given", "create", "rename", "archive", "created", "renamed", "archived", "describe", "expect", "it", "deciderSpec"],
  ),
);
const projectionIdentifiers = new Set(
  ["none", "defineProjection", "NotFoundError", "ReadModels", "MINUTE", "T0"].concat(
    ["spec", "events", "model", "readModels", "route", "ask", "describe", "expect", "it", "streamEvents", "projectionSpec"],
  ),
);

const checkName = (what: string, name: string | undefined): string => {
  if (!name) throw new Refused(`which ${what}? a name is required\n${usage}`);
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(name))
    throw new Refused(`${what} '${name}': a name is 1-40 lowercase letters, digits or '-', starting with a letter`);
  // Both would give an identifier another name also gives ("a-b" and "a--b" are both aB).
  if (name.endsWith("-") || name.includes("--")) throw new Refused(`${what} '${name}': a name must not end with '-' nor contain '--'`);
  return name;
};

// ---- what is already there --------------------------------------------------

const appSource = () => readFileSync(join(root, appFile), "utf8");

/** Every identifier core/app.ts declares or imports: a new import must not take one. */
const identifiersOf = (source: string) => {
  const imported = [...source.matchAll(/^import (?:type )?\{([^}]*)\}/gm)].flatMap((m) => m[1]!.split(","));
  return new Set([...imported.map((s) => s.replace(/^\s*type\s+/, "").trim()), "app", "Registry"]);
};

const checkIdentifier = (what: string, name: string, identifier: string, own: ReadonlySet<string>) => {
  if (reservedWords.has(identifier) || own.has(identifier))
    throw new Refused(`${what} '${name}': its identifier '${identifier}' is a reserved word or one the generated module uses; choose another name`);
  if (identifiersOf(appSource()).has(identifier)) throw new Refused(`${what} '${name}': core/app.ts already has an identifier '${identifier}'`);
};

const checkAbsent = (paths: readonly string[]) => {
  const there = paths.filter((path) => existsSync(join(root, path)));
  if (there.length) throw new Refused(`${there.join(", ")} already exist${there.length === 1 ? "s" : ""}: nothing written`);
};

/** The app as it stands, every part by name. */
const current = expandApp(app);

/** A route the app already serves at this path, parameters aside (`GET /carts/{}`), as the topology compares them. */
const routeTaken = (path: string) => {
  const key = (p: string) => p.replace(/\{\w+\}/g, "{}");
  return current.topology.routes.find((route) => route.method === "GET" && key(route.path) === key(path));
};

// ---- core/app.ts ------------------------------------------------------------

/** `line` after the last import of core/app.ts. */
const withImport = (source: string, line: string): string => {
  const lines = source.split("\n");
  const last = lines.findLastIndex((l) => /^import .* from "[^"]+";$/.test(l));
  if (last < 0) throw new Refused(`${appFile}: no import line found; add \`${line}\` by hand`);
  return [...lines.slice(0, last + 1), line, ...lines.slice(last + 1)].join("\n");
};

/** `entry` appended to the one-line list `<field>: { a, b },` (or `[a, b]`) of core/app.ts. */
const withEntry = (source: string, field: string, [open, close]: readonly [string, string], entry: string): string => {
  const esc = (s: string) => s.replace(/[[\]{}]/g, "\\$&");
  const line = new RegExp(`^(\\s*${field}: ${esc(open)})(.*)(${esc(close)},?)$`, "gm");
  const found = [...source.matchAll(line)];
  if (found.length !== 1)
    throw new Refused(`${appFile}: expected ${field} on one line (\`${field}: ${open} a, b ${close},\`), found ${found.length}; add ${entry} by hand`);
  return source.replace(line, (_all, head: string, items: string, tail: string) => {
    const listed = items.trim();
    const pad = open === "{" ? " " : "";
    return `${head}${pad}${listed ? `${listed}, ` : ""}${entry}${pad}${tail}`;
  });
};

// ---- microservice -------------------------------------------------------------

const microserviceFiles = (name: string) => {
  const camel = camelOf(name);
  const P = pascalOf(name);
  const idParam = `${camel}Id`;
  const path = `/${pluralOf(name)}/{${idParam}}`;
  const files: Record<string, string> = {};

  files[`core/${name}/state.ts`] = `// A ${name}: a titled item, created once, renamed while active, then
// archived for good. Scaffolded by \`npm run new -- microservice ${name}\`:
// make the state and events the domain's own (and bump schemaVersion in
// index.ts when the state's shape changes once it is deployed).
import type { Message } from "../decider.js";

export type ${P}State =
  | { readonly status: "none" }
  | { readonly status: "active" | "archived"; readonly title: string; readonly owner: string };

export type ${P}Event =
  | Message<"Created", { readonly title: string; readonly owner: string }>
  | Message<"Renamed", { readonly title: string }>
  | Message<"Archived", { readonly reason: string }>;

export const initialState: ${P}State = { status: "none" };

export const evolve = (state: ${P}State, event: ${P}Event): ${P}State => {
  if (event.type === "Created") return { status: "active", title: event.data.title, owner: event.data.owner };
  if (state.status === "none") return state;
  switch (event.type) {
    case "Renamed":
      return { ...state, title: event.data.title };
    case "Archived":
      // The reason stays in the log, for its readers; the rules only need to know it is archived.
      return { ...state, status: "archived" };
  }
};
`;

  files[`core/${name}/decide.ts`] = `import { z } from "zod";
import { reject, type CommandOf, type DecideContext, type Decision } from "../decider.js";
import type { ${P}Event, ${P}State } from "./state.js";

const title = z.string().min(1).max(100);

export const commands = {
  Create: z.strictObject({ title }),
  Rename: z.strictObject({ title }),
  Archive: z.strictObject({ reason: z.string().min(1).max(200) }),
};

export type ${P}Command = CommandOf<typeof commands>;

export const decide = (command: ${P}Command, state: ${P}State, { user }: DecideContext): Decision<${P}Event> => {
  if (command.type === "Create")
    return state.status === "none" ? [{ type: "Created", data: { title: command.data.title, owner: user } }] : reject("AlreadyCreated", "the ${name} exists");
  if (state.status === "none") return reject("NotCreated", "the ${name} has not been created");
  // Archiving again asks for what is already so: no event, and a retry is harmless.
  if (state.status === "archived") return command.type === "Archive" ? [] : reject("Archived", "the ${name} is archived");
  switch (command.type) {
    case "Rename":
      return command.data.title === state.title ? [] : [{ type: "Renamed", data: command.data }];
    case "Archive":
      return [{ type: "Archived", data: command.data }];
  }
};
`;

  files[`core/${name}/index.ts`] = `import { defineMicroservice } from "../decider.js";
import { commands, decide } from "./decide.js";
import { evolve, initialState, type ${P}State } from "./state.js";

/** GET ${path}: the ${name} as a client reads it; 404 until it is created. */
export const view = (${idParam}: string, state: ${P}State, version: number) =>
  state.status === "none" ? undefined : { ${idParam}, status: state.status, title: state.title, owner: state.owner, version };

export const ${camel} = defineMicroservice({
  name: "${name}",
  partitionBy: "aggregate",
  schemaVersion: 1,
  commands,
  initialState,
  decide,
  evolve,
  view: { path: "${path}", render: view },
});

export type { ${P}State, ${P}Event } from "./state.js";
export type { ${P}Command } from "./decide.js";
`;

  files[`test/${name}.unit.test.ts`] = `// ${name}'s rules as specifications: created once, renamed while active, archived for good.
import { describe, expect, it } from "vitest";
import { ${camel}, view, type ${P}Command, type ${P}Event } from "../core/${name}/index.js";
import { deciderSpec } from "./support/decider-spec.js";

const { given } = deciderSpec(${camel}, { now: 1_794_000_000_000, user: "u-1", roles: [], aggregateId: "${name}-1" });

const create = (title = "First"): ${P}Command => ({ type: "Create", data: { title } });
const rename = (title: string): ${P}Command => ({ type: "Rename", data: { title } });
const archive = (reason = "done"): ${P}Command => ({ type: "Archive", data: { reason } });

const created: ${P}Event = { type: "Created", data: { title: "First", owner: "u-1" } };
const renamed = (title: string): ${P}Event => ({ type: "Renamed", data: { title } });
const archived: ${P}Event = { type: "Archived", data: { reason: "done" } };

describe("${name}: Create", () => {
  it("creates it, owned by whoever created it", () => {
    given([]).when(create()).then([created]);
    given([]).when(create("Other"), { user: "u-2" }).thenState({ status: "active", title: "Other", owner: "u-2" });
  });

  it("creates it once", () => {
    given([created]).when(create()).thenRejects("AlreadyCreated");
  });
});

describe("${name}: Rename and Archive need it created", () => {
  for (const command of [rename("Other"), archive()])
    it(\`\${command.type} before Create is rejected\`, () => {
      given([]).when(command).thenRejects("NotCreated");
    });
});

describe("${name}: Rename", () => {
  it("changes the title", () => {
    given([created]).when(rename("Second")).then([renamed("Second")]);
    given([created, renamed("Second")]).when(rename("Third")).thenState({ status: "active", title: "Third", owner: "u-1" });
  });

  it("to the title it has changes nothing", () => {
    given([created]).when(rename("First")).then([]);
  });

  it("refuses an empty title before the decider sees it", () => {
    expect(() => given([created]).when(rename("")).then([])).toThrow();
  });
});

describe("${name}: Archive", () => {
  it("archives it for good: renaming is rejected, archiving again changes nothing", () => {
    given([created]).when(archive()).then([archived]);
    given([created, archived]).when(rename("Second")).thenRejects("Archived");
    given([created, archived]).when(archive()).then([]);
  });
});

describe("${name}: the view", () => {
  it("shows it once created, with its version", () => {
    expect(view("${name}-1", { status: "none" }, 0)).toBeUndefined();
    expect(view("${name}-1", { status: "archived", title: "First", owner: "u-1" }, 2)).toEqual({
      ${idParam}: "${name}-1",
      status: "archived",
      title: "First",
      owner: "u-1",
      version: 2,
    });
  });
});
`;
  return { files, camel, path };
};

// ---- projection -----------------------------------------------------------------

/** The event type names core/<microservice>/ declares as `Message<"Name", ...>`, projections' files aside. */
const declaredEvents = (microservice: string): string[] => {
  const dir = join(root, "core", microservice);
  const names = readdirSync(dir)
    .filter((file) => file.endsWith(".ts"))
    .map((file) => readFileSync(join(dir, file), "utf8"))
    .filter((source) => !source.includes("defineProjection("))
    .flatMap((source) => [...source.matchAll(/Message<\s*"([A-Za-z][A-Za-z0-9]*)"/g)].map((m) => m[1]!));
  return [...new Set(names)];
};

const projectionFiles = (name: string, from: string, fromIdentifier: string, eventTypes: readonly string[], chosen: boolean) => {
  const camel = camelOf(name);
  const P = pascalOf(name);
  const path = `/${name}/{key}`;
  const files: Record<string, string> = {};
  const list = eventTypes.map((t) => `"${t}"`).join(", ");

  files[`core/${from}/${name}.ts`] = `// ${name}: how many events each ${from} aggregate has had, of which types,
// and when the latest occurred; served at GET ${path}. Scaffolded by
// \`npm run new -- projection ${name} --from ${from}\`: keep what the read needs.
// ${chosen ? "Its eventTypes were chosen with --events" : `Its eventTypes were read from the Message<"Name", ...> declarations in\n// core/${from}/`}; tsc checks them against ${from}'s events. Counting is safe
// because the engine folds each stream version into an item once and in
// order, however Kinesis or a replay delivers it.
import { NotFoundError } from "../errors.js";
import { defineProjection } from "../projections/projection.js";
import { ${fromIdentifier} } from "./index.js";

export interface ${P} {
  readonly events: number;
  readonly byType: Readonly<Record<string, number>>;
  /** The latest \`occurredAt\`, ms since epoch: not the last, as a command may carry an earlier client timestamp. */
  readonly lastActivityAt?: number;
}

const none: ${P} = { events: 0, byType: {} };

export const ${camel} = defineProjection({
  name: "${name}",
  from: [${fromIdentifier}],
  eventTypes: [${list}],
  keyOf: (event) => event.aggregateId,
  initial: none,
  evolve: (model, event): ${P} => ({
    events: model.events + 1,
    byType: { ...model.byType, [event.type]: (model.byType[event.type] ?? 0) + 1 },
    lastActivityAt: Math.max(model.lastActivityAt ?? event.occurredAt, event.occurredAt),
  }),
  routes: [
    {
      path: "${path}",
      answer: async ({ pathParameters, readModels }) => {
        const model = await readModels.get(pathParameters.key!);
        if (!model) throw new NotFoundError(\`no ${from} '\${pathParameters.key}' in ${name}\`);
        return { statusCode: 200, body: { key: pathParameters.key, ...model } };
      },
    },
  ],
});
`;

  // Three events of one aggregate: the first type once, the second (or the first again) twice.
  const [first, second = first] = eventTypes as [string, ...string[]];
  const byType = (types: readonly string[]) => {
    const counts: Record<string, number> = {};
    for (const t of types) counts[t] = (counts[t] ?? 0) + 1;
    return `{ ${Object.entries(counts).map(([t, n]) => `${t}: ${n}`).join(", ")} }`;
  };
  const three = [first, second, second];
  const listOf = (types: readonly string[]) => `[${types.map((t) => `"${t}"`).join(", ")}]`;
  files[`test/${name}.unit.test.ts`] = `// ${name} as a specification: each ${from} aggregate's events counted once,
// whatever the delivery (every event twice, reversed, shuffled: projectionSpec).
import { describe, expect, it } from "vitest";
import { ${camel}, type ${P} } from "../core/${from}/${name}.js";
import { NotFoundError } from "../core/errors.js";
import type { ReadModels } from "../core/projections/projection.js";
import { MINUTE, streamEvents, T0 } from "./support/projection-records.js";
import { projectionSpec } from "./support/projection-spec.js";

const spec = projectionSpec(${camel});
const events = (aggregateId: string, types: readonly string[], microservice = "${from}") =>
  streamEvents(microservice, aggregateId, types.map((type) => ({ type })));

describe("${name}", () => {
  it("counts an aggregate's events by type and keeps the latest time", async () => {
    const log = events("a-1", ${listOf(three)});
    await spec.given(log).then("a-1", { events: 3, byType: ${byType(three)}, lastActivityAt: T0 + 2 * MINUTE });
  });

  it("keeps aggregates apart and ignores another microservice's events of the same types", async () => {
    const log = [
      ...events("a-1", ${listOf(three)}),
      ...events("a-2", ${listOf([first])}),
      ...events("a-2", ${listOf([first, second])}, "not-${from}"),
    ];
    await spec.given(log).then("a-1", { events: 3, byType: ${byType(three)}, lastActivityAt: T0 + 2 * MINUTE });
    await spec.given(log).then("a-2", { events: 1, byType: ${byType([first])}, lastActivityAt: T0 });
  });

  it("answers GET ${path} with the item, and 404 for a key no event reached", async () => {
    const model: ${P} = { events: 1, byType: ${byType([first])}, lastActivityAt: T0 };
    const readModels: ReadModels<${P}> = { get: async (key) => (key === "a-1" ? model : undefined), query: async () => [] };
    const route = ${camel}.routes![0]!;
    const ask = (key: string) => route.answer({ pathParameters: { key }, query: {}, now: T0, readModels });
    expect(await ask("a-1")).toEqual({ statusCode: 200, body: { key: "a-1", ...model } });
    await expect(ask("a-9")).rejects.toBeInstanceOf(NotFoundError);
  });
});
`;
  return { files, camel, path };
};

// ---- the commands ---------------------------------------------------------------------

const write = (files: Record<string, string>, editedApp: string) => {
  // Exclusive creates: a file that appeared since the checks is not overwritten.
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text, { flag: "wx" });
  writeFileSync(join(root, appFile), editedApp);
  for (const path of Object.keys(files)) console.log(`wrote ${path}`);
};

const post = (body: Record<string, unknown>) =>
  `curl -s -X POST "http://localhost:4000/command?wait=5" -d '${JSON.stringify(body)}'`;

const newMicroservice = (name: string) => {
  if (Object.hasOwn(current.microservices, name)) throw new Refused(`microservice '${name}' is already registered in ${appFile}`);
  checkAbsent([`core/${name}`, `test/${name}.unit.test.ts`]);
  const { files, camel, path } = microserviceFiles(name);
  checkIdentifier("microservice", name, camel, microserviceIdentifiers);
  const taken = routeTaken(path);
  if (taken) throw new Refused(`microservice '${name}': its view GET ${path} would clash with GET ${taken.path}`);
  // The registry's key is the microservice's name (core/topology.ts checks it).
  const entry = camel === name ? camel : `"${name}": ${camel}`;
  const edited = withEntry(withImport(appSource(), `import { ${camel} } from "./${name}/index.js";`), "microservices", ["{", "}"], entry);
  // The directory only after every check: a refusal writes nothing. Not recursive: core/ exists, the directory must not.
  mkdirSync(join(root, "core", name));
  write(files, edited);
  console.log(`registered ${name} in ${appFile} (microservices)`);
  const aggregateId = `${name}-1`;
  const id = path.replace(/\{\w+\}/, aggregateId);
  console.log(`
next:
  npx vitest run test/${name}.unit.test.ts
  npm start                                  # the local stack, in another terminal
  ${post({ type: name, command: "Create", aggregateId, id: 1, user: "u-1", payload: { title: "First" } })}
  ${post({ type: name, command: "Rename", aggregateId, id: 2, user: "u-1", payload: { title: "Second" } })}
  curl -s http://localhost:4000${id}
  npm run new -- projection ${name}-count --from ${name}   # a read model of its events`);
};

const newProjection = (name: string, from: string | undefined, events: string | undefined) => {
  if (!from) throw new Refused(`projection '${name}': --from <microservice> is required\n${usage}`);
  const microservice = current.microservices[from];
  if (!microservice) throw new Refused(`--from ${from}: no such microservice in ${appFile} (it has ${Object.keys(current.microservices).join(", ")})`);
  const taken = [...Object.keys(current.projections), ...Object.keys(current.processManagers), ...Object.keys(app.subscribers ?? {})];
  if (taken.includes(name)) throw new Refused(`projection '${name}': the name is already a projection's, process manager's or subscriber's in ${appFile}`);
  if (["sequencer", "publisher", "archiver", "archive"].includes(name)) throw new Refused(`projection '${name}': the name is the engine's`);
  const index = join(root, "core", from, "index.ts");
  const fromIdentifier = camelOf(from);
  if (!existsSync(index) || !new RegExp(`^export const ${fromIdentifier} = defineMicroservice\\(`, "m").test(readFileSync(index, "utf8")))
    throw new Refused(`--from ${from}: core/${from}/index.ts does not export \`const ${fromIdentifier} = defineMicroservice(...)\`, where a projection's file imports it from`);
  const declared = declaredEvents(from);
  const eventTypes = events ? events.split(",").map((t) => t.trim()).filter(Boolean) : declared;
  if (eventTypes.length === 0)
    throw new Refused(`--from ${from}: no Message<"Name", ...> event found in core/${from}/*.ts; name its events with --events <Type,Type>`);
  const unknown = eventTypes.filter((t) => !/^[A-Za-z][A-Za-z0-9]*$/.test(t) || (declared.length > 0 && !declared.includes(t)));
  if (unknown.length)
    throw new Refused(
      `--events: ${unknown.join(", ")} ${unknown.length === 1 ? "is not an event" : "are not events"} of ${from} (it declares ${declared.join(", ") || "none found"})`,
    );
  const { files, camel, path } = projectionFiles(name, from, fromIdentifier, eventTypes, Boolean(events));
  checkAbsent(Object.keys(files));
  checkIdentifier("projection", name, camel, new Set([...projectionIdentifiers, fromIdentifier]));
  if (projectionIdentifiers.has(pascalOf(name)))
    throw new Refused(`projection '${name}': its model's type '${pascalOf(name)}' is a name the generated module uses`);
  const clash = routeTaken(path);
  if (clash) throw new Refused(`projection '${name}': its route GET ${path} would clash with GET ${clash.path}`);
  let edited = withImport(appSource(), `import { ${camel} } from "./${from}/${name}.js";`);
  edited = /^\s*projections: \[/m.test(edited)
    ? withEntry(edited, "projections", ["[", "]"], camel)
    : edited.replace(/^(\s*)(microservices: .*)$/m, `$1$2\n$1projections: [${camel}],`);
  write(files, edited);
  console.log(`registered ${name} in ${appFile} (projections), following ${eventTypes.join(", ")} of ${from}`);
  const aggregateId = `${from}-1`;
  const command = Object.keys(microservice.commands);
  const send =
    command.includes("Create") && declared.includes("Created")
      ? post({ type: from, command: "Create", aggregateId, id: 1, user: "u-1", payload: { title: "First" } })
      : `${post({ type: from, command: command[0] ?? "<Command>", aggregateId, id: 1, user: "u-1", payload: {} })}   # payload: see core/${from}/decide.ts`;
  console.log(`
next:
  npx vitest run test/${name}.unit.test.ts
  npm start                                  # the local stack, in another terminal
  ${send}
  curl -s http://localhost:4000${path.replace("{key}", aggregateId)}   # a moment later: the projection follows the log`);
};

const main = () => {
  const { values, positionals } = parseArgs({
    options: { from: { type: "string" }, events: { type: "string" }, help: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return void console.log(usage);
  const [kind, name, ...rest] = positionals;
  if (rest.length) throw new Refused(`unexpected ${rest.join(" ")}\n${usage}`);
  if (kind === "microservice") {
    if (values.from || values.events) throw new Refused(`--from and --events are for a projection\n${usage}`);
    return newMicroservice(checkName("microservice", name));
  }
  if (kind === "projection") return newProjection(checkName("projection", name), values.from, values.events);
  throw new Refused(`${kind ? `unknown kind '${kind}'` : "what to make?"}\n${usage}`);
};

try {
  main();
} catch (error) {
  console.error(`new: ${(error as Error).message}`);
  process.exitCode = error instanceof Refused ? 2 : 1;
}
