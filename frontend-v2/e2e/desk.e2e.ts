/**
 * The whole desk in a browser: a real `signaldesk serve` (simulated market at 600x, fixed seed,
 * predictor not started), the built app from dist/, Debian's Chromium driven by playwright-core.
 *
 * Open the page and see every stream live; start the predictor from the UI and see predictions
 * made and resolved; candles on the market view; paper trading (start, an entry, flatten with
 * its confirmation) when the server has the trading engine, and its record on the performance view
 * with the trade book downloaded as CSV; a halt and a resume from the CLI seen
 * in two pages at once; reload and see no duplicated row;
 * restart the server and see every stream resume and the desk go on; restart it on a new log and
 * see every channel reset and reload. A screenshot of every view is saved in test-artifacts/.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SignaldeskServer } from "../test/support/server";
import { CHROMIUM, launchChromium } from "./chromium";

const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
const DIST = fileURLToPath(new URL("../dist/index.html", import.meta.url));
const STREAMS = ["prediction", "automation", "training", "hft", "market"] as const;

let server: SignaldeskServer;
let context: BrowserContext;
let page: Page;
let profile: string;
const consoleErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function go(view: string): Promise<void> {
  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: view, exact: true }).click();
  await page.waitForURL(`**/${view.toLowerCase()}`);
}

/** The status every stream shows in the header, e.g. {prediction: "live", ...}. */
async function links(): Promise<Record<string, string>> {
  return page.$$eval("[data-stream]", (items) =>
    Object.fromEntries(items.map((li) => [(li as HTMLElement).dataset.stream, (li as HTMLElement).dataset.status])),
  );
}

async function waitForLinks(accept: (status: string, stream: string) => boolean, what: string, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout;
  let last: Record<string, string> = {};
  while (Date.now() < deadline) {
    last = await links();
    if (STREAMS.every((s) => last[s] !== undefined && accept(last[s]!, s))) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`timed out waiting for ${what}; the header says ${JSON.stringify(last)}`);
}

/** The `attr` of every row of a table (by test id): e.g. prediction ids. */
async function rowIds(testId: string, attr: string): Promise<string[]> {
  return page.$$eval(`[data-testid="${testId}"] tbody tr[${attr}]`, (rows, a) => rows.map((r) => r.getAttribute(a)!), attr);
}

async function rest(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${server.http}${path}`, init);
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build the app first (npm run build; make test does)`);
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (make test does)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await SignaldeskServer.start({
    env: {
      SIGNALDESK_MARKET_SPEED: "600",
      SIGNALDESK_MARKET_SEED: "20250214",
      // The market goes on while the server is down, as a real one does: a restart finds it
      // where the wall clock puts it, not back at the session's open (where the resumed
      // predictor would wait for the bars it has already seen).
      SIGNALDESK_MARKET_ANCHOR: String(Date.now() / 1000),
      SIGNALDESK_PREDICTOR_AUTOSTART: "false",
      SIGNALDESK_HEARTBEAT_INTERVAL: "5",
      // Paper trading enters on any calibrated prediction here, so that an entry comes quickly.
      SIGNALDESK_HFT_MIN_CALIBRATION_N: "0",
      SIGNALDESK_HFT_MIN_HIT_RATE: "0",
      SIGNALDESK_HFT_COST_MULTIPLE: "0",
      SIGNALDESK_HFT_SKILL_GATE: "false", // the desk trades the random walk: the gate has its own tests
      // A random walk can lose the day's limit within the test; a halt it caused would refuse the
      // CLI's resume. The limit has its own tests (tests/trading/).
      SIGNALDESK_HFT_MAX_DAILY_LOSS: "1000000000",
    },
  });
  const schedule = await rest("/api/automation/schedules", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "nightly prune", kind: "prune", params: {}, cron: "30 15 * * 1-5" }),
  });
  if (schedule.status !== 201) throw new Error(`POST /api/automation/schedules: ${schedule.status} ${await schedule.text()}`);
  profile = mkdtempSync(join(tmpdir(), "signaldesk-chromium-"));
  context = await launchChromium(profile);
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
});

afterAll(async () => {
  await context?.close();
  await server?.dispose();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe("the desk in a browser", () => {
  test("the page opens and every stream goes live", async () => {
    await page.goto(`${server.http}/`);
    await waitForLinks((s) => s === "live", "every stream live");
    await expect(page.getByTestId("predictor-state").textContent()).resolves.toBe("stopped");
    await page.getByLabel("RELIANCE").waitFor();
    await shot("01-connection");
  });

  test("starting the predictor from the UI: predictions arrive, then resolve", async () => {
    await page.getByLabel("Horizons (bars)").fill("1, 3");
    await page.getByRole("button", { name: "Start predictor" }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="predictor-state"]')?.textContent === "running");
    await page.waitForSelector('[data-testid="latest-predictions"] tbody tr[data-prediction-id]');
    await page.waitForSelector('[data-testid="resolved-predictions"] tbody tr[data-prediction-id]', { timeout: 20_000 });
    const latest = await rowIds("latest-predictions", "data-prediction-id");
    expect(latest).toHaveLength(10); // five instruments x two horizons
    expect(new Set(latest).size).toBe(latest.length);
    const status = (await (await rest("/api/predictor/status")).json()) as { cfg: { horizons: number[] } };
    expect(status.cfg.horizons).toEqual([1, 3]);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="calibration"] tbody tr').length >= 10);
    await shot("02-predictor");
  });

  test("the market view draws candles with prediction markers", async () => {
    await go("Market");
    await page.getByRole("img", { name: /Candles of RELIANCE/ }).waitFor();
    await page.waitForFunction(() => /\d{2,} bars of RELIANCE/.test(document.querySelector('[data-testid="market-summary"]')?.textContent ?? ""));
    await page.getByRole("button", { name: "TCS" }).click();
    await page.getByRole("img", { name: /Candles of TCS/ }).waitFor();
    await shot("03-market");
  });

  test("paper trading: start from the UI, an entry, flatten with a confirmation", async () => {
    expect((await rest("/api/hft/status")).status).toBe(200);
    await go("Trading");
    await page.getByRole("button", { name: "Start trading", exact: true }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="engine-state"]')?.textContent === "running");
    await expect(page.getByTestId("trading-mode").textContent()).resolves.toContain("PAPER");
    await page.waitForSelector('[data-testid="open-trades"] tbody tr[data-trade-id], [data-testid="closed-trades"] tbody tr[data-trade-id]', {
      timeout: 45_000,
    });
    await shot("04-trading");
    await page.getByRole("button", { name: "Flatten", exact: true }).click();
    await page.getByRole("alertdialog").waitFor();
    await page.getByRole("button", { name: "Flatten all positions" }).click();
    await page.getByText(/Last flatten at/).waitFor({ timeout: 20_000 });
    await shot("05-trading-flattened");
  });

  test("performance: the record's metrics, equity and drawdown, daily PnL, per instrument; the trade book as CSV", async () => {
    await go("Performance");
    await page.waitForSelector('[data-testid="by-instrument"] tbody tr[data-instrument]', { timeout: 20_000 });
    const metrics = await page.getByTestId("performance-metrics").textContent();
    expect(metrics).toMatch(/Trades \(won \/ lost\)[1-9]/);
    await page.getByRole("img", { name: "Equity: capital, realized and open PnL" }).waitFor();
    await page.waitForSelector('[data-testid="daily-pnl"] tbody tr[data-day]');
    await shot("05c-performance");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download trades CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("trades.csv");
    const [header, ...rows] = readFileSync(await download.path(), "utf8").trim().split("\n");
    expect(header!.split(",")).toEqual(expect.arrayContaining(["trade_id", "pnl", "entry_time_ist", "entry_time_utc", "brokerage", "stt", "stamp"]));
    expect(rows.length).toBeGreaterThan(0);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId("performance-metrics").waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(1);
    await shot("phone-performance");
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  test("a halt from the CLI shows as halted in two open pages, a resume likewise, pushed: no reload, no status read", async () => {
    if ((await (await rest("/api/hft/status")).json()).state !== "running") await server.cli("hft", "start");
    await go("Trading");
    const second = await context.newPage();
    try {
      await second.goto(`${server.http}/trading`);
      const pages = [page, second];
      const statusReads: string[] = [];
      for (const [i, p] of pages.entries()) {
        await p.waitForFunction(() => document.querySelector('[data-testid="engine-state"]')?.textContent === "running");
        await p.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));
        p.on("request", (r) => {
          if (new URL(r.url()).pathname === "/api/hft/status") statusReads.push(`page ${i + 1}`);
        });
      }
      /** Every page shows `state` (and `reason`, or none) after the CLI's answer. The pages are
       * also drawing a 600x market, so the wait allows a loaded machine; a push takes well under
       * a second on a quiet one. Timings belong in benchmarks, not here. */
      const shown = async (state: string, reason: string | null) => {
        await Promise.all(
          pages.map((p) =>
            p.waitForFunction(
              ([s, r]) =>
                document.querySelector('[data-testid="engine-state"]')?.textContent === s &&
                (document.querySelector('[data-testid="halted-reason"]')?.textContent ?? null) === r,
              [state, reason] as const,
              { timeout: 5_000 },
            ),
          ),
        );
      };

      await server.cli("hft", "halt", "--reason", "e2e: halted from the CLI");
      await shown("halted", "Halted: e2e: halted from the CLI");
      await Promise.all(pages.map((p) => p.getByRole("button", { name: "Resume entries" }).waitFor({ timeout: 5_000 })));
      await shot("05b-trading-halted");

      await server.cli("hft", "resume");
      await shown("running", null);
      for (const p of pages) expect(await p.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
      expect(statusReads).toEqual([]); // the pages followed hft.state; none asked for the status again
    } finally {
      await second.close();
    }
  });

  test("training: start a job from the UI; it runs to a result or an error, live", async () => {
    await go("Training");
    await page.getByLabel("Kind").selectOption("ridge");
    await page.getByLabel("Instrument").selectOption({ label: "RELIANCE" });
    await page.getByRole("button", { name: "Start training" }).click();
    const row = page.locator('[data-testid="training-jobs"] tbody tr[data-job-id]').first();
    await row.waitFor({ timeout: 20_000 });
    await row.locator(".badge-succeeded, .badge-failed").waitFor({ timeout: 40_000 });
    const text = await row.innerText();
    expect(text).toMatch(/result|error|failed|not promoted|promoted/i);
    await shot("06-training");
  });

  test("automation: start a run from the UI; edit a schedule's cron and switch it off", async () => {
    await go("Automation");
    await page.getByLabel("Kind").selectOption("evaluate");
    await page.getByRole("button", { name: "Start run" }).click();
    const run = page.locator('[data-testid="automation-runs"] tbody tr[data-job-id]').first();
    await run.locator(".badge-succeeded, .badge-failed").waitFor({ timeout: 40_000 });
    const cron = page.getByLabel("Cron of nightly prune");
    await cron.fill("45 15 * * 1-5");
    await page.locator("tr[data-schedule-id]").getByRole("button", { name: "Save" }).click();
    await page.locator("tr[data-schedule-id]").getByLabel("enabled").uncheck();
    const read = async () => ((await (await rest("/api/automation/schedules")).json()) as { schedules: { cron: string; enabled: boolean }[] }).schedules[0]!;
    await expect.poll(read, { timeout: 10_000 }).toMatchObject({ cron: "45 15 * * 1-5", enabled: false });
    // the schedules reread after the edit
    await expect.poll(() => page.locator("tr[data-schedule-id]").getByLabel("enabled").isChecked(), { timeout: 10_000 }).toBe(false);
    await shot("07-automation");
  });

  test("the events view: raw envelopes, filtered by type, paused", async () => {
    await go("Events");
    await page.waitForSelector('[data-testid="envelopes"] li[data-event-id]');
    await page.getByLabel("prediction.resolved").check();
    const types = await page.$$eval('[data-testid="envelopes"] li code', (els) => [...new Set(els.map((e) => e.textContent))]);
    expect(types).toEqual(["prediction.resolved"]);
    await page.getByRole("button", { name: "Pause" }).click();
    await shot("08-events");
    await page.getByRole("button", { name: /Resume/ }).click();
  });

  test("on a phone-sized screen the views fit the width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const view of ["Predictor", "Market", "Trading"]) {
      await go(view);
      await page.waitForSelector(`main[data-view="/${view.toLowerCase()}"] > h1 + *`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, view).toBeLessThanOrEqual(1);
      await shot(`phone-${view.toLowerCase()}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  test("a reload shows every row once", async () => {
    await page.reload();
    await waitForLinks((s) => s === "live", "every stream live after the reload");
    await go("Predictor");
    await page.waitForSelector('[data-testid="resolved-predictions"] tbody tr[data-prediction-id]');
    // Live events on top of the reloaded state: wait for a prediction newer than any the reload showed.
    const reloaded = Math.max(...(await rowIds("latest-predictions", "data-prediction-id")).map(Number));
    await page.waitForFunction(
      (seen) => [...document.querySelectorAll('[data-testid="latest-predictions"] tbody tr[data-prediction-id]')].some((r) => Number(r.getAttribute("data-prediction-id")) > seen),
      reloaded,
      { timeout: 20_000 },
    );
    for (const [table, attr] of [
      ["latest-predictions", "data-prediction-id"],
      ["resolved-predictions", "data-prediction-id"],
      ["calibration", "data-prediction-id"],
    ] as const) {
      const ids = await rowIds(table, attr);
      expect(new Set(ids).size, table).toBe(ids.length);
    }
    const calibration = await page.$$eval('[data-testid="calibration"] tbody tr', (rows) => rows.map((r) => r.textContent));
    expect(new Set(calibration).size).toBe(calibration.length);
    await go("Events");
    const events = await page.$$eval('[data-testid="envelopes"] li[data-event-id]', (li) => li.map((l) => l.getAttribute("data-event-id")));
    expect(new Set(events).size).toBe(events.length);
    await go("Trading");
    for (const table of ["open-trades", "closed-trades"]) {
      const ids = await rowIds(table, "data-trade-id");
      expect(new Set(ids).size, table).toBe(ids.length);
    }
    await go("Predictor");
  });

  test("after a server restart every stream resumes and the desk goes on", async () => {
    await server.stop();
    await waitForLinks((s) => s === "reconnecting" || s === "connecting", "every stream reconnecting");
    await shot("09-reconnecting");
    const before = await rowIds("latest-predictions", "data-prediction-id"); // nothing can arrive now
    await server.start();
    await waitForLinks((s, stream) => (stream === "market" ? s === "live" : s === "resumed"), "channels resumed, market live", 30_000);
    // The predictor was on when the server stopped: the restarted server resumes it by itself
    // (no autostart here), and the resumed desk says so.
    await page.waitForFunction(() => document.querySelector('[data-testid="predictor-state"]')?.textContent === "running");
    // New predictions (ids above every one made before the restart) are made and resolved.
    for (const table of ["latest-predictions", "resolved-predictions"]) {
      await page.waitForFunction(
        ([t, old]) =>
          [...document.querySelectorAll(`[data-testid="${t}"] tbody tr[data-prediction-id]`)].some(
            (r) => Number(r.getAttribute("data-prediction-id")) > Math.max(...old.map(Number)),
          ),
        [table, before] as const,
        { timeout: 20_000 },
      );
      const ids = await rowIds(table, "data-prediction-id");
      expect(new Set(ids).size, table).toBe(ids.length);
    }
    await shot("10-resumed");
    await go("Market");
    const summary = () => page.getByTestId("market-summary").textContent();
    const first = await summary();
    await page.waitForFunction((old) => document.querySelector('[data-testid="market-summary"]')?.textContent !== old, first);
  });

  test("a server that needs a token: the page asks for it, refuses a wrong one, then opens", async () => {
    const token = "e2e-token-0123456789abcdef";
    const guarded = await SignaldeskServer.start({ token, env: { SIGNALDESK_MARKET_SPEED: "600", SIGNALDESK_PREDICTOR_AUTOSTART: "false" } });
    const tab = await context.newPage();
    try {
      await tab.goto(`${guarded.http}/`);
      await tab.getByLabel("API token").fill("not-the-token-000000000");
      await tab.getByRole("button", { name: "Open the desk" }).click();
      await tab.getByText("that token was refused").waitFor();
      await tab.getByLabel("API token").fill(token);
      await tab.getByRole("button", { name: "Open the desk" }).click();
      await tab.waitForFunction(() => [...document.querySelectorAll("[data-stream]")].every((li) => (li as HTMLElement).dataset.status === "live"));
      await tab.reload(); // the token is remembered by this browser
      await tab.waitForFunction(() => [...document.querySelectorAll("[data-stream]")].every((li) => (li as HTMLElement).dataset.status === "live"));
      await tab.screenshot({ path: join(ARTIFACTS, "12-token.png") });
    } finally {
      await tab.close();
      await guarded.dispose();
    }
  });

  test("a server with a new event log: every channel resets and reloads its state", async () => {
    await go("Predictor");
    await server.stop();
    server.wipe(); // the event log and the databases: a new epoch
    await server.start();
    await waitForLinks((s) => s === "live", "every stream live again", 30_000);
    const resets = await page.$$eval("[data-stream]", (li) => li.map((l) => `${(l as HTMLElement).dataset.stream}:${(l as HTMLElement).dataset.resets}`));
    expect(resets).toEqual(["prediction:1", "automation:1", "training:1", "hft:1", "market:0"]);
    // The reloaded state is the new server's: no predictions, the predictor stopped.
    await page.waitForFunction(() => document.querySelector('[data-testid="predictor-state"]')?.textContent === "stopped");
    expect(await rowIds("latest-predictions", "data-prediction-id")).toEqual([]);
    await shot("11-reset-reloaded");
    expect(consoleErrors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e))).toEqual([]);
  });
});
