// `npm run bench -- --checkout`: microservices talking through commands, on a
// local stack of its own. A cart's Checkout sends inventory ReserveStock in
// the sequencer's transaction; the checkout process manager (a Kinesis
// consumer) answers ConfirmCheckout; the cart then sends CommitReservation.
//
// Every command goes through the typed client's HTTP transport, ?wait=10, at
// a pool of clients. The baseline, in the same run, is a plain AddItem's round
// trip on the open gateway; against it:
// 1. the Checkout's own round trip (it also writes the ReserveStock it sends),
//    with clients sending checkouts back to back as the AddItem phases do;
// 2. POST Checkout until the cart is checked out and until inventory's
//    reservation is committed: polled over GET /carts/{id} and GET
//    /inventory/{warehouse} every POLL_MS, one checkout per client at a time;
//    and, for the back-to-back checkouts, from the events' recordedAt;
// 3. the AddItem round trip with a user's JWT (HS256, checked as `npm start --
//    --auth` checks it) and SigV4-signed to /service/command as local/local.
// The AddItem modes run in two halves, A B C before the checkouts and C B A
// after, so a machine drifting over the run weighs on each alike.
//
// The JWT gateway is a second HTTP server on the same stack, built as
// startStack builds its own with `jwt` (handlers that take no identity from
// the body, behind the same authorizers): same tables, pollers and emulators,
// so the authorizer is the only difference and no second DynamoDB Local has to
// warm up. The clients run in this process beside the stack: a signature is
// paid for on the same cores twice (the client signs, the gateway signs again
// to compare).
import type { Registry } from "../core/app.js";
import { eachLimited } from "../core/each-limited.js";
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { DEFAULT_JWT_AUDIENCE } from "../core/auth.js";
import { reservationIdOf } from "../core/cart/decide.js";
import { createClient, http, OrdinalClientError, type Client, type Outcome } from "../core/client.js";
import { readLog } from "../core/events.js";
import { streamIdOf } from "../core/keys.js";
import { mintToken, type JwtSettings } from "../local/jwt.js";
import { localPrincipal } from "../local/sigv4.js";
import { startGateway, startStack, type LocalStack } from "../local/stack.js";
import { checksTable, cpuMsPer, fixed, latency, parkedBatches, progressLog, sleep, stackProcesses, table, usageSince, watchCalls, type Latency, type Usage } from "./measure.js";
import { runTag } from "./workload.js";
import { app } from "../core/app.js";
import { expandApp } from "../core/app-definition.js";

const referenceApp = expandApp(app);

const LINES = 3; // AddItems per cart, one sku each
const USERS = 16; // carts are spread over this many owners (and JWTs)
const POLL_MS = 25;
const POLL_TIMEOUT_MS = 60_000;

const progress = progressLog("bench checkout");

interface Cart {
  readonly cartId: string;
  /** The owner: the body's user, the token's sub, or the signing principal. */
  readonly user: string;
  readonly lines: readonly { sku: string; quantity: number; unitPrice: number }[];
}

const skuOf = (j: number) => `BENCH-${j}`;
const planCarts = (prefix: string, count: number, userOf: (i: number) => string): Cart[] =>
  Array.from({ length: count }, (_, i) => ({
    cartId: `${prefix}${i}`,
    user: userOf(i),
    lines: Array.from({ length: LINES }, (_, j) => ({ sku: skuOf(j), quantity: 1 + ((i + j) % 3), unitPrice: 100 + 37 * j })),
  }));

/** Sends, and tallies the answer ("accepted", "rejected CartClosed", "401 Unauthorized") for the checks; undefined when refused. */
const sendCounted = async (responses: Record<string, number>, send: () => Promise<Outcome>): Promise<Outcome | undefined> => {
  let label: string;
  let outcome: Outcome | undefined;
  try {
    outcome = await send();
    label = outcome.status === "rejected" ? `rejected ${outcome.reason}` : outcome.status;
  } catch (error) {
    label = error instanceof OrdinalClientError ? `${error.status} ${error.body.error}` : `error ${(error as Error).message}`;
  }
  responses[label] = (responses[label] ?? 0) + 1;
  return outcome;
};

/** One phase of carts filled: OpenCart and AddItems. */
interface Fill {
  readonly commands: number;
  readonly seconds: number;
  /** AddItem's POST /command?wait=10 round trips, ms. */
  readonly samples: readonly number[];
  readonly cpuMs: number;
  readonly responses: Record<string, number>;
}

