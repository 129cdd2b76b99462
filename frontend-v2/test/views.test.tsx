// @vitest-environment happy-dom
/**
 * The views on a desk whose state the test sets: tables without duplicate rows, the predictor's
 * start form, destructive trading actions behind a confirmation, the inspector's filter and
 * pause, the connection bar, the token entry. Charts (canvas) are stubbed.
 */
import { act, cleanup, fireEvent, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { type DeskState } from "../src/app/desk";
import { applyBars, applyStatus } from "../src/state/market";
import { applyPredictionEvent, loadPredictions } from "../src/state/prediction";
import { recordEnvelopes } from "../src/state/inspector";
import { applyHaltAnswer, applyHftEvent, loadTrading } from "../src/state/trading";
import { linkOn } from "../src/state/connection";
import { renderDeskAt } from "./support/desk";
import { bars, created, hft, marketStatus, RELIANCE, resolved, TCS } from "./support/events";

vi.mock("../src/components/Charts", () => ({
  CandleChart: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
  LineChart: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
  COLORS: { up: "g", down: "r", text: "t", grid: "x", accent: "a", amber: "y" },
}));

let posts: { path: string; body: unknown }[] = [];

function renderDesk(path: string, change: (s: DeskState) => DeskState, answer: unknown = { closed: 1 }) {
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    posts.push({ path: String(input), body: init?.body ? JSON.parse(String(init.body)) : undefined });
    return new Response(JSON.stringify(answer), { status: 200 });
  }) as typeof globalThis.fetch;
  return renderDeskAt(path, change, fetch);
}

beforeEach(() => {
  posts = [];
});
afterEach(() => cleanup());

describe("predictor view", () => {
  test("latest and resolved predictions: one row per prediction, even after a reload merges the same rows again", () => {
    renderDesk("/predictor", (s) => {
      let p = [created(1, 1), created(2, 2, { instrument_key: TCS }), resolved(3, 1, 0.002)].reduce(applyPredictionEvent, s.prediction);
      const rows = Object.values(p.rows).map((r) => ({ ...r }));
      p = loadPredictions(p, { status: null, predictions: rows, calibration: [] }, 3); // the reload's REST answer
      return { ...s, prediction: p, market: applyBars(s.market, bars(0, { [RELIANCE]: 100, [TCS]: 200 })) };
    });
    const latest = screen.getByTestId("latest-predictions");
    const ids = within(latest).getAllByRole("row").slice(1).map((r) => r.getAttribute("data-prediction-id"));
    expect(ids.sort()).toEqual(["1", "2"]);
    const resolvedRows = within(screen.getByTestId("resolved-predictions")).getAllByRole("row").slice(1);
    expect(resolvedRows.map((r) => r.getAttribute("data-prediction-id"))).toEqual(["1"]);
    expect(resolvedRows[0]!.textContent).toContain("+20.0 bp"); // actual_ret 0.002
  });

  test("start posts the chosen instruments and the cfg", async () => {
    renderDesk("/predictor", (s) => ({ ...s, market: applyBars({ ...s.market, interval: "1m" }, bars(0, { [RELIANCE]: 100, [TCS]: 200 })) }));
    fireEvent.click(screen.getByLabelText("TCS"));
    fireEvent.change(screen.getByLabelText("Horizons (bars)"), { target: { value: "1, 3" } });
    fireEvent.change(screen.getByLabelText("Model"), { target: { value: "ewma" } });
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Start predictor" }));
    });
    expect(posts.at(-1)).toEqual({
      path: "/api/predictor/start",
      body: { instruments: [RELIANCE], cfg: { interval: "1m", horizons: [1, 3], model_kind: "ewma", calib_halflife: 100, min_history: 3 } },
    });
  });
});

