/** Predictor state: events applied once, rows merged by prediction id in any order, REST loads, reset, calibration series. */
import { describe, expect, test } from "vitest";
import {
  applyPredictionEvent,
  calibrationSeries,
  initialPredictions,
  latestPredictions,
  loadPredictions,
  MAX_ROWS,
  recentResolved,
  type PredictionState,
} from "../../src/state/prediction";
import { applyAll } from "../../src/state/synced";
import type { EventOf } from "../../src/lib/ws";
import { created, RELIANCE, resolved, TCS } from "../support/events";

const applyEvents = (events: EventOf<"prediction">[], from: PredictionState = initialPredictions) =>
  events.reduce(applyPredictionEvent, from);

describe("applying events", () => {
  test("created then resolved is one row, resolved, with both sides' fields", () => {
    const s = applyEvents([created(1, 7), resolved(2, 7, 0.002)]);
    expect(Object.keys(s.rows)).toEqual(["7"]);
    expect(s.rows[7]).toMatchObject({ status: "resolved", pred_ret: 0.001, calib_bias: -0.0002, actual_ret: 0.002, model_kind: "ridge" });
    expect(s.lastId).toBe(2);
    expect(Object.values(s.calibration)).toEqual([
      expect.objectContaining({ instrument_key: RELIANCE, horizon_steps: 1, model_kind: "ridge", n: 7, hit_rate: 0.5 }),
    ]);
  });

  test("an event applied twice, or an older id, changes nothing (same object)", () => {
    const once = applyEvents([created(1, 7), resolved(2, 7, 0.002)]);
    expect(applyPredictionEvent(once, resolved(2, 7, 0.002))).toBe(once);
    expect(applyPredictionEvent(once, created(1, 7))).toBe(once);
  });

  test("resolved before created (a replay order): the row stays resolved", () => {
    const s = applyAll(initialPredictions, [resolved(5, 7, -0.001), created(9, 7)], applyPredictionEvent);
    expect(s.rows[7]).toMatchObject({ status: "resolved", actual_ret: -0.001, pred_ret: 0.001 });
  });

  test("start, stop, errors and cycles", () => {
    const s = applyEvents([
      { id: 1, channel: "prediction", type: "predictor.start", ts: 1, payload: { instruments: [RELIANCE], cfg: { horizons: [1] } } },
      { id: 2, channel: "prediction", type: "predictor.cycle", ts: 2, payload: { created: 2, resolved: 1, anchor: 1060 } },
      { id: 3, channel: "prediction", type: "predictor.error", ts: 3, payload: { error: "no bar for TCS" } },
    ]);
    expect(s.predictor).toEqual({ state: "running", instruments: [RELIANCE], cfg: { horizons: [1] } });
    expect(s.lastCycle).toEqual({ created: 2, resolved: 1, anchor: 1060 });
    expect(s.errors.map((e) => e.error)).toEqual(["no bar for TCS"]);
    const stopped = applyPredictionEvent(s, { id: 4, channel: "prediction", type: "predictor.stop", ts: 4, payload: {} });
    expect(stopped.predictor.state).toBe("stopped");
  });

  test("rows are bounded to the newest prediction ids", () => {
    const events = Array.from({ length: MAX_ROWS + 10 }, (_, i) => created(i + 1, i + 1));
    const s = applyEvents(events);
    expect(Object.keys(s.rows)).toHaveLength(MAX_ROWS);
    expect(s.rows[1]).toBeUndefined();
    expect(s.rows[MAX_ROWS + 10]).toBeDefined();
  });
});

