/** Trading state: engine mode, trades by trade_id applied once, REST merge, PnL now and over the day. */
import { describe, expect, test } from "vitest";
import {
  applyHftEvent,
  closedTrades,
  initialTrading,
  loadTrading,
  markHalted,
  openPnl,
  openTrades,
  pnlSeries,
  realizedPnl,
  type TradingState,
} from "../../src/state/trading";
import type { EventOf } from "../../src/lib/ws";
import { hft, RELIANCE, TCS } from "../support/events";

const run = (events: EventOf<"hft">[], from: TradingState = initialTrading, at?: number) =>
  events.reduce((s, e) => applyHftEvent(s, e, at), from);

describe("engine", () => {
  test("start shows broker, safe_mode and live_trading_enabled; stop and halt", () => {
    const s = run([hft(1, "hft.start", { broker: "paper", safe_mode: true, live_trading_enabled: false })]);
    expect(s.engine).toEqual({ state: "running", broker: "paper", safe_mode: true, live_trading_enabled: false });
    const stopped = run([hft(2, "hft.stop", {})], s);
    expect(stopped.engine.state).toBe("stopped");
    expect(stopped.engine.broker).toBe("paper");
    const halted = markHalted(s);
    expect(run([hft(3, "hft.stop", {})], halted).engine.state).toBe("halted");
    expect(run([hft(4, "hft.broker", { broker: "upstox" })], s).engine.broker).toBe("upstox");
  });
});

describe("trades", () => {
  const entry = hft(10, "hft.entry", { trade_id: 1, instrument_key: RELIANCE, qty: 10, entry: 100 });
  const risk = hft(11, "hft.trade_risk", { trade_id: 1, stop: 98, target: 104 });
  const exit = hft(12, "hft.exit", { trade_id: 1, instrument_key: RELIANCE, price: 104, pnl: 40, reason: "target" });

  test("entry, risk and exit make one trade; a replay of any of them adds nothing", () => {
    const s = run([entry, risk], initialTrading, 600);
    expect(openTrades(s)).toEqual([
      { trade_id: 1, instrument_key: RELIANCE, qty: 10, entry: 100, stop: 98, target: 104, status: "open", entryTime: 600 },
    ]);
    const done = run([exit], s, 660);
    expect(run([entry, risk, exit], done, 999)).toBe(done);
    expect(openTrades(done)).toEqual([]);
    expect(closedTrades(done)).toEqual([expect.objectContaining({ trade_id: 1, exit: 104, pnl: 40, reason: "target", entryTime: 600, exitTime: 660 })]);
    expect(realizedPnl(done)).toBe(40);
  });

  test("open PnL marks to the latest close: long and short", () => {
    const s = run([entry, hft(13, "hft.entry", { trade_id: 2, instrument_key: TCS, qty: -5, entry: 200 })]);
    const closes: Record<string, number> = { [RELIANCE]: 101, [TCS]: 190 };
    expect(openPnl(s, (k) => closes[k])).toBe(10 * 1 + -5 * -10);
    expect(openPnl(s, () => undefined)).toBe(0);
  });

  test("errors, manage errors and flatten errors are listed in order", () => {
    const s = run([
      hft(1, "hft.error", { error: "order rejected" }),
      hft(2, "hft.manage_error", { error: "stop update failed" }),
      hft(3, "hft.flatten", { closed: 2, errors: ["TCS: no quote"] }),
    ]);
    expect(s.errors.map((e) => [e.source, e.error])).toEqual([
      ["hft.error", "order rejected"],
      ["hft.manage_error", "stop update failed"],
      ["hft.flatten", "TCS: no quote"],
    ]);
    expect(s.lastFlatten).toMatchObject({ closed: 2 });
  });

  test("REST status and trades merge with the events (tolerant field names), no duplicate trades", () => {
    const s = run([entry]);
    const loaded = loadTrading(
      s,
      {
        status: { state: "running", broker: "paper", safe_mode: true, live_trading_enabled: false },
        trades: [
          { trade_id: 1, instrument_key: RELIANCE, qty: 10, entry_price: 100, stop: 98, target: 104, entry_ts: 540, status: "open" },
          { id: 2, instrument_key: TCS, qty: 3, entry: 200, exit_price: 210, pnl: 30, exit_reason: "stop", entry_ts: 480, exit_ts: 600 },
        ],
      },
      20,
    );
    expect(Object.keys(loaded.trades)).toEqual(["1", "2"]);
    expect(loaded.trades[1]).toMatchObject({ stop: 98, entryTime: 540, status: "open" });
    expect(loaded.trades[2]).toMatchObject({ status: "closed", exit: 210, pnl: 30, reason: "stop", exitTime: 600 });
    expect(loaded.engine).toMatchObject({ state: "running", safe_mode: true });
    expect(loaded.lastId).toBe(20);
    expect(applyHftEvent(loaded, entry)).toBe(loaded);
  });
});

describe("the day", () => {
  test("realized PnL counts the engine's day only; live trades (no day yet) count as today's", () => {
    const loaded = loadTrading(
      initialTrading,
      {
        status: { state: "running", day: "2025-02-14" },
        trades: [
          { trade_id: 1, instrument_key: RELIANCE, qty: 1, entry: 100, exit: 90, pnl: -10, status: "closed", day: "2025-02-13" },
          { trade_id: 2, instrument_key: RELIANCE, qty: 1, entry: 100, exit: 105, pnl: 5, status: "closed", day: "2025-02-14" },
        ],
      },
      0,
    );
    const live = run([hft(1, "hft.exit", { trade_id: 3, instrument_key: TCS, price: 1, pnl: 7, reason: "target" })], loaded);
    expect(realizedPnl(live)).toBe(12);
  });
});

describe("PnL over the day", () => {
  test("realized after each exit, open marked at each bar while the trade is open", () => {
    const s = run([
      hft(1, "hft.entry", { trade_id: 1, instrument_key: RELIANCE, qty: 10, entry: 100 }),
    ], initialTrading, 60);
    const closed = run([hft(2, "hft.exit", { trade_id: 1, instrument_key: RELIANCE, price: 103, pnl: 30, reason: "target" })], s, 180);
    const candles = {
      [RELIANCE]: [0, 60, 120, 180, 240].map((time, i) => ({ time, open: 100, high: 104, low: 99, close: 100 + i, volume: 1 })),
    };
    expect(pnlSeries(Object.values(closed.trades), candles)).toEqual([
      { time: 60, realized: 0, open: 10 },
      { time: 120, realized: 0, open: 20 },
      { time: 180, realized: 30, open: 0 },
      { time: 240, realized: 30, open: 0 },
    ]);
    expect(pnlSeries([], candles)).toEqual([]);
  });
});
