/**
 * The trading view's state: the engine (state, broker, safe_mode, live_trading_enabled),
 * trades by trade_id, errors; pure functions of (state, REST answer | hft event).
 *
 * The engine follows `hft.state`, which the server publishes after every transition (start,
 * halt by a person, the daily loss limit or a failure, resume, stop, restart recovery): after
 * the initial load (GET /api/hft/status as of the stream's head_id) nothing is re-read, and a
 * halt from the CLI or another browser shows here as it happens. PnL is not taken from the
 * status either: realized PnL sums the day's closed trades (hft.exit), open PnL marks the
 * open trades (hft.entry, hft.trade_risk) to the market stream's latest closes.
 *
 * hft events carry no market time; the caller passes the instrument's latest bar time when a
 * live event arrives (`at`), so entries and exits can be drawn on the candle chart. REST trades
 * bring their own times when the engine stores them.
 */
import type { Json } from "../lib/api";
import type { EventOf } from "../lib/ws";
import type { Candle } from "./market";
import { applyOnce, merge, pushBounded, type Synced } from "./synced";

export type EngineState = "running" | "stopped" | "halted" | "unknown";

export interface Engine {
  readonly state: EngineState;
  readonly broker?: string;
  readonly safe_mode?: boolean;
  readonly live_trading_enabled?: boolean;
  /** Why the engine is halted: present only while `state` is "halted". */
  readonly halted_reason?: string;
  /** The brokers it can start with (REST status). */
  readonly brokers?: readonly string[];
  /** The trading day (IST date, REST status): realized PnL counts this day's trades. */
  readonly day?: string;
  /** The broker's own kill switch as the server engaged it (REST status and halt answers only). */
  readonly broker_kill_switch?: BrokerKillSwitch;
  /** Where each trade's stop is held while an engine runs (REST status): at the broker, or watched by the engine. */
  readonly stops?: "broker" | "engine";
  /** Why SIGNALDESK_HFT_BROKER_STOPS is not in effect, when it is on but the venue holds no stops. */
  readonly stops_note?: string;
}

export interface BrokerKillSwitch {
  readonly engaged: boolean;
  /** When it was engaged (epoch s). */
  readonly at?: number;
  readonly segments: readonly string[];
}

export interface Trade {
  readonly trade_id: number;
  readonly instrument_key: string;
  /** Shares: positive long, negative short. */
  readonly qty: number;
  readonly entry: number;
  readonly stop?: number;
  readonly target?: number;
  readonly status: "open" | "closed";
  readonly exit?: number;
  readonly pnl?: number;
  readonly reason?: string;
  /** Market time (bar open, UTC epoch s) of the entry and exit, where known. */
  readonly entryTime?: number;
  readonly exitTime?: number;
  /** The trading day (IST date) where REST says it; live trades are today's. */
  readonly day?: string;
  /** Charges of its fills (REST only, rupees): the cost model's estimate, and the broker's own
   * figure (a live trade's, once the broker has said it for every fill). */
  readonly charges?: number;
  readonly brokerCharges?: number;
}

export interface DeskError {
  readonly id: number;
  readonly ts: number;
  readonly source: "hft.error" | "hft.manage_error" | "hft.flatten";
  readonly error: string;
}

export interface TradingState extends Synced {
  readonly engine: Engine;
  readonly trades: Readonly<Record<number, Trade>>;
  readonly errors: readonly DeskError[];
  readonly lastFlatten: { readonly id: number; readonly ts: number; readonly closed: number; readonly errors: readonly string[] } | null;
}

const MAX_ERRORS = 100;

export const initialTrading: TradingState = { lastId: 0, engine: { state: "unknown" }, trades: {}, errors: [], lastFlatten: null };

function upsertTrade(state: TradingState, trade: Partial<Trade> & { trade_id: number }): TradingState {
  const old = state.trades[trade.trade_id];
  const base: Trade = old ?? { trade_id: trade.trade_id, instrument_key: "", qty: 0, entry: 0, status: "open" };
  let next = merge(base, trade);
  if (old?.status === "closed" && trade.status === "open") next = { ...next, status: "closed" }; // an exit is final
  if (old?.entryTime !== undefined) next = { ...next, entryTime: old.entryTime };
  if (old?.exitTime !== undefined) next = { ...next, exitTime: old.exitTime };
  return { ...state, trades: { ...state.trades, [trade.trade_id]: next } };
}