describe("REST load, then live events", () => {
  const rest = {
    status: { state: "running", instruments: [RELIANCE, TCS], cfg: { model_kind: "ridge" } },
    predictions: [
      { id: 8, instrument_key: RELIANCE, interval: "1m", horizon_steps: 1, ts_pred: 1480, ts_target: 1540, status: "open", pred_ret: 0.001, pred_ret_adj: 0.0008, calib_bias: -0.0002, model_kind: "ridge", actual_ret: null, error: null },
      { id: 7, instrument_key: RELIANCE, interval: "1m", horizon_steps: 1, ts_pred: 1420, ts_target: 1480, status: "resolved", pred_ret: 0.001, pred_ret_adj: 0.0008, calib_bias: -0.0002, model_kind: "ridge", actual_ret: 0.002, error: 0.0012 },
    ],
    calibration: [{ instrument_key: RELIANCE, interval: "1m", horizon_steps: 1, model_kind: "ridge", n: 7, bias: 0, mae: 0, rmse: 0, hit_rate: 1 }],
  };

  test("events the load already covers (ids <= head) are dropped; later ones for the same prediction merge", () => {
    const loaded = loadPredictions(initialPredictions, rest, 100);
    expect(loaded.predictor.state).toBe("running");
    expect(loaded.lastId).toBe(100);
    expect(applyPredictionEvent(loaded, resolved(90, 8, 0.5))).toBe(loaded);
    // The REST answer already had prediction 8's creation; its live event (id 101) adds nothing new.
    const s = applyEvents([created(101, 8), resolved(102, 8, 0.003)], loaded);
    expect(Object.keys(s.rows).sort()).toEqual(["7", "8"]);
    expect(s.rows[8]).toMatchObject({ status: "resolved", actual_ret: 0.003 });
    expect(recentResolved(s, 10).map((r) => r.id)).toEqual([8, 7]);
  });

  test("a reload merges into what is shown without duplicating rows, and never reopens a resolved row", () => {
    const live = applyEvents([created(101, 8), resolved(102, 8, 0.003)], loadPredictions(initialPredictions, rest, 100));
    const reloaded = loadPredictions(live, rest, 102);
    expect(Object.keys(reloaded.rows).sort()).toEqual(["7", "8"]);
    expect(reloaded.rows[8]!.status).toBe("resolved");
  });

  test("a reset starts from the initial state: only the reloaded rows remain", () => {
    const stale = applyEvents([created(1, 1), created(2, 2)]);
    expect(Object.keys(stale.rows)).toEqual(["1", "2"]);
    const fresh = loadPredictions(initialPredictions, rest, 4);
    expect(Object.keys(fresh.rows).sort()).toEqual(["7", "8"]);
    expect(applyPredictionEvent(fresh, created(5, 9)).rows[9]).toBeDefined(); // a new log's small ids still apply
  });
});

describe("selectors", () => {
  test("latest: the newest prediction per instrument and horizon", () => {
    const s = applyEvents([
      created(1, 1),
      created(2, 2),
      created(3, 3, { horizon_steps: 5 }),
      created(4, 4, { instrument_key: TCS }),
    ]);
    expect(latestPredictions(s).map((r) => [r.instrument_key, r.horizon_steps, r.id])).toEqual([
      [RELIANCE, 1, 2],
      [RELIANCE, 5, 3],
      [TCS, 1, 4],
    ]);
  });

  test("calibration series: rolling hit rate and bias (actual - pred_ret) per resolution", () => {
    const events: EventOf<"prediction">[] = [];
    const actuals = [0.002, -0.001, 0.003, 0.001];
    actuals.forEach((a, i) => events.push(created(2 * i + 1, i + 1), resolved(2 * i + 2, i + 1, a)));
    const series = calibrationSeries(applyEvents(events), RELIANCE, 1, 2);
    expect(series.map((p) => p.hitRate)).toEqual([1, 0.5, 0.5, 1]);
    expect(series[0]!.bias).toBeCloseTo(0.002 - 0.001, 12);
    expect(series[3]!.bias).toBeCloseTo((0.003 - 0.001 + 0.001 - 0.001) / 2, 12);
    expect(series.map((p) => p.time)).toEqual([1120, 1180, 1240, 1300]);
  });
});