describe("predictor evaluation", () => {
  const evaluation = {
    interval: "1m",
    model_kind: "ridge",
    horizon_steps: 5,
    n: 400,
    anchors: 80,
    ic_anchors: 80,
    ic_mean: 0.04321,
    ic_std: 0.2,
    ic_ir: 0.21605,
    rank_ic_mean: 0.05,
    rank_ic_std: 0.21,
    rank_ic_ir: 0.238,
    pooled_ic: 0.031,
    pooled_rank_ic: 0.03,
    dm_sq_stat: -2.5,
    dm_sq_p: 0.0143,
    dm_abs_stat: null,
    dm_abs_p: null,
    mase_zero: 0.98,
    mase_persistence: 0.7,
    long_short_anchors: 80,
    long_short_gross: 0.0012,
    long_short_net: 0.0002,
    deciles: Array.from({ length: 10 }, (_, i) => ({ decile: i + 1, n: 40, mean_pred: 0, mean_actual: (i - 5) / 10_000, hit_rate: 0.5 })),
  };

  test("evaluate asks for the window in IST and shows each figure, – where there is none, and the deciles", async () => {
    renderDesk("/predictor", (s) => s, { round_trip_cost: 0.0005, evaluations: [evaluation] });
    expect(within(screen.getByTestId("evaluation")).getByText("Not evaluated yet.")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("From (IST)"), { target: { value: "2026-02-02T09:15" } });
    fireEvent.change(screen.getByLabelText("To (IST)"), { target: { value: "2026-02-02T15:30" } });
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Evaluate" }));
    });
    expect(posts.at(-1)!.path).toBe("/api/predictor/evaluation?from=1770003900&to=1770026400");
    const row = within(screen.getByTestId("evaluation")).getAllByRole("row")[1]!;
    const cells = within(row).getAllByRole("cell").map((c) => c.textContent);
    expect(cells).toEqual(["5", "400", "0.0432", "0.216", "0.05", "0.031", "-2.5 (0.014)", "– (–)", "0.98", "0.7", "+12.0 bp", "+2.0 bp"]);
    const deciles = within(screen.getByTestId("reliability")).getAllByRole("row")[1]!;
    expect(within(deciles).getAllByRole("cell").at(-1)!.textContent).toBe("50.0% +4.0 bp");
    expect(screen.getByText(/net of \+10\.0 bp round trips/)).toBeTruthy();
  });

  test("a refused window shows the server's reason", async () => {
    const detail = [{ loc: ["query", "from"], msg: "from (2) is after to (1)", input: 2 }];
    const fetch = (async () => new Response(JSON.stringify({ detail }), { status: 422 })) as typeof globalThis.fetch;
    renderDeskAt("/predictor", (s) => s, fetch);
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Evaluate" }));
    });
    expect(screen.getByRole("alert").textContent).toContain("query.from: from (2) is after to (1)");
  });
});

describe("predictor view: the skill gate", () => {
  const pair = (key: string, h: number, state: string, p: number | null, first: number | null) => ({
    instrument_key: key,
    interval: "1m",
    horizon_steps: h,
    model_kind: "ridge",
    state,
    n: 120,
    hits: 80,
    n_eff: 24,
    hits_eff: 16,
    hit_rate: 0.667,
    chance_rate: 0.5,
    p_value: p,
    since: 1_767_225_600,
    first_skilled: first,
    spells: first === null ? 0 : 1,
    skilled_resolutions: first === null ? 0 : 40,
  });

  test("marks the tradable pairs and says why the others are not, from the engine's status", async () => {
    const status = {
      state: "running",
      skipped: { no_skill: 7, skill_untested: 3 },
      skill: [pair(RELIANCE, 5, "skilled", 0.012, 1_767_225_600), pair(TCS, 5, "no_skill", 0.31, null), pair(TCS, 15, "untested", null, null)],
    };
    renderDesk("/predictor", (s) => s, status);
    const table = await screen.findByTestId("skill");
    await within(table).findByText(/hits beat chance/);
    const rows = within(table).getAllByRole("row");
    const verdicts = rows.slice(1).map((r) => [r.getAttribute("data-skill"), r.textContent]);
    expect(verdicts.map(([state]) => state)).toEqual(["skilled", "no_skill", "untested"]);
    expect(verdicts[0]![1]).toContain("tradable: hits beat chance (p = 0.012)");
    expect(verdicts[1]![1]).toContain("not tradable: no skill (p = 0.31)");
    expect(verdicts[2]![1]).toContain("not tradable: untested (120 resolutions so far)");
    expect(screen.getByText(/held back so far: 7 no skill, 3 untested/)).toBeTruthy();
    expect(posts.some((p) => p.path.endsWith("/api/hft/status"))).toBe(true);
  });
});

