/**
 * The predictor view's state: predictor status, predictions by their own id, calibration,
 * errors; pure functions of (state, REST answer | event).
 *
 * A prediction is one row whatever told us about it (REST, prediction.created, .resolved, in
 * any order and any number of times): rows are keyed by prediction id and a resolved row never
 * goes back to open.
 */
import type { Json } from "../lib/api";
import type { EventOf } from "../lib/ws";
import type { Calibration } from "../lib/ws.gen";
import { applyOnce, keepNewest, merge, pushBounded, type Synced } from "./synced";

export type PredictionStatus = "open" | "resolved" | "expired";

export interface PredictionRow {
  readonly id: number;
  readonly instrument_key: string;
  readonly interval: string;
  readonly horizon_steps: number;
  readonly ts_pred: number;
  readonly ts_target: number;
  readonly status: PredictionStatus;
  readonly model_kind?: string;
  readonly pred_ret?: number;
  readonly pred_ret_adj: number;
  readonly calib_bias?: number;
  readonly actual_ret?: number;
  readonly error?: number;
}

export interface CalibrationRow {
  readonly instrument_key: string;
  readonly interval: string;
  readonly horizon_steps: number;
  readonly model_kind: string;
  readonly n: number;
  readonly bias: number;
  readonly mae: number;
  readonly rmse: number;
  readonly hit_rate: number;
}

export interface PredictorInfo {
  readonly state: "running" | "stopped" | "unknown";
  readonly instruments: readonly string[];
  readonly cfg: Json;
}

export interface PredictionState extends Synced {
  readonly predictor: PredictorInfo;
  readonly rows: Readonly<Record<number, PredictionRow>>;
  readonly calibration: Readonly<Record<string, CalibrationRow>>;
  readonly errors: readonly { readonly id: number; readonly ts: number; readonly error: string }[];
  readonly lastCycle: { readonly created: number; readonly resolved: number; readonly anchor: number } | null;
}

/** Rows kept: enough for a session of 1m bars on five instruments and two horizons. */
export const MAX_ROWS = 4000;
const MAX_ERRORS = 50;

export const initialPredictions: PredictionState = {
  lastId: 0,
  predictor: { state: "unknown", instruments: [], cfg: {} },
  rows: {},
  calibration: {},
  errors: [],
  lastCycle: null,
};

export function calibrationKey(c: { instrument_key: string; interval: string; horizon_steps: number; model_kind?: string }): string {
  return `${c.instrument_key}|${c.interval}|${c.horizon_steps}|${c.model_kind ?? ""}`;
}

/** A row merged with what is newly known; resolved (or expired) never goes back to open. */
export function mergeRow(old: PredictionRow | undefined, next: PredictionRow): PredictionRow {
  if (old === undefined) return next;
  const merged = merge(old, next);
  return old.status !== "open" && next.status === "open" ? { ...merged, status: old.status } : merged;
}

function upsert(state: PredictionState, rows: readonly PredictionRow[]): PredictionState {
  const next: Record<number, PredictionRow> = { ...state.rows };
  for (const row of rows) next[row.id] = mergeRow(next[row.id], row);
  return { ...state, rows: keepNewest(next, MAX_ROWS) };
}

function rowFromRest(r: Json): PredictionRow | null {
  if (typeof r.id !== "number" || typeof r.instrument_key !== "string") return null;
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  const status = r.status === "resolved" || r.status === "expired" ? r.status : "open";
  return {
    id: r.id,
    instrument_key: r.instrument_key,
    interval: String(r.interval ?? ""),
    horizon_steps: num(r.horizon_steps) ?? 1,
    ts_pred: num(r.ts_pred) ?? 0,
    ts_target: num(r.ts_target) ?? 0,
    status,
    model_kind: typeof r.model_kind === "string" ? r.model_kind : undefined,
    pred_ret: num(r.pred_ret),
    pred_ret_adj: num(r.pred_ret_adj) ?? 0,
    calib_bias: num(r.calib_bias),
    actual_ret: num(r.actual_ret),
    error: num(r.error),
  };
}

export interface PredictionSnapshot {
  /** GET /api/predictor/status */
  readonly status: Json | null;
  /** GET /api/predictions: newest first */
  readonly predictions: readonly Json[];
  /** GET /api/predictor/calibration */
  readonly calibration: readonly Json[];
}

/** The state loaded over REST as of event `headId`; merged into `state` (fresh after a reset). */
export function loadPredictions(state: PredictionState, snapshot: PredictionSnapshot, headId: number): PredictionState {
  let next = upsert(state, snapshot.predictions.map(rowFromRest).filter((r): r is PredictionRow => r !== null));
  const status = snapshot.status;
  if (status !== null) {
    next = {
      ...next,
      predictor: {
        state: status.state === "running" ? "running" : "stopped",
        instruments: Array.isArray(status.instruments) ? (status.instruments as string[]) : [],
        cfg: (status.cfg as Json | undefined) ?? {},
      },
    };
  }
  const calibration = { ...next.calibration };
  for (const c of snapshot.calibration) {
    const row = c as unknown as CalibrationRow;
    if (typeof row.instrument_key === "string") calibration[calibrationKey(row)] = row;
  }
  return { ...next, calibration, lastId: Math.max(next.lastId, headId) };
}