/** Each client takes the next cart: OpenCart, then its AddItems one after the other, each timed. */
const fill = async (carts: readonly Cart[], clients: number, clientOf: (cart: Cart) => Client<Registry>, usage: () => () => Usage): Promise<Fill> => {
  const samples: number[] = [];
  const responses: Record<string, number> = {};
  const done = usage();
  const started = performance.now();
  await eachLimited(carts, clients, async (cart) => {
    const client = clientOf(cart);
    await sendCounted(responses, () => client.send("cart", "OpenCart", cart.cartId, {}, { id: `${cart.cartId}-0`, wait: 10 }));
    for (const [j, line] of cart.lines.entries()) {
      const t0 = performance.now();
      await sendCounted(responses, () => client.send("cart", "AddItem", cart.cartId, line, { id: `${cart.cartId}-${j + 1}`, wait: 10 }));
      samples.push(performance.now() - t0);
    }
  });
  return { commands: carts.length * (1 + LINES), seconds: (performance.now() - started) / 1000, samples, cpuMs: cpuMsPer(done(), 1), responses };
};

export interface ModeResult {
  readonly commands: number;
  readonly seconds: number;
  readonly rate: number;
  readonly addItemMs: Latency;
  readonly cpuMsPerCommand: number;
  readonly responses: Record<string, number>;
  /** Each half on its own (one before the checkouts, one after): how far the machine drifted. */
  readonly halves: readonly { rate: number; p50: number; p99: number }[];
}

const merge = (fills: readonly Fill[]): ModeResult => {
  const commands = fills.reduce((sum, f) => sum + f.commands, 0);
  const seconds = fills.reduce((sum, f) => sum + f.seconds, 0);
  const responses: Record<string, number> = {};
  for (const f of fills) for (const [label, n] of Object.entries(f.responses)) responses[label] = (responses[label] ?? 0) + n;
  return {
    commands,
    seconds,
    rate: commands / seconds,
    addItemMs: latency(fills.flatMap((f) => f.samples)),
    cpuMsPerCommand: fills.reduce((sum, f) => sum + f.cpuMs, 0) / commands,
    responses,
    halves: fills.map((f) => {
      const { p50, p99 } = latency(f.samples);
      return { rate: f.commands / f.seconds, p50, p99 };
    }),
  };
};

interface CheckoutResult {
  readonly checkouts: number;
  /** First POST to the last checkout committed. */
  readonly seconds: number;
  readonly rate: number;
  /** The Checkout's POST /command?wait=10 round trip. */
  readonly answerMs: Latency;
  /** POST Checkout → the cart checked out. */
  readonly checkedOutMs: Latency;
  /** POST Checkout → the reservation committed (the goods off the shelf). */
  readonly committedMs: Latency;
  readonly cpuMsPerCheckout: number;
  readonly responses: Record<string, number>;
  /** Checkouts accepted with the ReserveStock they sent. */
  readonly sentReserveStock: number;
  /** GETs the polled phase issued. */
  readonly gets?: number;
}

const getJson = async (url: string): Promise<any> => (await fetch(url)).json();

/** Polls `url` every POLL_MS until `done(body)`; answers when, or undefined after POLL_TIMEOUT_MS. */
const pollUntil = async (url: string, done: (body: any) => boolean, counter = { gets: 0 }): Promise<number | undefined> => {
  const deadline = performance.now() + POLL_TIMEOUT_MS;
  while (performance.now() < deadline) {
    counter.gets++;
    if (done(await getJson(url))) return performance.now();
    await sleep(POLL_MS);
  }
  return undefined;
};

/**
 * Checks the carts out at `clients` clients. `polled`: each client polls GET
 * /carts/{id} until checked-out, then GET /inventory/{warehouse} until the
 * reservation is gone, before its next cart. Otherwise each client sends its
 * next Checkout as soon as one is answered (the load of the AddItem phases),
 * and the times come afterwards from the log: the recordedAt of the cart's
 * CheckoutConfirmed and inventory's StockCommitted.
 */
