/** Envelopes for reducer tests: typed, with ids you choose. */
import type { Channel, EventOf } from "../../src/lib/ws";
import type { MarketStatus, PredictionCreated } from "../../src/lib/ws.gen";

const TS = 1739570000;
export const RELIANCE = "NSE_EQ|INE002A01018";
export const TCS = "NSE_EQ|INE467B01029";

/** The event builder of one channel: `(id, type, payload)`, the payload's type chosen by `type`. */
function channelEvents<const C extends Channel>(channel: C) {
  return <T extends EventOf<C>["type"]>(id: number, type: T, payload: Extract<EventOf<C>, { type: T }>["payload"]): EventOf<C> =>
    ({ id, channel, type, payload, ts: TS + id }) as EventOf<C>;
}

export const hft = channelEvents("hft");
export const training = channelEvents("training");
export const automation = channelEvents("automation");
const predictionEvent = channelEvents("prediction");

/** The fields that identify prediction `prediction` (RELIANCE, 1m, one bar ahead), in contract order. */
function predictionFields(prediction: number) {
  return {
    id: prediction,
    instrument_key: RELIANCE,
    interval: "1m",
    horizon_steps: 1,
    ts_pred: 1000 + prediction * 60,
    ts_target: 1060 + prediction * 60,
  };
}

export function created(id: number, prediction: number, over: Partial<PredictionCreated> = {}): EventOf<"prediction"> {
  return predictionEvent(id, "prediction.created", {
    ...predictionFields(prediction),
    pred_ret: 0.001,
    pred_ret_adj: 0.0008,
    calib_bias: -0.0002,
    model_kind: "ridge",
    ...over,
  });
}

export function resolved(id: number, prediction: number, actual: number, over: Record<string, unknown> = {}): EventOf<"prediction"> {
  return predictionEvent(id, "prediction.resolved", {
    ...predictionFields(prediction),
    actual_ret: actual,
    pred_ret_adj: 0.0008,
    error: actual - 0.0008,
    calibration: { n: prediction, bias: 0.0001, mae: 0.001, rmse: 0.002, hit_rate: 0.5 },
    ...over,
  });
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

/** A market.status payload: Upstox live unless overridden. */
export function marketStatus(over: Partial<MarketStatus> = {}): MarketStatus {
  return {
    source: "upstox",
    status: "live",
    since: 1739592312,
    error: null,
    segment: "NORMAL_OPEN",
    gap: null,
    connections: 1,
    last_bar_close: null,
    token_expires_at: null,
    warning: null,
    ...over,
  };
}