describe("trading view", () => {
  const trading = (s: DeskState) => {
    const events = [
      hft(1, "hft.start", { broker: "paper", safe_mode: true, live_trading_enabled: false }),
      hft(2, "hft.entry", { trade_id: 5, instrument_key: RELIANCE, qty: 10, entry: 100 }),
      hft(3, "hft.trade_risk", { trade_id: 5, stop: 98, target: 104 }),
      hft(4, "hft.error", { error: "order rejected: margin" }),
    ];
    return { ...s, trading: events.reduce((t, e) => applyHftEvent(t, e), s.trading), market: applyBars(s.market, bars(0, { [RELIANCE]: 101 })) };
  };

  test("mode, engine, open trade with stop and target, open PnL, errors", () => {
    renderDesk("/trading", trading);
    expect(screen.getByTestId("trading-mode").textContent).toContain("PAPER");
    expect(screen.getByTestId("engine-state").textContent).toBe("running");
    const row = within(screen.getByTestId("open-trades")).getAllByRole("row")[1]!;
    expect(row.getAttribute("data-trade-id")).toBe("5");
    expect(row.textContent).toContain("₹98.00");
    expect(row.textContent).toContain("₹104.00");
    expect(screen.getByTestId("pnl-open").textContent).toBe("+₹10.00");
    expect(screen.getByTestId("trading-errors").textContent).toContain("order rejected: margin");
  });

  test("live trading without safe mode is shouted in the header", () => {
    renderDesk("/trading", (s) => ({
      ...s,
      trading: applyHftEvent(s.trading, hft(1, "hft.start", { broker: "upstox", safe_mode: false, live_trading_enabled: true })),
    }));
    expect(screen.getByTestId("trading-mode").textContent).toContain("LIVE: real orders");
    expect(screen.getAllByText("LIVE TRADING").length).toBeGreaterThan(0);
  });

  test("flatten asks first: Escape cancels, confirming posts", async () => {
    renderDesk("/trading", trading);
    fireEvent.click(screen.getByRole("button", { name: "Flatten" }));
    const dialog = screen.getByRole("alertdialog");
    expect(document.activeElement).toBe(within(dialog).getByRole("button", { name: "Cancel" }));
    fireEvent.keyDown(dialog, { key: "Escape" });
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(posts).toEqual([]);
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Flatten" }));

    fireEvent.click(screen.getByRole("button", { name: "Flatten" }));
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Flatten all positions" }));
    });
    expect(posts.map((p) => p.path)).toContain("/api/hft/flatten");
  });

  test("stop flattens, so it asks first too", async () => {
    renderDesk("/trading", trading);
    fireEvent.click(screen.getByRole("button", { name: "Stop trading" }));
    expect(within(screen.getByRole("alertdialog")).getByText(/Flatten every open position/)).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Flatten and stop" }));
    });
    expect(posts.map((p) => p.path)).toEqual(["/api/hft/stop"]); // no status reread: hft.state follows on the stream
  });

  test("start sends the broker and safe mode", async () => {
    renderDesk("/trading", (s) => s);
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Start trading" }));
    });
    expect(posts[0]).toEqual({ path: "/api/hft/start", body: { broker: "paper", safe_mode: true } });
  });

  test("halt asks first and posts; the engine shows halted when hft.state says so, with its reason", async () => {
    const desk = renderDesk("/trading", trading);
    fireEvent.click(screen.getByRole("button", { name: "Halt" }));
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Halt the engine" }));
    });
    expect(posts.map((p) => p.path)).toEqual(["/api/hft/halt"]); // no status reread, no local patch
    expect(screen.getByTestId("engine-state").textContent).toBe("running");
    const payload = { broker: "paper", safe_mode: true, live_trading_enabled: false };
    const halted = hft(9, "hft.state", { ...payload, state: "halted", halted_reason: "halted by request" });
    act(() => desk.patch((s) => ({ ...s, trading: applyHftEvent(s.trading, halted) })));
    expect(screen.getByTestId("engine-state").textContent).toBe("halted");
    expect(screen.getByTestId("halted-reason").textContent).toBe("Halted: halted by request");
    expect(screen.getByRole("button", { name: "Resume entries" })).toBeTruthy();
  });

  test("halt with the broker kill switch: the checkbox, a confirmation that says it, the body, the status shown", async () => {
    const engaged = { engaged: true, at: 1_700_000_000, segments: ["NSE_EQ"] };
    renderDesk("/trading", trading, { state: "halted", broker_kill_switch: engaged });
    fireEvent.click(screen.getByRole("button", { name: "Halt" }));
    expect(within(screen.getByRole("alertdialog")).queryByText(/broker stops all trading/)).toBeNull(); // not asked for
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));

    fireEvent.click(screen.getByLabelText(/also the broker's kill switch/));
    fireEvent.click(screen.getByRole("button", { name: "Halt" }));
    expect(within(screen.getByRole("alertdialog")).getByText(/broker stops all trading in the traded segments/)).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Halt, flatten and engage the broker kill switch" }));
    });
    expect(posts).toEqual([{ path: "/api/hft/halt", body: { broker_kill_switch: true } }]);
    expect(screen.getByTestId("broker-kill-switch").textContent).toMatch(/^Broker kill switch ENGAGED at .*: NSE_EQ/);
  });

  test("where stops are held, and why broker stops are not in effect on paper", () => {
    const note = "SIGNALDESK_HFT_BROKER_STOPS is on, but the paper venue holds no stops: the engine watches each trade's stop";
    const withStatus = (status: Record<string, unknown>) => (s: DeskState) => {
      const t = trading(s);
      return { ...t, trading: loadTrading(t.trading, { status: { state: "running", ...status }, trades: [] }, 4) };
    };
    renderDesk("/trading", withStatus({ stops: "engine", stops_note: note }));
    expect(screen.getByTestId("stops-held").textContent).toBe(`Stops: watched by the engine. ${note}`);
    cleanup();
    renderDesk("/trading", withStatus({ stops: "broker" }));
    expect(screen.getByTestId("stops-held").textContent).toBe("Stops: held at the broker (SL-M orders)");
  });

  test("a plain halt sends no broker_kill_switch; the status says the broker's is not engaged", async () => {
    renderDesk("/trading", (s) => {
      const t = trading(s);
      return { ...t, trading: applyHaltAnswer(t.trading, { broker_kill_switch: { engaged: false, at: null, segments: [] } }) };
    });
    expect(screen.getByTestId("broker-kill-switch").textContent).toBe("Broker kill switch: not engaged");
    fireEvent.click(screen.getByRole("button", { name: "Halt" }));
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Halt the engine" }));
    });
    expect(posts).toEqual([{ path: "/api/hft/halt", body: {} }]);
  });
});

