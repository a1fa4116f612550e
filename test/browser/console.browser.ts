// The console in a real browser (Debian's Chromium, driven by playwright-core)
// against a local stack this test starts: the live pipeline, a command sent
// through the form generated from the schemas, its stream and the state at a
// version chosen with the slider, its outcome's chain, a failing batch parked
// and redriven from the page, a rebuild started and followed from the page,
// and, on a stack with --auth, a token asked for and admin actions hidden
// from a caller without the admin role. A screenshot of each page goes to
// .ordinal/screenshots/ (git-ignored). `npm run test:browser` runs it.
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from "aws-lambda";
import { mkdirSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, type JwtSettings } from "../../local/jwt.js";
import { startStack, type LocalStack } from "../../local/stack.js";
import { referenceApp } from "../support/app.js";
import { stopLocalStack } from "../support/local-stack.js";

const SHOTS = ".ordinal/screenshots";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let browser: Browser;
let stack: LocalStack;
let page: Page;
/** While true, open-carts' live consumer fails every batch: with one retry, it parks the batch. */
let openCartsFails = false;
/** While true, every archive read takes a second: a replay is still running when the page cancels it. */
let slowArchive = false;

const failing =
  (handler: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>) =>
  async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    if (openCartsFails) throw new Error("open-carts is failing on purpose (console.browser.ts)");
    return handler(event);
  };