const checkoutAll = async (
  stack: LocalStack,
  { carts, warehouse, clients, polled }: { carts: readonly Cart[]; warehouse: string; clients: number; polled: boolean },
  clientOf: (cart: Cart) => Client<Registry>,
  usage: () => () => Usage,
): Promise<CheckoutResult> => {
  const answers: number[] = [];
  const checkedOut: number[] = [];
  const committed: number[] = [];
  const sentAt = new Map<string, number>();
  const responses: Record<string, number> = {};
  const counter = { gets: 0 };
  let sentReserveStock = 0;
  const inventoryUrl = `${stack.url}/inventory/${warehouse}`;
  const versionBefore: number = (await getJson(inventoryUrl)).version;
  const done = usage();
  const started = performance.now();
  await eachLimited(carts, clients, async (cart) => {
    const t0 = performance.now();
    sentAt.set(cart.cartId, Date.now());
    const outcome = await sendCounted(responses, () => clientOf(cart).send("cart", "Checkout", cart.cartId, { warehouse }, { id: `${cart.cartId}-checkout`, wait: 10 }));
    answers.push(performance.now() - t0);
    if (outcome?.status !== "accepted" || !outcome.sent?.some((s) => s.command === "ReserveStock")) return;
    sentReserveStock++;
    if (!polled) return;
    const out = await pollUntil(`${stack.url}/carts/${cart.cartId}`, (body) => body.status === "checked-out", counter);
    if (out === undefined) return;
    checkedOut.push(out - t0);
    const reservationId = reservationIdOf(cart.cartId);
    const gone = await pollUntil(inventoryUrl, (body) => !body.reservations?.some((r: { reservationId: string }) => r.reservationId === reservationId), counter);
    if (gone !== undefined) committed.push(gone - t0);
  });
  // Every reservation made and committed: two inventory events a checkout.
  if (!polled) await pollUntil(inventoryUrl, (body) => body.version >= versionBefore + 2 * carts.length);
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = cpuMsPer(done(), 1);
  if (!polled) {
    const commits = new Map((await readLog(stack.store, streamIdOf("inventory", warehouse))).filter((e) => e.type === "StockCommitted").map((e) => [(e.data as { reservationId: string }).reservationId, e.recordedAt]));
    await eachLimited(carts, 8, async (cart) => {
      const confirmed = (await readLog(stack.store, streamIdOf("cart", cart.cartId))).find((e) => e.type === "CheckoutConfirmed");
      const commit = commits.get(reservationIdOf(cart.cartId));
      if (confirmed) checkedOut.push(confirmed.recordedAt - sentAt.get(cart.cartId)!);
      if (commit !== undefined) committed.push(commit - sentAt.get(cart.cartId)!);
    });
  }
  return {
    checkouts: carts.length,
    seconds,
    rate: carts.length / seconds,
    answerMs: latency(answers),
    checkedOutMs: latency(checkedOut),
    committedMs: latency(committed),
    cpuMsPerCheckout: cpuMs / carts.length,
    responses,
    sentReserveStock,
    ...(polled ? { gets: counter.gets } : {}),
  };
};

/** A second gateway on the stack, as startStack builds it with `jwt`: users need a bearer token. */
const startJwtGateway = (stack: LocalStack, jwt: JwtSettings) =>
  startGateway({ ...stack.deps, identityFromBody: false }, 0, { jwt, principals: [localPrincipal] });

export interface CheckoutReport {
  readonly at: string;
  readonly machine: { cores: number; cpu?: string; node: string; loadAverage: { before: number[]; after: number[] } };
  readonly options: { carts: number; clients: number; linesPerCart: number; users: number; warmCarts: number; pollMs: number };
  readonly ok: boolean;
  readonly checks: readonly { check: string; got: number; want: number; ok: boolean }[];
  /** AddItem by how the caller is known: `carts` carts each, in two halves around the checkouts. */
  readonly modes: { readonly open: ModeResult; readonly jwt: ModeResult; readonly sigv4: ModeResult };
  readonly checkout: { readonly backToBack: CheckoutResult; readonly polled: CheckoutResult };
  readonly ratios: Record<string, { p50: number; p99: number; rate?: number; cpuMsPerCommand?: number }>;
  readonly settledSeconds: Record<string, number>;
  readonly stock: readonly { sku: string; onHand: number; reserved: number; available: number }[];
}

/**
 * Runs the checkout benchmark on a fresh local stack and answers its report;
 * `ok` is false (and `checks` says which) when the work it timed did not all
 * happen, and its numbers are then not valid.
 */