describe("closed trades", () => {
  test("each shows the cost model's estimate of its charges beside the broker's own figure (– while not known)", () => {
    const closed = { instrument_key: RELIANCE, qty: 10, entry: 100, exit: 104, pnl: 20, status: "closed", reason: "target" };
    renderDesk("/trading", (s) => ({
      ...s,
      trading: loadTrading(
        s.trading,
        {
          status: { state: "running", broker: "upstox" },
          trades: [
            { ...closed, trade_id: 7, charges: 40.12, broker_charges: 41.37 },
            { ...closed, trade_id: 6, charges: 40.12, broker_charges: null },
          ],
        },
        0,
      ),
    }));
    const [live, unknown] = within(screen.getByTestId("closed-trades")).getAllByRole("row").slice(1);
    expect(live!.getAttribute("data-trade-id")).toBe("7");
    expect(within(live!).getByTestId("charges-estimate").textContent).toBe("₹40.12");
    expect(within(live!).getByTestId("charges-broker").textContent).toBe("₹41.37");
    expect(within(unknown!).getByTestId("charges-estimate").textContent).toBe("₹40.12");
    expect(within(unknown!).getByTestId("charges-broker").textContent).toBe("–");
  });
});

describe("performance view", () => {
  const group = (key: string, net: number) => ({
    key,
    trades: 2,
    wins: 1,
    win_rate: 0.5,
    net_pnl: net,
    gross_pnl: net + 40,
    charges: 40,
    profit_factor: 1.5,
    expectancy: net / 2,
  });
  const perf = {
    capital: 1_000_000,
    start_ts: 1_772_422_560,
    end_ts: 1_772_422_680,
    sessions: 1,
    trades: 2,
    open_trades: 0,
    wins: 1,
    losses: 1,
    win_rate: 0.5,
    net_pnl: 150,
    gross_pnl: 190,
    charges: 40,
    broker_charges: null,
    charges_by_kind: { brokerage: 20, stt: 10, exchange: 3, sebi: 1, gst: 4, stamp: 2 },
    open_pnl: 0,
    total_return: 0.00015,
    cagr: null,
    sharpe: null,
    sortino: null,
    calmar: null,
    profit_factor: 4,
    expectancy: 75,
    avg_win: 200,
    avg_loss: -50,
    longest_win_streak: 1,
    longest_loss_streak: 1,
    exposure: 0.5,
    turnover: 400_000,
    turnover_ratio: 0.4,
    max_drawdown: { amount: 50, pct: 0.005, start_ts: 1_772_422_620, trough_ts: 1_772_422_680, recovery_ts: null, recovery_seconds: null },
    unavailable: { sharpe: "one day", sortino: "one day", cagr: "one day", calmar: "one day", broker_charges: "not every fill's broker figure is known" },
    by_instrument: [group(RELIANCE, 150)],
    by_horizon: [group("5", 150)],
    by_exit_reason: [group("target", 150)],
    daily: [{ day: "2026-03-02", pnl: 150, ret: 0.00015, trades: 2, equity: 1_000_150 }],
    curve_ts: [1_772_422_560, 1_772_422_620, 1_772_422_680],
    equity: [1_000_000, 1_000_200, 1_000_150],
    drawdown: [0, 0, -50],
  };

  test("metrics (a missing one says why), charges by kind, equity and drawdown, daily PnL, per instrument; the range reloads", async () => {
    await act(async () => {
      renderDesk("/performance", (s) => s, perf);
    });
    expect(posts.at(-1)?.path).toBe("/api/hft/performance");
    const metrics = screen.getByTestId("performance-metrics");
    expect(metrics.textContent).toContain("Sharpe");
    expect(metrics.textContent).toContain("n/a (one day)");
    expect(metrics.textContent).toContain("4.00"); // the profit factor
    expect(screen.getByTestId("charges-by-kind").textContent).toContain("stt ₹10.00");
    expect(screen.getByRole("img", { name: "Equity: capital, realized and open PnL" })).toBeTruthy();
    expect(screen.getByRole("img", { name: "Drawdown below the running peak" })).toBeTruthy();
    const days = within(screen.getByTestId("daily-pnl")).getAllByRole("row").slice(1);
    expect(days.map((r) => r.getAttribute("data-day"))).toEqual(["2026-03-02"]);
    expect(days[0]!.textContent).toContain("+₹150.00");
    expect(within(screen.getByTestId("by-instrument")).getAllByRole("row")[1]!.textContent).toContain("RELIANCE");

    await act(async () => {
      fireEvent.change(screen.getByTestId("performance-from"), { target: { value: "2026-03-01" } });
    });
    await act(async () => {
      fireEvent.change(screen.getByTestId("performance-to"), { target: { value: "2026-03-06" } });
    });
    expect(posts.at(-1)?.path).toBe("/api/hft/performance?from=2026-03-01&to=2026-03-06");
  });

  test("the download buttons fetch the CSV books with the range", async () => {
    const saved: string[] = [];
    vi.spyOn(URL, "createObjectURL").mockImplementation(() => "blob:books");
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download);
    });
    await act(async () => {
      renderDesk("/performance", (s) => s, perf);
    });
    await act(async () => {
      fireEvent.change(screen.getByTestId("performance-from"), { target: { value: "2026-03-02" } });
    });
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Download trades CSV" }));
    });
    expect(posts.at(-1)?.path).toBe("/api/hft/trades.csv?from=2026-03-02&limit=100000");
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Download orders CSV" }));
    });
    expect(posts.at(-1)?.path).toBe("/api/hft/orders.csv?from=2026-03-02&limit=100000");
    expect(saved).toEqual(["trades.csv", "orders.csv"]);
    vi.restoreAllMocks();
  });
});

