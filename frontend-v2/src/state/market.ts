/**
 * The market view's state: candles per instrument from market.bars payloads (REST's recent
 * bars and the ephemeral stream's frames alike). The stream has no ids: a candle is keyed by
 * its bar open time, so a bar seen twice (REST then stream, a reconnect) replaces itself.
 */
import type { MarketBars } from "../lib/ws.gen";

export interface Candle {
  /** Bar open, UTC epoch seconds. */
  readonly time: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

export interface MarketState {
  readonly feed: string;
  readonly interval: string | null;
  readonly instruments: readonly string[];
  readonly candles: Readonly<Record<string, readonly Candle[]>>;
  /** The latest bar close seen (exchange time, UTC epoch s): the desk's "now" on a simulated market. */
  readonly clock: number | null;
}

/** Candles kept per instrument: two sessions of 1m bars. */
export const MAX_CANDLES = 750;

export const initialMarket: MarketState = { feed: "unknown", interval: null, instruments: [], candles: {}, clock: null };

/** Insert or replace by time, keeping the list sorted and bounded (usually an append). */
export function upsertCandle(list: readonly Candle[], candle: Candle, max = MAX_CANDLES): readonly Candle[] {
  const last = list[list.length - 1];
  let out: Candle[];
  if (last === undefined || last.time < candle.time) {
    out = [...list, candle];
  } else {
    out = list.filter((c) => c.time !== candle.time);
    const at = out.findIndex((c) => c.time > candle.time);
    out.splice(at === -1 ? out.length : at, 0, candle);
  }
  return out.length > max ? out.slice(out.length - max) : out;
}

/** Apply one market.bars payload. */
export function applyBars(state: MarketState, bars: MarketBars): MarketState {
  const candles: Record<string, readonly Candle[]> = { ...state.candles };
  const instruments = [...state.instruments];
  for (const bar of bars.bars) {
    const { instrument_key: key, open, high, low, close, volume } = bar;
    candles[key] = upsertCandle(candles[key] ?? [], { time: bars.ts, open, high, low, close, volume });
    if (!instruments.includes(key)) instruments.push(key);
  }
  const clock = state.clock === null ? bars.close_ts : Math.max(state.clock, bars.close_ts);
  return { ...state, candles, instruments, interval: bars.interval, clock };
}

/** GET /api/market: the feed's state and its recent bars, merged into what is shown. */
export function loadMarket(
  state: MarketState,
  rest: { state: string; interval: string | null; instruments: readonly string[]; bars: readonly MarketBars[] },
): MarketState {
  const merged = rest.bars.reduce(applyBars, state);
  const instruments = [...rest.instruments, ...merged.instruments.filter((k) => !rest.instruments.includes(k))];
  return { ...merged, feed: rest.state, interval: rest.interval ?? merged.interval, instruments };
}

/** The latest close of an instrument, if any. */
export function lastClose(state: MarketState, key: string): number | undefined {
  const list = state.candles[key];
  return list?.[list.length - 1]?.close;
}

/** The open time of the latest bar of an instrument (where a live trade event is drawn). */
export function lastBarTime(state: MarketState, key: string): number | undefined {
  const list = state.candles[key];
  return list?.[list.length - 1]?.time;
}

const KNOWN: Readonly<Record<string, string>> = {
  "NSE_EQ|INE002A01018": "RELIANCE",
  "NSE_EQ|INE467B01029": "TCS",
  "NSE_EQ|INE040A01034": "HDFCBANK",
  "NSE_EQ|INE009A01021": "INFY",
  "NSE_EQ|INE090A01021": "ICICIBANK",
};

/** A short name for an instrument key: the symbol of the five well-known ones, else the key. */
export function instrumentName(key: string): string {
  return KNOWN[key] ?? key.replace(/^NSE_EQ\|/, "");
}