export async function benchCheckout({ carts, clients = 16 }: { carts: number; clients?: number }): Promise<CheckoutReport> {
  const tag = runTag();
  const warehouse = `bench-${tag}`;
  const warmCarts = Math.max(clients, 16);
  const loadBefore = loadavg();
  progress(`starting the local stack (DynamoDB Local in memory) and a JWT gateway on it; run ${tag}`);
  const stack = await startStack({ app: referenceApp, port: 0 });
  const stops = [() => stack.stop()];
  try {
    const watch = watchCalls(stack.store.db, 2000 + 1000 * Math.max(...Object.values(stack.deps.app.topology.kinesisConsumers).map((c) => c.maxBatchingWindowSeconds)));
    const usage = () => usageSince(stackProcesses(stack));
    const jwt: JwtSettings = { audience: DEFAULT_JWT_AUDIENCE, secret: randomBytes(32).toString("base64url") };
    const gateway = await startJwtGateway(stack, jwt);
    stops.push(gateway.stop);

    const opened = new Map<string, Client<Registry>>();
    const tokens = new Map<string, Client<Registry>>();
    for (let u = 0; u < USERS; u++) {
      const open = `bo${tag}-${u}`;
      const sub = `bj${tag}-${u}`;
      opened.set(open, createClient<Registry>(http({ url: stack.url, user: open })));
      tokens.set(sub, createClient<Registry>(http({ url: gateway.url, token: await mintToken(jwt, { sub }) })));
    }
    const signed = createClient<Registry>(http({ url: stack.url, credentials: { accessKeyId: localPrincipal.accessKeyId, secretAccessKey: localPrincipal.secretAccessKey }, region: "local" }));
    const modes = {
      open: { clientOf: (cart: Cart) => opened.get(cart.user)!, userOf: (i: number) => `bo${tag}-${i % USERS}`, how: "open" },
      jwt: { clientOf: (cart: Cart) => tokens.get(cart.user)!, userOf: (i: number) => `bj${tag}-${i % USERS}`, how: "bearer JWT" },
      sigv4: { clientOf: () => signed, userOf: () => localPrincipal.userArn, how: "SigV4 to /service/command" },
    };
    type Mode = keyof typeof modes;
    const plans = (prefix: string, count: number, mode: Mode) => planCarts(`${prefix}${tag}-`, count, modes[mode].userOf);

    const settled: Record<string, number> = {};
    const phase = async <T>(name: string, description: string, run: () => Promise<T>) => {
      progress(`waiting for the stack to settle, then ${name}: ${description}`);
      settled[name] = await watch.settle();
      return run();
    };
    const filled = { open: [] as Fill[], jwt: [] as Fill[], sigv4: [] as Fill[] };
    const half = (mode: Mode, n: 0 | 1) => {
      const count = n === 0 ? Math.ceil(carts / 2) : Math.floor(carts / 2);
      return phase(`${mode} ${n + 1}/2`, `${count} carts × (OpenCart + ${LINES} AddItem) at ${clients} clients, ${modes[mode].how}`, async () => {
        filled[mode].push(await fill(plans(`${mode[0]}${n}`, count, mode), clients, modes[mode].clientOf, usage));
      });
    };

    const warm = { open: plans("wo", warmCarts, "open"), jwt: plans("wj", warmCarts, "jwt"), sigv4: plans("ws", warmCarts, "sigv4") };
    // The carts the measured checkouts buy, filled beforehand (untimed).
    const toBuy = { backToBack: plans("cb", carts, "open"), polled: plans("cp", carts, "open") };
    const bought = [...warm.open, ...toBuy.backToBack, ...toBuy.polled];

    // Enough stock for every checkout, and a few to spare (so the counts at the end say something).
    const admin = createClient<Registry>(http({ url: stack.url, user: `ops${tag}`, roles: ["admin"] }));
    const sold = (j: number) => bought.reduce((sum, c) => sum + c.lines[j]!.quantity, 0);
    const restocked = Array.from({ length: LINES }, (_, j) => ({ sku: skuOf(j), quantity: 7 + sold(j) }));
    const restocks: Record<string, number> = {};
    for (const line of restocked) await sendCounted(restocks, () => admin.send("inventory", "Restock", warehouse, line, { id: `restock-${tag}-${line.sku}`, wait: 10 }));

    progress(`warm-up: ${warmCarts} carts × ${1 + LINES} commands in each mode and ${warmCarts} checkouts; then ${2 * carts} carts to check out`);
    const warmed = [];
    for (const mode of ["open", "jwt", "sigv4"] as const) warmed.push(await fill(warm[mode], clients, modes[mode].clientOf, usage));
    const warmCheckout = await checkoutAll(stack, { carts: warm.open, warehouse, clients, polled: true }, modes.open.clientOf, usage);
    warmed.push(await fill([...toBuy.backToBack, ...toBuy.polled], clients, modes.open.clientOf, usage));

    // Modes in the order A B C, checkouts, C B A: a drift of the machine over the run weighs on each alike.
    for (const mode of ["open", "jwt", "sigv4"] as const) await half(mode, 0);
    const backToBack = await phase("checkout back to back", `${carts} checkouts at ${clients} clients, each client sending its next as soon as one is answered`, () =>
      checkoutAll(stack, { carts: toBuy.backToBack, warehouse, clients, polled: false }, modes.open.clientOf, usage),
    );
    const polled = await phase("checkout polled", `${carts} checkouts at ${clients} clients, each client polling until checked out and committed`, () =>
      checkoutAll(stack, { carts: toBuy.polled, warehouse, clients, polled: true }, modes.open.clientOf, usage),
    );
    for (const mode of ["sigv4", "jwt", "open"] as const) await half(mode, 1);

    // ── What must have happened ──
    progress("checking the carts, the stock and the failure destinations");
    let checkedOutCarts = 0;
    await eachLimited(bought, 8, async (cart) => {
      if ((await getJson(`${stack.url}/carts/${cart.cartId}`)).status === "checked-out") checkedOutCarts++;
    });
    const stock: { skus?: CheckoutReport["stock"]; reservations?: unknown[] } = await getJson(`${stack.url}/inventory/${warehouse}`);
    const stockRight = restocked.filter((r, j) => {
      const line = stock.skus?.find((s) => s.sku === r.sku);
      return line?.onHand === r.quantity - sold(j) && line.reserved === 0;
    }).length;
    const parked = await parkedBatches(stack);
    const open = merge(filled.open);
    const result = { open, jwt: merge(filled.jwt), sigv4: merge(filled.sigv4) };
    const checkouts = [warmCheckout, backToBack, polled];
    const checks = [
      { check: "restocks accepted", got: restocks.accepted ?? 0, want: LINES },
      { check: "warm-up: OpenCart and AddItem accepted", got: warmed.reduce((sum, f) => sum + (f.responses.accepted ?? 0), 0), want: warmed.reduce((sum, f) => sum + f.commands, 0) },
      ...Object.entries(result).map(([mode, r]) => ({ check: `${mode}: OpenCart and AddItem accepted`, got: r.responses.accepted ?? 0, want: r.commands })),
      { check: "Checkouts accepted, each having sent ReserveStock", got: checkouts.reduce((sum, c) => sum + c.sentReserveStock, 0), want: bought.length },
      { check: "measured checkouts timed to checked-out and to committed", got: [backToBack, polled].reduce((sum, c) => sum + c.checkedOutMs.n + c.committedMs.n, 0), want: 4 * carts },
      { check: "carts checked-out (GET /carts/{id} at the end)", got: checkedOutCarts, want: bought.length },
      { check: "skus with onHand = restocked − sold and none reserved", got: stockRight, want: LINES },
      { check: "reservations still open", got: stock.reservations?.length ?? -1, want: 0 },
      { check: "batches parked as failed", got: parked, want: 0 },
    ].map((c) => ({ ...c, ok: c.got === c.want }));

    const vs = (l: Latency) => ({ p50: l.p50 / open.addItemMs.p50, p99: l.p99 / open.addItemMs.p99 });
    const auth = (r: ModeResult) => ({ ...vs(r.addItemMs), rate: r.rate / open.rate, cpuMsPerCommand: r.cpuMsPerCommand / open.cpuMsPerCommand });
    return {
      at: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadAverage: { before: loadBefore, after: loadavg() } },
      options: { carts, clients, linesPerCart: LINES, users: USERS, warmCarts, pollMs: POLL_MS },
      ok: checks.every((c) => c.ok),
      checks,
      modes: result,
      checkout: { backToBack, polled },
      ratios: {
        "Checkout round trip, back to back": vs(backToBack.answerMs),
        "  POST → checked-out (log)": vs(backToBack.checkedOutMs),
        "  POST → committed (log)": vs(backToBack.committedMs),
        "Checkout round trip, polled": vs(polled.answerMs),
        "  POST → checked-out (GET /carts)": vs(polled.checkedOutMs),
        "  POST → committed (GET /inventory)": vs(polled.committedMs),
        "AddItem with a JWT": auth(result.jwt),
        "AddItem SigV4-signed": auth(result.sigv4),
      },
      settledSeconds: settled,
      stock: stock.skus ?? [],
    };
  } finally {
    progress("stopping the JWT gateway and the local stack");
    for (const stop of stops.reverse()) await stop();
  }
}

