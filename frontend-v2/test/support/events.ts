/** Envelopes for reducer tests: typed, with ids you choose. */
import type { EventOf } from "../../src/lib/ws";
import type { PredictionCreated } from "../../src/lib/ws.gen";

const TS = 1739570000;
export const RELIANCE = "NSE_EQ|INE002A01018";
export const TCS = "NSE_EQ|INE467B01029";

export function created(id: number, prediction: number, over: Partial<PredictionCreated> = {}): EventOf<"prediction"> {
  return {
    id,
    channel: "prediction",
    type: "prediction.created",
    ts: TS + id,
    payload: {
      id: prediction,
      instrument_key: RELIANCE,
      interval: "1m",
      horizon_steps: 1,
      ts_pred: 1000 + prediction * 60,
      ts_target: 1060 + prediction * 60,
      pred_ret: 0.001,
      pred_ret_adj: 0.0008,
      calib_bias: -0.0002,
      model_kind: "ridge",
      ...over,
    },
  };
}

export function resolved(id: number, prediction: number, actual: number, over: Record<string, unknown> = {}): EventOf<"prediction"> {
  return {
    id,
    channel: "prediction",
    type: "prediction.resolved",
    ts: TS + id,
    payload: {
      id: prediction,
      instrument_key: RELIANCE,
      interval: "1m",
      horizon_steps: 1,
      ts_pred: 1000 + prediction * 60,
      ts_target: 1060 + prediction * 60,
      actual_ret: actual,
      pred_ret_adj: 0.0008,
      error: actual - 0.0008,
      calibration: { n: prediction, bias: 0.0001, mae: 0.001, rmse: 0.002, hit_rate: 0.5 },
      ...over,
    },
  };
}

export function hft<T extends EventOf<"hft">["type"]>(id: number, type: T, payload: Extract<EventOf<"hft">, { type: T }>["payload"]): EventOf<"hft"> {
  return { id, channel: "hft", type, payload, ts: TS + id } as EventOf<"hft">;
}

export function training<T extends EventOf<"training">["type"]>(
  id: number,
  type: T,
  payload: Extract<EventOf<"training">, { type: T }>["payload"],
): EventOf<"training"> {
  return { id, channel: "training", type, payload, ts: TS + id } as EventOf<"training">;
}

export function automation<T extends EventOf<"automation">["type"]>(
  id: number,
  type: T,
  payload: Extract<EventOf<"automation">, { type: T }>["payload"],
): EventOf<"automation"> {
  return { id, channel: "automation", type, payload, ts: TS + id } as EventOf<"automation">;
}

export function bars(ts: number, closes: Record<string, number>) {
  return {
    interval: "1m",
    ts,
    close_ts: ts + 60,
    bars: Object.entries(closes).map(([instrument_key, close]) => ({
      instrument_key,
      open: close,
      high: close + 1,
      low: close - 1,
      close,
      volume: 100,
    })),
  };
}