const shoot = (name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({
    app: referenceApp,
    port: 0,
    retryAttempts: 1,
    replayTimings: { retireAfterMs: 1_000 },
    wrapKinesisHandler: (name, handler) => (name === "open-carts" ? failing(handler) : handler),
    intercept: async (call) => {
      if (slowArchive && call.client === "s3" && call.phase === "before" && call.name === "GetObjectCommand") await new Promise((r) => setTimeout(r, 1_000));
    },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  if (stack) await stopLocalStack(stack);
});

const open = (hash: string) => page.goto(`${stack.url}/console/${hash}`);

/** Starts a rebuild of `handler` with the Replays page's form; answers the job's row. */
const startRebuildFromPage = async (handler: string) => {
  await open("#/replays");
  await page.getByTestId("replay-form").locator("select[name=handler]").selectOption(handler);
  // The page may still say what the last start said (a hash change does not reload it): wait for this one's.
  const before = await page.getByTestId("replay-said").textContent().catch(() => "");
  await page.getByTestId("replay-form").getByRole("button", { name: "Start" }).click();
  await expect.poll(() => page.getByTestId("replay-said").textContent()).toMatch(/^started /);
  const id = (await page.getByTestId("replay-said").textContent())!.replace("started ", "");
  expect(`started ${id}`).not.toBe(before);
  return page.locator(`tr[data-replay="${id}"]`);
};

/** Sends a cart command through the form; answers the result's text. */
const sendThroughForm = async (command: string, cartId: string, payload: Record<string, string> = {}) => {
  await open("#/send");
  const form = page.getByTestId("command-form");
  await form.locator("select[name=microservice]").selectOption("cart");
  await form.locator("select[name=command]").selectOption(command);
  await form.locator("input[name=aggregateId]").fill(cartId);
  await form.locator("input[name=user]").fill("u-1");
  for (const [name, value] of Object.entries(payload)) await form.locator(`input[name="payload.${name}"]`).fill(value);
  await form.locator("button[type=submit]").click();
  const result = page.getByTestId("result");
  await expect.poll(async () => result.textContent(), { timeout: 15_000 }).not.toContain("sending");
  return (await result.textContent()) ?? "";
};

describe("the console on the open local stack", () => {
  it("shows the live pipeline: commands and outcomes charted, every consumer with its lag, the failure destinations", async () => {
    // Act
    await open("#/pipeline");

    // Assess
    await expect.poll(() => page.getByTestId("consumers").locator("tbody tr").count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
    const consumers = await page.getByTestId("consumers").locator("tbody tr td:first-child").allTextContents();
    expect(consumers).toEqual(expect.arrayContaining(["sequencer", "publisher", "archiver", "cart-summary", "open-carts", "checkout"]));
    expect(await page.getByTestId("throughput-chart").locator("canvas").count()).toBeGreaterThan(0);
    expect(await page.getByTestId("parked").locator("tbody tr td:first-child").allTextContents()).toEqual(expect.arrayContaining(["sequencer-failures", "open-carts-failures"]));
    await shoot("pipeline");
  });

  it("sends a command through the form generated from the cart's schemas and shows its outcome", async () => {
    // Act
    const opened = await sendThroughForm("OpenCart", "b-1");
    const added = await sendThroughForm("AddItem", "b-1", { sku: "SKU-7", quantity: "2", unitPrice: "150" });
    await shoot("send");
    const refused = await sendThroughForm("AddItem", "b-1", { sku: "SKU-8", quantity: "0", unitPrice: "150" });

    // Assess
    expect(opened).toContain("accepted");
    expect(added).toContain("accepted");
    expect(added).toContain("SKU-7");
    // The form sends what was typed; the API names the field and the rule.
    expect(refused).toContain("400");
    expect(refused).toContain("payload.quantity");
  });

  it("finds the stream, shows its events, and the state at the version the slider picks", async () => {
    // Act
    await open("#/streams?id=cart:b-1");
    const rows = page.getByTestId("events").locator("tbody tr");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    const types = await rows.locator("td:nth-child(2)").allTextContents();
    const latest = await page.getByTestId("state").textContent();
    await page.locator("input[name=version]").fill("1");
    await expect.poll(() => page.getByTestId("state").textContent()).toContain("version 1");
    const first = await page.getByTestId("state").textContent();
    await shoot("stream");
    // A time with the date picker: a minute from now is after both events; a day ago, before the cart existed (version 0).
    const localTime = (offsetMs: number) =>
      page.evaluate((offset) => {
        const t = new Date(Date.now() + offset);
        const pad = (n: number) => String(n).padStart(2, "0");
        return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
      }, offsetMs);
    await page.locator("input[name=at]").fill(await localTime(60_000));
    await page.getByRole("button", { name: "Show state then" }).click();
    await expect.poll(() => page.getByTestId("state").textContent()).toContain("version 2");
    const later = await page.getByTestId("state").textContent();
    await page.locator("input[name=at]").fill(await localTime(-86_400_000));
    await page.getByRole("button", { name: "Show state then" }).click();
    await expect.poll(() => page.getByTestId("state").textContent()).toContain("version 0");
    const before = await page.getByTestId("state").textContent();
    await page.getByRole("button", { name: "Verify the snapshot" }).click();
    const verify = await page.getByTestId("verify").textContent();

    // Assess
    expect(types).toEqual(["CartOpened", "ItemAdded"]);
    expect(latest).toContain("version 2");
    expect(latest).toContain("SKU-7");
    expect(first).not.toContain("SKU-7");
    expect(first).toContain('"status": "open"');
    expect(later).toContain("SKU-7");
    expect(before).not.toContain("u-1");
    expect(verify).toContain('"agrees": true');
  });

  it("shows a command's outcome and its chain, linked from the stream", async () => {
    // Act
    await open("#/streams?id=cart:b-1");
    await page.getByTestId("events").locator("tbody tr").nth(1).locator("a").click();
    await expect.poll(() => page.getByTestId("outcome").textContent(), { timeout: 10_000 }).toContain("accepted");
    const outcome = await page.getByTestId("outcome").textContent();
    const chain = await page.getByTestId("chain").locator("text.title").allTextContents();
    await shoot("command");

    // Assess
    expect(outcome).toContain("AddItem on cart:b-1");
    expect(chain).toEqual(["cart.AddItem"]);
  });

  it("draws a checkout's chain: through inventory and back to the cart", async () => {
    // Prepare: stock, a cart with a line, its checkout; the process manager answers with ConfirmCheckout
    const send = (body: Record<string, unknown>) =>
      fetch(`${stack.url}/command?wait=10`, { method: "POST", body: JSON.stringify(body) }).then((r) => r.json() as Promise<{ status: string }>);
    expect(await send({ type: "inventory", command: "Restock", aggregateId: "main", id: "r-1", user: "ops", roles: ["admin"], payload: { sku: "SKU-9", quantity: 5 } })).toMatchObject({ status: "accepted" });
    expect(await send({ type: "cart", command: "OpenCart", aggregateId: "b-3", id: "b3-1", user: "u-1" })).toMatchObject({ status: "accepted" });
    expect(await send({ type: "cart", command: "AddItem", aggregateId: "b-3", id: "b3-2", user: "u-1", payload: { sku: "SKU-9", quantity: 1, unitPrice: 100 } })).toMatchObject({ status: "accepted" });
    expect(await send({ type: "cart", command: "Checkout", aggregateId: "b-3", id: "b3-3", user: "u-1" })).toMatchObject({ status: "accepted" });

    // Act: the cart's fourth command is the process manager's ConfirmCheckout
    await expect
      .poll(async () => {
        await open("#/commands?key=cart:b-3&seq=4");
        await page.reload();
        return page.getByTestId("outcome").textContent({ timeout: 2_000 }).catch(() => "");
      }, { timeout: 30_000 })
      .toContain("accepted");
    const chain = await page.getByTestId("chain").locator("text.title").allTextContents();
    await shoot("chain");

    // Assess
    expect(await page.getByTestId("outcome").textContent()).toContain("ConfirmCheckout on cart:b-3");
    expect(chain).toEqual(["cart.Checkout", "inventory.ReserveStock", "StockReserved", "cart.ConfirmCheckout"]);
  });

  it("shows a parked batch with its error and redrives it from the page", async () => {
    // Prepare: open-carts fails on the next cart's events, and parks them after one retry
    openCartsFails = true;
    expect(await sendThroughForm("OpenCart", "b-2")).toContain("accepted");
    await open("#/failures");
    const row = page.locator("tr[data-queue=open-carts-failures]");
    await expect.poll(() => row.locator("td:nth-child(3)").textContent(), { timeout: 30_000 }).toBe("1");
    const error = await row.locator(".error").textContent();
    await shoot("failures");

    // Act
    openCartsFails = false;
    await row.getByRole("button", { name: "Redrive" }).click();
    await expect.poll(() => row.locator("td:nth-child(3)").textContent(), { timeout: 15_000 }).toBe("0");
    const said = await row.locator("small").textContent();

    // Assess
    expect(error).toContain("open-carts is failing on purpose");
    expect(said).toContain("moved 1");
    const openCarts = (await fetch(`${stack.url}/carts?status=open`).then((r) => r.json())) as { carts: { cartId: string }[] };
    expect(openCarts.carts.map((c) => c.cartId)).toContain("b-2");
  });

  it("starts a rebuild from the page and follows it to its end", async () => {
    // Act
    const row = await startRebuildFromPage("cart-summary");
    await expect.poll(() => row.locator("td.state").textContent(), { timeout: 60_000 }).toContain("done");
    await shoot("replays");

    // Assess
    expect(await row.locator("progress").getAttribute("value")).toBe("100");
    expect(await row.locator("td:nth-child(5)").textContent()).toMatch(/^(\d+)\/\1$/);
  });
});

describe("the console's replays, cancelled", () => {
  it("cancels a running rebuild from the page; the serving read models stay", async () => {
    // Prepare: archive reads slowed, so the rebuild is still sending when it is cancelled
    slowArchive = true;
    const row = await startRebuildFromPage("open-carts");

    // Act
    await row.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => row.locator("td.state").textContent(), { timeout: 20_000 }).toContain("cancelled");
    slowArchive = false;
    await page.screenshot({ path: `${SHOTS}/replays-cancelled.png`, fullPage: true });

    // Assess: no Cancel on an ended job, and open-carts still answers from its serving generation
    expect(await row.getByRole("button", { name: "Cancel" }).count()).toBe(0);
    const openCarts = (await fetch(`${stack.url}/carts?status=open`).then((r) => r.json())) as { carts: { cartId: string }[] };
    expect(openCarts.carts.map((c) => c.cartId)).toEqual(expect.arrayContaining(["b-1", "b-2"]));
  });
});

describe("the console's pipeline after that traffic", () => {
  it("counts the commands and outcomes it saw", async () => {
    // Act
    await open("#/pipeline");
    await expect.poll(async () => page.getByTestId("totals").textContent(), { timeout: 10_000 }).toMatch(/^[1-9]\d* commands in/);
    await page.waitForTimeout(2_500); // two more polls, so the lag chart has points
    const totals = (await page.getByTestId("totals").textContent()) ?? "";
    await shoot("pipeline-after");

    // Assess: at least the commands these tests sent (the refused one never reached the table)
    const [commands, accepted] = [...totals.matchAll(/(\d+)/g)].map((m) => Number(m[1]));
    expect(commands).toBeGreaterThanOrEqual(9);
    expect(accepted).toBeGreaterThanOrEqual(9);
    expect(await page.getByTestId("lag-chart").locator("canvas").count()).toBeGreaterThan(0);
  });
});

describe("the console on a stack with --auth", () => {
  const settings: JwtSettings = { secret: "browser-secret-not-for-production", audience: "ordinal-browser", issuer: "https://idp.browser.test/" };
  let secured: LocalStack;
  beforeAll(async () => {
    secured = await startStack({ app: referenceApp, port: 0, jwt: settings });
  });
  afterAll(async () => {
    if (secured) await stopLocalStack(secured);
  });

  it("asks for a token, sends it, and shows admin actions only to the admin role", async () => {
    // Act
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(`${secured.url}/console/#/pipeline`);
    const asked = await tab.getByTestId("signin").textContent();
    await tab.locator("input[name=token]").fill(await mintToken(settings, { sub: "alice" }));
    await tab.getByRole("button", { name: "Use token" }).click();
    await expect.poll(() => tab.getByTestId("who").textContent()).toContain("alice");
    const shopperNav = await tab.locator("header nav a").allTextContents();
    await tab.goto(`${secured.url}/console/#/replays`);
    const shopperReplays = await tab.locator("main").textContent();
    await tab.goto(`${secured.url}/console/#/send`);
    await tab.getByTestId("command-form").locator("select[name=microservice]").selectOption("inventory");
    const shopperInventory = await tab.getByTestId("command-form").locator("select[name=command] option").allTextContents();
    await tab.screenshot({ path: `${SHOTS}/auth-shopper.png`, fullPage: true });
    await tab.locator("input[name=token]").fill(await mintToken(settings, { sub: "ops", roles: ["admin"] }));
    await tab.getByRole("button", { name: "Use token" }).click();
    await expect.poll(() => tab.getByTestId("who").textContent()).toContain("ops");
    const adminNav = await tab.locator("header nav a").allTextContents();
    await tab.goto(`${secured.url}/console/#/pipeline`);
    await expect.poll(() => tab.getByTestId("consumers").locator("tbody tr").count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await tab.screenshot({ path: `${SHOTS}/auth-admin.png`, fullPage: true });
    await context.close();

    // Assess
    expect(asked).toContain("Sign in");
    expect(shopperNav).toEqual(["Pipeline", "Streams", "Commands", "Send a command"]);
    expect(shopperReplays).toContain("needs the admin role");
    // The form offers no command the API would refuse this caller: Restock needs service or admin.
    expect(shopperInventory.some((c) => c.startsWith("Restock"))).toBe(false);
    expect(adminNav).toEqual(["Pipeline", "Streams", "Commands", "Send a command", "Failures", "Replays"]);
  });
});