/** `halted_reason` only while halted: absent otherwise (never an undefined-valued key). */
function settled({ halted_reason, ...engine }: Engine): Engine {
  return engine.state === "halted" && halted_reason !== undefined ? { ...engine, halted_reason } : engine;
}

/** The engine with the defined fields of `change` over it. */
function withEngine(state: TradingState, change: Partial<Engine>): TradingState {
  return { ...state, engine: settled(merge(state.engine, change)) };
}

function apply(state: TradingState, event: EventOf<"hft">, at: number | undefined): TradingState {
  switch (event.type) {
    // hft.start and hft.stop are each followed by an hft.state that says the same; they still
    // move the engine so that a log from before hft.state existed replays right.
    case "hft.start":
      return withEngine(state, { ...event.payload, state: "running" });
    case "hft.stop":
      return withEngine(state, { state: "stopped" });
    case "hft.broker":
      return withEngine(state, { broker: event.payload.broker });
    case "hft.state": {
      const { halted_reason, ...fields } = event.payload;
      return { ...state, engine: settled({ ...state.engine, ...fields, halted_reason: halted_reason ?? undefined }) };
    }
    case "hft.error":
    case "hft.manage_error": {
      const error: DeskError = { id: event.id, ts: event.ts, source: event.type, error: event.payload.error };
      return { ...state, errors: pushBounded(state.errors, error, MAX_ERRORS) };
    }
    case "hft.flatten": {
      const lastFlatten = { id: event.id, ts: event.ts, ...event.payload };
      const errors = event.payload.errors.reduce<readonly DeskError[]>(
        (list, error) => pushBounded(list, { id: event.id, ts: event.ts, source: "hft.flatten", error }, MAX_ERRORS),
        state.errors,
      );
      return { ...state, lastFlatten, errors };
    }
    case "hft.entry":
      return upsertTrade(state, { ...event.payload, status: "open", entryTime: at });
    case "hft.exit": {
      const { price, ...rest } = event.payload;
      return upsertTrade(state, { ...rest, exit: price, status: "closed", exitTime: at });
    }
    case "hft.trade_risk":
      return upsertTrade(state, event.payload);
  }
}

/** Apply one hft event (at most once, by id); `at`: the market time to draw it at, if live. */
export function applyHftEvent(state: TradingState, event: EventOf<"hft">, at?: number): TradingState {
  return applyOnce(state, event, (s, e) => apply(s, e, at));
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);

/** A trade as the engine's REST shows it, tolerant of field names (`entry`/`entry_price`, ...). */
export function tradeFromRest(r: Json): (Partial<Trade> & { trade_id: number }) | null {
  const id = num(r.trade_id) ?? num(r.id);
  if (id === undefined) return null;
  const exit = num(r.exit) ?? num(r.exit_price) ?? num(r.price);
  const closed = r.status === "closed" || r.status === "exited" || num(r.exit_ts) !== undefined || exit !== undefined;
  return {
    trade_id: id,
    instrument_key: str(r.instrument_key),
    qty: num(r.qty),
    entry: num(r.entry) ?? num(r.entry_price),
    stop: num(r.stop),
    target: num(r.target),
    status: closed ? "closed" : "open",
    exit,
    pnl: num(r.pnl) ?? num(r.realized_pnl),
    reason: str(r.reason) ?? str(r.exit_reason),
    entryTime: num(r.entry_ts) ?? num(r.opened_ts) ?? num(r.entry_time),
    exitTime: num(r.exit_ts) ?? num(r.closed_ts) ?? num(r.exit_time),
    day: str(r.day),
    charges: num(r.charges),
    brokerCharges: num(r.broker_charges),
  };
}

/** `broker_kill_switch` of a status answer (GET /api/hft/status, POST /api/hft/halt). */
export function killSwitchFromRest(r: Json): BrokerKillSwitch | undefined {
  const raw = r.broker_kill_switch;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const k = raw as Json;
  const engaged = bool(k.engaged);
  if (engaged === undefined) return undefined;
  const segments = Array.isArray(k.segments) ? k.segments.filter((x): x is string => typeof x === "string") : [];
  return { engaged, at: num(k.at), segments };
}

/** The broker kill switch of a halt's answer: it comes on no event, so the answer says it. */
export function applyHaltAnswer(state: TradingState, answer: Json): TradingState {
  return withEngine(state, { broker_kill_switch: killSwitchFromRest(answer) });
}