describe("events view", () => {
  test("filter by type and pause", () => {
    const desk = renderDesk("/events", (s) => ({
      ...s,
      inspector: recordEnvelopes(s.inspector, "prediction", [created(1, 1), resolved(2, 1, 0.001), created(3, 2)]),
    }));
    const ids = () => within(screen.getByTestId("envelopes")).getAllByRole("listitem").map((li) => li.getAttribute("data-event-id"));
    expect(ids()).toEqual(["3", "2", "1"]);
    fireEvent.click(screen.getByLabelText("prediction.resolved"));
    expect(ids()).toEqual(["2"]);
    fireEvent.click(screen.getByLabelText("prediction.resolved"));

    fireEvent.click(screen.getByRole("button", { name: "Pause" }));
    act(() => desk.patch((s) => ({ ...s, inspector: recordEnvelopes(s.inspector, "prediction", [created(4, 3)]) })));
    expect(ids()).toEqual(["3", "2", "1"]);
    fireEvent.click(screen.getByRole("button", { name: "Resume (1 new)" }));
    expect(ids()).toEqual(["4", "3", "2", "1"]);
  });
});

describe("shell", () => {
  test("the market source's status is in the header, its error in the tooltip; it follows market.status frames", () => {
    const desk = renderDesk("/market", (s) => ({ ...s, market: applyStatus(s.market, marketStatus()) }));
    const badge = () => screen.getByText(/^Upstox: /).closest(".market-status") as HTMLElement;
    expect(badge().textContent).toBe("Upstox: live: NSE_EQ NORMAL_OPEN");
    expect(badge().dataset.status).toBe("live");
    const error = "feed authorize: token expired or invalid: Invalid token used to access API (UDAPI100050) (HTTP 401)";
    act(() => desk.patch((s) => ({ ...s, market: applyStatus(s.market, marketStatus({ status: "token_expired", error, segment: null })) })));
    expect(badge().getAttribute("title")).toBe(error);
    expect(badge().className).toBe("market-status market-bad");
    expect(within(badge()).getByText("Upstox: token expired", { exact: false })).toBeTruthy();
  });

  test("no status yet: no badge", () => {
    renderDesk("/market", (s) => s);
    expect(screen.queryByText(/^Upstox: /)).toBeNull();
  });

  test("every stream's state is in the header; the views are keyboard links", () => {
    renderDesk("/market", (s) => ({
      ...s,
      connection: {
        ...s.connection,
        hft: linkOn(s.connection.hft, { kind: "disconnect", info: { code: 1012, reason: "", cause: "closed", retryIn: 500 } }),
        prediction: linkOn(s.connection.prediction, { kind: "ready", ready: { outcome: "reset", reason: "too_old", epoch: "e", headId: 1 }, loads: true }),
      },
    }));
    const bar = screen.getByRole("status", { name: "Connection per stream" });
    expect(within(bar).getAllByRole("listitem").map((li) => `${li.dataset.stream}:${li.dataset.status}`)).toEqual([
      "prediction:reset",
      "automation:connecting",
      "training:connecting",
      "hft:reconnecting",
      "market:connecting",
    ]);
    expect(within(bar).getByText("reset, reloading")).toBeTruthy();
    const nav = screen.getByRole("navigation", { name: "Views" });
    expect(within(nav).getByRole("link", { name: "Market" }).getAttribute("aria-current")).toBe("page");
    fireEvent.click(within(nav).getByRole("link", { name: "Events" }));
    expect(window.location.pathname).toBe("/events");
    expect(screen.getByRole("heading", { name: "Events", level: 2 })).toBeTruthy();
  });

  test("a server that needs a token shows the token entry", () => {
    renderDesk("/", (s) => ({ ...s, auth: "needed" as const }));
    // renderDesk sets auth ok first; the change above wins
    expect(screen.getByLabelText("API token")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Open the desk" })).toHaveProperty("disabled", true);
  });
});
