/** Trading state: engine mode, trades by trade_id applied once, REST merge, PnL now and over the day. */
import { describe, expect, test } from "vitest";
import {
  applyHaltAnswer,
  applyHftEvent,
  closedTrades,
  initialTrading,
  loadTrading,
  openPnl,
  openTrades,
  pnlSeries,
  realizedPnl,
  type TradingState,
} from "../../src/state/trading";
import type { EventOf } from "../../src/lib/ws";
import type { HftState } from "../../src/lib/ws.gen";
import { hft, RELIANCE, TCS } from "../support/events";

const run = (events: EventOf<"hft">[], from: TradingState = initialTrading, at?: number) =>
  events.reduce((s, e) => applyHftEvent(s, e, at), from);

describe("engine", () => {
  const paper = { broker: "paper", safe_mode: true, live_trading_enabled: false };
  const state = (id: number, over: Partial<HftState> = {}) =>
    hft(id, "hft.state", { state: "running", halted_reason: null, ...paper, ...over });
  const reason = "daily loss limit breached: the day's PnL is -10,250.00, the limit 10,000.00";

  test("start shows broker, safe_mode and live_trading_enabled; stop and broker", () => {
    const s = run([hft(1, "hft.start", paper)]);
    expect(s.engine).toEqual({ state: "running", ...paper });
    const stopped = run([hft(2, "hft.stop", {})], s);
    expect(stopped.engine).toEqual({ state: "stopped", ...paper });
    expect(run([hft(4, "hft.broker", { broker: "upstox" })], s).engine.broker).toBe("upstox");
  });

  test("hft.state sets every field it carries and keeps what only the status says", () => {
    const status = { state: "stopped", brokers: ["paper", "upstox"], day: "2025-02-14" };
    const loaded = loadTrading(initialTrading, { status, trades: [] }, 3);
    const live = run([state(4, { broker: "upstox", safe_mode: false, live_trading_enabled: true })], loaded);
    expect(live.engine).toEqual({
      state: "running",
      broker: "upstox",
      safe_mode: false,
      live_trading_enabled: true,
      brokers: ["paper", "upstox"],
      day: "2025-02-14",
    });
    expect(live.lastId).toBe(4);
  });

  test("a halt carries its reason; a resume, a stop or a start clears it", () => {
    const halted = run([hft(1, "hft.start", paper), state(2), state(3, { state: "halted", halted_reason: reason })]);
    expect(halted.engine).toEqual({ state: "halted", halted_reason: reason, ...paper });
    const resumed = run([state(4)], halted);
    expect(resumed.engine).toEqual({ state: "running", ...paper });
    expect(resumed.engine).not.toHaveProperty("halted_reason");
    expect(run([hft(4, "hft.stop", {}), state(5, { state: "stopped" })], halted).engine).toEqual({ state: "stopped", ...paper });
    expect(run([hft(4, "hft.start", paper)], halted).engine).not.toHaveProperty("halted_reason");
    // A reason on a state that is not halted is not shown as one.
    expect(run([state(4, { halted_reason: "stale" })], halted).engine).not.toHaveProperty("halted_reason");
  });

  test("idempotent: the same hft.state twice changes nothing; a replay of it with another id neither", () => {
    const halt = state(7, { state: "halted", halted_reason: "halted by request" });
    const once = run([halt], run([state(6)]));
    expect(applyHftEvent(once, halt)).toBe(once);
    const again = applyHftEvent(once, { ...halt, id: 8 });
    expect(again.engine).toEqual(once.engine);
  });

  test("the status load clears a reason the status does not have, so a load after a resume is not halted", () => {
    const halted = run([state(1, { state: "halted", halted_reason: reason })]);
    const loaded = loadTrading(halted, { status: { state: "running", halted_reason: null, ...paper }, trades: [] }, 2);
    expect(loaded.engine).toEqual({ state: "running", ...paper });
  });
});

describe("the broker kill switch", () => {
  test("read from the status and from a halt's answer; an hft.state keeps it; a malformed one is left out", () => {
    const engaged = { engaged: true, at: 1_700_000_000, segments: ["NSE_EQ"] };
    const loaded = loadTrading(initialTrading, { status: { state: "running", broker_kill_switch: { engaged: false, at: null, segments: [] } }, trades: [] }, 0);
    expect(loaded.engine.broker_kill_switch).toEqual({ engaged: false, at: undefined, segments: [] });
    const halted = applyHaltAnswer(loaded, { state: "halted", broker_kill_switch: engaged });
    expect(halted.engine.broker_kill_switch).toEqual(engaged);
    expect(halted.engine.state).toBe("running"); // the state itself follows hft.state only
    const after = run([hft(3, "hft.state", { state: "halted", halted_reason: "x", broker: "upstox", safe_mode: false, live_trading_enabled: true })], halted);
    expect(after.engine.broker_kill_switch).toEqual(engaged);
    for (const bad of [null, [], "on", { engaged: "yes", segments: [] }]) {
      expect(applyHaltAnswer(initialTrading, { broker_kill_switch: bad }).engine.broker_kill_switch).toBeUndefined();
    }
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

describe("charges", () => {
  test("REST's estimate and the broker's figure are kept apart; a null broker figure is not known", () => {
    const loaded = loadTrading(
      initialTrading,
      {
        status: null,
        trades: [
          { trade_id: 1, instrument_key: RELIANCE, qty: 1, entry: 100, exit: 101, status: "closed", charges: 0.62, broker_charges: 10.79 },
          { trade_id: 2, instrument_key: RELIANCE, qty: 1, entry: 100, exit: 101, status: "closed", charges: 0.62, broker_charges: null },
        ],
      },
      0,
    );
    expect(loaded.trades[1]).toMatchObject({ charges: 0.62, brokerCharges: 10.79 });
    expect(loaded.trades[2]!.charges).toBe(0.62);
    expect(loaded.trades[2]!.brokerCharges).toBeUndefined();
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

describe("where stops are held", () => {
  test("read from the status with the note when broker stops are not in effect; an unknown value is left out", () => {
    const note = "SIGNALDESK_HFT_BROKER_STOPS is on, but the paper venue holds no stops: the engine watches each trade's stop";
    const loaded = loadTrading(initialTrading, { status: { state: "running", stops: "engine", stops_note: note }, trades: [] }, 0);
    expect([loaded.engine.stops, loaded.engine.stops_note]).toEqual(["engine", note]);
    const held = loadTrading(initialTrading, { status: { state: "running", stops: "broker" }, trades: [] }, 0);
    expect([held.engine.stops, held.engine.stops_note]).toEqual(["broker", undefined]);
    expect(loadTrading(initialTrading, { status: { state: "running", stops: "somewhere" }, trades: [] }, 0).engine.stops).toBeUndefined();
  });
});