/** The engine as GET /api/hft/status shows it; what it does not say is left out (undefined). */
export function engineFromRest(r: Json): Partial<Engine> {
  const raw = str(r.state) ?? str(r.status) ?? (bool(r.running) === true ? "running" : bool(r.running) === false ? "stopped" : undefined);
  const known = raw === "running" || raw === "stopped" || raw === "halted";
  const state: EngineState | undefined = bool(r.halted) === true ? "halted" : known ? raw : undefined;
  const brokers = Array.isArray(r.brokers) ? r.brokers.filter((b): b is string => typeof b === "string") : undefined;
  return {
    state,
    broker: str(r.broker),
    safe_mode: bool(r.safe_mode),
    live_trading_enabled: bool(r.live_trading_enabled),
    halted_reason: str(r.halted_reason),
    brokers,
    day: str(r.day),
    broker_kill_switch: killSwitchFromRest(r),
    stops: r.stops === "broker" || r.stops === "engine" ? r.stops : undefined,
    stops_note: str(r.stops_note),
  };
}

/** Merge REST state (engine status, trades) loaded as of event `headId`. */
export function loadTrading(
  state: TradingState,
  rest: { status: Json | null; trades: readonly Json[] },
  headId: number,
): TradingState {
  let next = state;
  if (rest.status !== null) next = withEngine(next, engineFromRest(rest.status));
  for (const raw of rest.trades) {
    const trade = tradeFromRest(raw);
    if (trade !== null) next = upsertTrade(next, trade);
  }
  return { ...next, lastId: Math.max(next.lastId, headId) };
}

// --- selectors ------------------------------------------------------------------------------

export function openTrades(state: TradingState): Trade[] {
  return Object.values(state.trades)
    .filter((t) => t.status === "open")
    .sort((a, b) => b.trade_id - a.trade_id);
}

export function closedTrades(state: TradingState): Trade[] {
  return Object.values(state.trades)
    .filter((t) => t.status === "closed")
    .sort((a, b) => b.trade_id - a.trade_id);
}

/** The trades of the engine's current day (all, while the day is not known). */
export function todaysTrades(state: TradingState): Trade[] {
  const day = state.engine.day;
  return Object.values(state.trades).filter((t) => day === undefined || t.day === undefined || t.day === day);
}

/** Realized PnL of the day's closed trades. */
export function realizedPnl(state: TradingState): number {
  return todaysTrades(state)
    .filter((t) => t.status === "closed")
    .reduce((sum, t) => sum + (t.pnl ?? 0), 0);
}

/** Marked to the latest close of each instrument (`close(key)`); trades without one count 0. */
export function openPnl(state: TradingState, close: (key: string) => number | undefined): number {
  return openTrades(state).reduce((sum, t) => {
    const last = close(t.instrument_key);
    return last === undefined ? sum : sum + t.qty * (last - t.entry);
  }, 0);
}

export interface PnlPoint {
  readonly time: number;
  readonly realized: number;
  readonly open: number;
}

/**
 * Realized and open PnL at each bar time of the day (the candles' times), from the trades with
 * known times: realized counts exits at or before the bar; open marks trades entered at or
 * before it and not yet exited to that bar's close.
 */
export function pnlSeries(trades: readonly Trade[], candles: Readonly<Record<string, readonly Candle[]>>): PnlPoint[] {
  const timed = trades.filter((t) => t.entryTime !== undefined);
  if (timed.length === 0) return [];
  const closes = new Map<string, Map<number, number>>();
  const times = new Set<number>();
  for (const [key, list] of Object.entries(candles)) {
    closes.set(key, new Map(list.map((c) => [c.time, c.close])));
    for (const c of list) times.add(c.time);
  }
  const first = Math.min(...timed.map((t) => t.entryTime!));
  const last = new Map<string, number>();
  const out: PnlPoint[] = [];
  for (const time of [...times].sort((a, b) => a - b)) {
    for (const [key, byTime] of closes) {
      const close = byTime.get(time);
      if (close !== undefined) last.set(key, close);
    }
    if (time < first) continue;
    let realized = 0;
    let open = 0;
    for (const t of timed) {
      if (t.status === "closed" && t.exitTime !== undefined && t.exitTime <= time) realized += t.pnl ?? 0;
      else if (t.entryTime! <= time && (t.exitTime === undefined || t.exitTime > time)) {
        const close = last.get(t.instrument_key);
        if (close !== undefined) open += t.qty * (close - t.entry);
      }
    }
    out.push({ time, realized, open });
  }
  return out;
}
