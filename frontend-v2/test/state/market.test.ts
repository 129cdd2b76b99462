/** Market state: candles keyed by bar time (the stream has no ids), sorted, bounded; REST bars and live frames merge. */
import { describe, expect, test } from "vitest";
import {
  applyBars,
  applyMarketFrame,
  describeStatus,
  initialMarket,
  instrumentName,
  lastClose,
  loadMarket,
  MAX_CANDLES,
  upsertCandle,
} from "../../src/state/market";
import { bars, marketStatus, RELIANCE, TCS } from "../support/events";

describe("candles", () => {
  test("a bar seen twice (REST, then the stream after a reconnect) is one candle, the latest values win", () => {
    const rest = { state: "running", status: marketStatus(), interval: "1m", instruments: [RELIANCE, TCS], bars: [bars(0, { [RELIANCE]: 100 }), bars(60, { [RELIANCE]: 101, [TCS]: 200 })] };
    const loaded = loadMarket(initialMarket, rest);
    const live = [bars(60, { [RELIANCE]: 101.5 }), bars(120, { [RELIANCE]: 102 })].reduce(applyBars, loaded);
    expect(live.candles[RELIANCE]!.map((c) => [c.time, c.close])).toEqual([
      [0, 100],
      [60, 101.5],
      [120, 102],
    ]);
    expect(live.candles[TCS]!.map((c) => c.time)).toEqual([60]);
    expect(live.instruments).toEqual([RELIANCE, TCS]);
    expect(live.clock).toBe(180);
    expect(lastClose(live, RELIANCE)).toBe(102);
    expect(live.feed).toBe("running");
  });

  test("out-of-order bars are inserted in place; the list is bounded", () => {
    let list = upsertCandle([], { time: 120, open: 1, high: 1, low: 1, close: 1, volume: 1 });
    list = upsertCandle(list, { time: 0, open: 1, high: 1, low: 1, close: 1, volume: 1 });
    list = upsertCandle(list, { time: 60, open: 1, high: 1, low: 1, close: 1, volume: 1 });
    expect(list.map((c) => c.time)).toEqual([0, 60, 120]);
    let long = list;
    for (let i = 3; i < MAX_CANDLES + 5; i++) long = upsertCandle(long, { time: i * 60, open: 1, high: 1, low: 1, close: 1, volume: 1 });
    expect(long).toHaveLength(MAX_CANDLES);
    expect(long[long.length - 1]!.time).toBe((MAX_CANDLES + 4) * 60);
  });

  test("names", () => {
    expect(instrumentName(RELIANCE)).toBe("RELIANCE");
    expect(instrumentName("NSE_EQ|SIM00001")).toBe("SIM00001");
  });
});

describe("the source's status", () => {
  test("REST's status, then every market.status frame replaces it whole; bars leave it alone", () => {
    const loaded = loadMarket(initialMarket, { state: "running", status: marketStatus({ status: "connecting" }), interval: "1m", instruments: [RELIANCE], bars: [] });
    expect(loaded.status?.status).toBe("connecting");
    const live = applyMarketFrame(loaded, { type: "market.status", payload: marketStatus() });
    const withBars = applyMarketFrame(live, { type: "market.bars", payload: bars(0, { [RELIANCE]: 100 }) });
    expect(withBars.status).toBe(live.status);
    expect(lastClose(withBars, RELIANCE)).toBe(100);
    const error = "feed authorize: token expired or invalid: Invalid token used to access API (UDAPI100050) (HTTP 401)";
    const expired = applyMarketFrame(withBars, { type: "market.status", payload: marketStatus({ status: "token_expired", error, segment: null }) });
    expect(expired.status).toEqual(marketStatus({ status: "token_expired", error, segment: null }));
    expect(expired.candles).toBe(withBars.candles);
  });

  test("labels, tones and the tooltip's details", () => {
    expect(describeStatus(marketStatus())).toEqual({ label: "Upstox: live", tone: "ok", detail: "NSE_EQ NORMAL_OPEN" });
    const expired = describeStatus(marketStatus({ status: "token_expired", error: "token expired or invalid", segment: null }));
    expect(expired).toEqual({ label: "Upstox: token expired", tone: "bad", detail: "token expired or invalid" });
    const warning = "the Upstox access token expires at 2025-02-16 03:29:59 IST, before the session of 2025-02-17 closes";
    expect(describeStatus(marketStatus({ warning, segment: null }))).toEqual({ label: "Upstox: live", tone: "warn", detail: warning });
    expect(describeStatus(marketStatus({ source: "simulated", segment: null })).label).toBe("Simulated: live");
    expect(describeStatus(marketStatus({ source: "replay", status: "finished", segment: null }))).toEqual({
      label: "Replay: finished",
      tone: "warn",
      detail: "",
    });
    expect(describeStatus(marketStatus({ status: "market_closed", segment: "NORMAL_CLOSE" })).label).toBe("Upstox: market closed");
  });
});