/** The report as tables. */
export const formatCheckout = (r: CheckoutReport): string => {
  const { backToBack: b, polled: p } = r.checkout;
  const lat = (l: Latency) => [fixed(l.p50, 1), fixed(l.p99, 1)];
  const mode = (name: string, m: ModeResult) => [name, String(m.commands), fixed(m.seconds, 1), fixed(m.rate, 1), ...lat(m.addItemMs), fixed(m.cpuMsPerCommand, 1)];
  const checkout = (name: string, c: CheckoutResult) => [
    [name, String(c.checkouts), fixed(c.seconds, 1), fixed(c.rate, 1), ...lat(c.answerMs), fixed(c.cpuMsPerCheckout, 1)],
    [`  POST Checkout → checked-out${c.gets === undefined ? " (log)" : ""}`, String(c.checkedOutMs.n), "", "", ...lat(c.checkedOutMs), ""],
    [`  POST Checkout → reservation committed${c.gets === undefined ? " (log)" : ""}`, String(c.committedMs.n), "", "", ...lat(c.committedMs), ""],
  ];
  const phases = table(
    ["POST /command?wait=10, typed client", "commands", "seconds", "cmd/s", "p50 ms", "p99 ms", "CPU ms/cmd"],
    [
      mode("AddItem, open (baseline)", r.modes.open),
      ...checkout("Checkout, back to back", b),
      ...checkout("Checkout, polled", p),
      mode("AddItem, bearer JWT (HS256)", r.modes.jwt),
      mode("AddItem, SigV4 to /service/command", r.modes.sigv4),
    ],
  );
  const ratios = table(
    ["ratio to the open AddItem", "p50", "p99", "cmd/s", "CPU ms/cmd"],
    Object.entries(r.ratios).map(([name, x]) => [name, fixed(x.p50, 2), fixed(x.p99, 2), fixed(x.rate, 2), fixed(x.cpuMsPerCommand, 2)]),
  );
  const checks = checksTable(r.checks);
  const load = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
  const halves = Object.entries(r.modes)
    .map(([name, m]) => `${name} ${m.halves.map((h) => `${fixed(h.p50)}/${fixed(h.p99)} ms ${fixed(h.rate, 1)} cmd/s`).join(" → ")}`)
    .join("; ");
  return [
    "",
    `Ordinal checkout bench — ${r.at}, ${r.machine.cores} cores, Node ${r.machine.node}, load average before / after ${load(r.machine.loadAverage.before)} / ${load(r.machine.loadAverage.after)}`,
    `${r.options.carts} carts of ${r.options.linesPerCart} lines per phase at ${r.options.clients} clients, after a warm-up of ${r.options.warmCarts} carts per mode. ` +
      `Every client runs in this process, beside the stack; the JWT gateway is a second HTTP server on the same stack (same tables and pollers).`,
    `Back to back: each client sends its next Checkout once one is answered (the AddItem phases' load); times to checked-out/committed from the events' recordedAt. ` +
      `Polled: each client polls GET /carts then GET /inventory every ${r.options.pollMs} ms (${p.gets} GETs) before its next. CPU ms/cmd for a checkout: the whole stack's CPU per checkout, its four commands, process manager and fan-out.`,
    "",
    phases,
    "",
    ratios,
    "",
    `AddItem p50/p99 and rate by half (before → after the checkouts): ${halves}`,
    `settled before each phase (no DynamoDB call for 2 s past the longest batching window), s: ${Object.entries(r.settledSeconds).map(([k, v]) => `${k} ${fixed(v, 1)}`).join(", ")}`,
    "",
    checks,
    r.ok ? "" : "\nTHE CHECKOUT BENCH'S WORK DID NOT ALL HAPPEN: its numbers are not valid.\n",
  ].join("\n");
};
