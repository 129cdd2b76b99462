/**
 * The market view's state: candles per instrument from market.bars payloads (REST's recent
 * bars and the ephemeral stream's frames alike). The stream has no ids: a candle is keyed by
 * its bar open time, so a bar seen twice (REST then stream, a reconnect) replaces itself.
 * The source's status (market.status: sent on connect and on every change, and in REST's
 * answer) replaces the previous one whole.
 */
import type { MarketBars, MarketStatus } from "../lib/ws.gen";

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
  /** What the source is doing (null until the server said). */
  readonly status: MarketStatus | null;
}

/** Candles kept per instrument: two sessions of 1m bars. */
export const MAX_CANDLES = 750;

export const initialMarket: MarketState = {
  feed: "unknown",
  interval: null,
  instruments: [],
  candles: {},
  clock: null,
  status: null,
};

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

/** Apply one market.status payload: the source's status as it is now. */
export function applyStatus(state: MarketState, status: MarketStatus): MarketState {
  return { ...state, status };
}

/** Apply one frame of the market stream. */
export function applyMarketFrame(
  state: MarketState,
  frame: { type: "market.bars"; payload: MarketBars } | { type: "market.status"; payload: MarketStatus },
): MarketState {
  return frame.type === "market.bars" ? applyBars(state, frame.payload) : applyStatus(state, frame.payload);
}

/** GET /api/market: the feed's state, its source's status and its recent bars, merged into what is shown. */
export function loadMarket(
  state: MarketState,
  rest: {
    state: string;
    status: MarketStatus;
    interval: string | null;
    instruments: readonly string[];
    bars: readonly MarketBars[];
  },
): MarketState {
  const merged = rest.bars.reduce(applyBars, state);
  const instruments = [...rest.instruments, ...merged.instruments.filter((k) => !rest.instruments.includes(k))];
  return { ...merged, feed: rest.state, status: rest.status, interval: rest.interval ?? merged.interval, instruments };
}

const SOURCES: Readonly<Record<MarketStatus["source"], string>> = {
  off: "Market",
  simulated: "Simulated",
  replay: "Replay",
  upstox: "Upstox",
};

const STATUSES: Readonly<Record<MarketStatus["status"], string>> = {
  off: "off",
  live: "live",
  replay: "replaying",
  finished: "finished",
  failed: "failed",
  connecting: "connecting",
  market_closed: "market closed",
  stalled: "stalled",
  reconnecting: "reconnecting",
  token_expired: "token expired",
  no_token: "no token",
};

/** How healthy the source is: ok (streaming as it should), warn (waiting or closed), bad (needs a person). */
export type StatusTone = "ok" | "warn" | "bad";

const TONES: Readonly<Record<MarketStatus["status"], StatusTone>> = {
  off: "warn",
  live: "ok",
  replay: "ok",
  finished: "warn",
  failed: "bad",
  connecting: "warn",
  market_closed: "warn",
  stalled: "warn",
  reconnecting: "warn",
  token_expired: "bad",
  no_token: "bad",
};

/** The header's words for a status: a label ("Upstox: token expired"), its tone, and the details for a tooltip. */
export function describeStatus(status: MarketStatus): { label: string; tone: StatusTone; detail: string } {
  const tone = status.warning !== null && TONES[status.status] === "ok" ? "warn" : TONES[status.status];
  const detail = [status.error, status.warning, status.segment ? `NSE_EQ ${status.segment}` : null]
    .filter((part): part is string => Boolean(part))
    .join(" · ");
  return { label: `${SOURCES[status.source]}: ${STATUSES[status.status]}`, tone, detail };
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