function applyCalibration(state: PredictionState, row: PredictionRow, model: string | undefined, c: Calibration): PredictionState {
  const key = calibrationKey({ ...row, model_kind: model });
  const calibration: CalibrationRow = {
    instrument_key: row.instrument_key,
    interval: row.interval,
    horizon_steps: row.horizon_steps,
    model_kind: model ?? "",
    n: c.n,
    bias: c.bias,
    mae: c.mae,
    rmse: c.rmse,
    hit_rate: c.hit_rate,
  };
  return { ...state, calibration: { ...state.calibration, [key]: calibration } };
}

function apply(state: PredictionState, event: EventOf<"prediction">): PredictionState {
  switch (event.type) {
    case "predictor.start":
      return { ...state, predictor: { state: "running", instruments: event.payload.instruments, cfg: event.payload.cfg } };
    case "predictor.stop":
      return { ...state, predictor: { ...state.predictor, state: "stopped" } };
    case "predictor.error":
      return { ...state, errors: pushBounded(state.errors, { id: event.id, ts: event.ts, error: event.payload.error }, MAX_ERRORS) };
    case "predictor.cycle":
      return { ...state, lastCycle: event.payload };
    case "prediction.created":
      return upsert(state, [{ ...event.payload, status: "open" }]);
    case "prediction.resolved": {
      const { calibration, ...fields } = event.payload;
      const next = upsert(state, [{ ...fields, status: "resolved" }]);
      return applyCalibration(next, next.rows[fields.id]!, next.rows[fields.id]?.model_kind, calibration);
    }
  }
}

/** Apply one prediction-channel event (at most once, by event id). */
export function applyPredictionEvent(state: PredictionState, event: EventOf<"prediction">): PredictionState {
  return applyOnce(state, event, apply);
}

// --- selectors ------------------------------------------------------------------------------

// Newest by id: ids follow creation, even when a restarted simulated market replays earlier times.
const byNewest = (a: PredictionRow, b: PredictionRow) => b.id - a.id;

/** The newest prediction per (instrument, horizon), ordered by instrument then horizon. */
export function latestPredictions(state: PredictionState): PredictionRow[] {
  const latest = new Map<string, PredictionRow>();
  for (const row of Object.values(state.rows)) {
    const key = `${row.instrument_key}|${row.horizon_steps}`;
    const seen = latest.get(key);
    if (seen === undefined || byNewest(row, seen) < 0) latest.set(key, row);
  }
  return [...latest.values()].sort(
    (a, b) => a.instrument_key.localeCompare(b.instrument_key) || a.horizon_steps - b.horizon_steps,
  );
}

/** The `n` newest resolved predictions (by prediction id, as made), newest first. */
export function recentResolved(state: PredictionState, n: number, instrument?: string): PredictionRow[] {
  return Object.values(state.rows)
    .filter((r) => r.status === "resolved" && (instrument === undefined || r.instrument_key === instrument))
    .sort(byNewest)
    .slice(0, n);
}

export interface CalibrationPoint {
  /** ts_target of the resolution (UTC epoch s). */
  readonly time: number;
  /** Share of hits among the last `window` resolutions: sign(actual_ret) == sign(pred_ret_adj). */
  readonly hitRate: number;
  /** Mean residual (actual_ret - pred_ret) over the same resolutions: what calibration removes. */
  readonly bias: number;
}

export function isHit(actual: number, predicted: number): boolean {
  return Math.sign(actual) === Math.sign(predicted);
}

/** Rolling hit rate and bias of one (instrument, horizon), one point per resolution, oldest first. */
export function calibrationSeries(state: PredictionState, instrument: string, horizon: number, window = 50): CalibrationPoint[] {
  const resolved = Object.values(state.rows)
    .filter((r) => r.status === "resolved" && r.instrument_key === instrument && r.horizon_steps === horizon)
    .sort((a, b) => a.ts_target - b.ts_target || a.id - b.id);
  const points: CalibrationPoint[] = [];
  for (let i = 0; i < resolved.length; i++) {
    const slice = resolved.slice(Math.max(0, i - window + 1), i + 1);
    const hits = slice.filter((r) => isHit(r.actual_ret!, r.pred_ret_adj)).length;
    const residuals = slice.filter((r) => r.pred_ret !== undefined).map((r) => r.actual_ret! - r.pred_ret!);
    const bias = residuals.length ? residuals.reduce((s, x) => s + x, 0) / residuals.length : 0;
    const point = { time: resolved[i]!.ts_target, hitRate: hits / slice.length, bias };
    // One point per time: a later resolution at the same target replaces the earlier one.
    if (points.length && points[points.length - 1]!.time === point.time) points[points.length - 1] = point;
    else points.push(point);
  }
  return points;
}
