/* Generated from contracts/ws.schema.json by `npm run gen` (make contract). Do not edit. */
import { z } from "zod";

export const AutomationRunStarted = z.object({
  job_id: z.string(),
  kind: z.string(),
  params: z.record(z.string(), z.unknown()),
});

/** `automation_run.started` on /api/ws/automation */
export const AutomationRunStartedEvent = z.object({
  id: z.int(),
  channel: z.literal("automation"),
  type: z.literal("automation_run.started"),
  payload: AutomationRunStarted,
  ts: z.int().min(0),
});

export const AutomationRunUpdated = z.object({
  job_id: z.string(),
  error: z.string().optional(),
  message: z.string().optional(),
  progress: z.number().min(0).max(1).optional(),
  stats: z.record(z.string(), z.unknown()).optional(),
  status: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]).optional(),
});

/** `automation_run.updated` on /api/ws/automation */
export const AutomationRunUpdatedEvent = z.object({
  id: z.int(),
  channel: z.literal("automation"),
  type: z.literal("automation_run.updated"),
  payload: AutomationRunUpdated,
  ts: z.int().min(0),
});

/** Sent on a connection that has been idle for the heartbeat interval. */
export const StreamHeartbeat = z.object({});

/** `stream.heartbeat` on /api/ws/automation (control frame) */
export const AutomationStreamHeartbeatFrame = z.object({
  id: z.null(),
  channel: z.literal("automation"),
  type: z.literal("stream.heartbeat"),
  payload: StreamHeartbeat,
  ts: z.int().min(0),
});

/** First frame of every connection: where the stream starts and whether the resume held. */
export const StreamReady = z.object({
  epoch: z.string(),
  head_id: z.int().min(0),
  resumed: z.boolean(),
  reason: z.enum(["too_old", "epoch_changed", "ahead"]).nullable(),
  heartbeat_interval: z.number().gt(0),
});

/** `stream.ready` on /api/ws/automation (control frame) */
export const AutomationStreamReadyFrame = z.object({
  id: z.null(),
  channel: z.literal("automation"),
  type: z.literal("stream.ready"),
  payload: StreamReady,
  ts: z.int().min(0),
});

/** Every frame of /api/ws/automation, tagged by `type`. */
export const AutomationMessage = z.union([
  AutomationRunStartedEvent,
  AutomationRunUpdatedEvent,
  AutomationStreamReadyFrame,
  AutomationStreamHeartbeatFrame,
]);

/** Calibration state of one (instrument, interval, horizon, model) after a resolution. */
export const Calibration = z.looseObject({
  n: z.int().min(0),
  bias: z.number(),
  mae: z.number(),
  rmse: z.number(),
  hit_rate: z.number().min(0).max(1),
});

/** The stable envelope of every frame. `id` is null on control frames. */
export const Envelope = z.object({
  id: z.int().nullable(),
  channel: z.string(),
  type: z.string(),
  payload: z.record(z.string(), z.unknown()),
  ts: z.int().min(0),
});

export const HftBroker = z.object({
  broker: z.string(),
});

/** `hft.broker` on /api/ws/hft */
export const HftBrokerEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.broker"),
  payload: HftBroker,
  ts: z.int().min(0),
});

export const HftEntry = z.object({
  trade_id: z.int(),
  instrument_key: z.string(),
  qty: z.int(),
  entry: z.number(),
});

/** `hft.entry` on /api/ws/hft */
export const HftEntryEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.entry"),
  payload: HftEntry,
  ts: z.int().min(0),
});

export const HftError = z.object({
  error: z.string(),
});

/** `hft.error` on /api/ws/hft */
export const HftErrorEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.error"),
  payload: HftError,
  ts: z.int().min(0),
});

export const HftExit = z.object({
  trade_id: z.int(),
  instrument_key: z.string(),
  price: z.number(),
  pnl: z.number(),
  reason: z.string(),
});

/** `hft.exit` on /api/ws/hft */
export const HftExitEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.exit"),
  payload: HftExit,
  ts: z.int().min(0),
});

export const HftFlatten = z.object({
  closed: z.int().min(0),
  errors: z.array(z.string()),
});

/** `hft.flatten` on /api/ws/hft */
export const HftFlattenEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.flatten"),
  payload: HftFlatten,
  ts: z.int().min(0),
});

export const HftManageError = z.object({
  error: z.string(),
});

/** `hft.manage_error` on /api/ws/hft */
export const HftManageErrorEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.manage_error"),
  payload: HftManageError,
  ts: z.int().min(0),
});

export const HftStart = z.object({
  broker: z.string(),
  safe_mode: z.boolean(),
  live_trading_enabled: z.boolean(),
});

/** `hft.start` on /api/ws/hft */
export const HftStartEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.start"),
  payload: HftStart,
  ts: z.int().min(0),
});

/** The engine's state after every transition (signaldesk extension): a client follows it
 * instead of asking `GET /api/hft/status` again. */
export const HftState = z.object({
  state: z.enum(["stopped", "running", "halted"]),
  halted_reason: z.string().nullable(),
  safe_mode: z.boolean(),
  live_trading_enabled: z.boolean(),
  broker: z.string(),
});

/** `hft.state` on /api/ws/hft */
export const HftStateEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.state"),
  payload: HftState,
  ts: z.int().min(0),
});

export const HftStop = z.object({});

/** `hft.stop` on /api/ws/hft */
export const HftStopEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.stop"),
  payload: HftStop,
  ts: z.int().min(0),
});

/** `stream.heartbeat` on /api/ws/hft (control frame) */
export const HftStreamHeartbeatFrame = z.object({
  id: z.null(),
  channel: z.literal("hft"),
  type: z.literal("stream.heartbeat"),
  payload: StreamHeartbeat,
  ts: z.int().min(0),
});

/** `stream.ready` on /api/ws/hft (control frame) */
export const HftStreamReadyFrame = z.object({
  id: z.null(),
  channel: z.literal("hft"),
  type: z.literal("stream.ready"),
  payload: StreamReady,
  ts: z.int().min(0),
});

export const HftTradeRisk = z.object({
  trade_id: z.int(),
  stop: z.number(),
  target: z.number(),
});

/** `hft.trade_risk` on /api/ws/hft */
export const HftTradeRiskEvent = z.object({
  id: z.int(),
  channel: z.literal("hft"),
  type: z.literal("hft.trade_risk"),
  payload: HftTradeRisk,
  ts: z.int().min(0),
});

/** Every frame of /api/ws/hft, tagged by `type`. */
export const HftMessage = z.union([
  HftStartEvent,
  HftStopEvent,
  HftBrokerEvent,
  HftErrorEvent,
  HftFlattenEvent,
  HftEntryEvent,
  HftExitEvent,
  HftTradeRiskEvent,
  HftManageErrorEvent,
  HftStateEvent,
  HftStreamReadyFrame,
  HftStreamHeartbeatFrame,
]);

/** One instrument's bar in a market.bars frame (rupees; volume in shares). */
export const MarketBar = z.object({
  instrument_key: z.string(),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.number().min(0),
});

/** Every instrument's bar that closed at one moment; instruments without a bar are left out. */
export const MarketBars = z.object({
  interval: z.string(),
  ts: z.int().min(0),
  close_ts: z.int().min(0),
  bars: z.array(MarketBar),
});

/** `market.bars` on /api/ws/market (ephemeral) */
export const MarketBarsFrame = z.object({
  id: z.null(),
  channel: z.literal("market"),
  type: z.literal("market.bars"),
  payload: MarketBars,
  ts: z.int().min(0),
});

/** Minutes [first_open, last_close) handed on without the bars of `instruments` (not fetchable). */
export const MarketGap = z.object({
  first_open: z.int().min(0),
  last_close: z.int().min(0),
  minutes: z.int().min(1),
  instruments: z.array(z.string()),
  reason: z.string(),
});

/** What the market source is doing (signaldesk extension): sent on connect and on every change. */
export const MarketStatus = z.object({
  source: z.enum(["off", "simulated", "replay", "upstox"]),
  status: z.enum(["off", "live", "replay", "finished", "failed", "connecting", "market_closed", "stalled", "reconnecting", "token_expired", "no_token"]),
  since: z.int().min(0),
  error: z.string().nullable(),
  segment: z.string().nullable(),
  gap: MarketGap.nullable(),
  connections: z.int().min(0),
  last_bar_close: z.int().min(0).nullable(),
  token_expires_at: z.int().min(0).nullable(),
  warning: z.string().nullable(),
});

/** `market.status` on /api/ws/market (ephemeral) */
export const MarketStatusFrame = z.object({
  id: z.null(),
  channel: z.literal("market"),
  type: z.literal("market.status"),
  payload: MarketStatus,
  ts: z.int().min(0),
});

/** `stream.heartbeat` on /api/ws/market (control frame) */
export const MarketStreamHeartbeatFrame = z.object({
  id: z.null(),
  channel: z.literal("market"),
  type: z.literal("stream.heartbeat"),
  payload: StreamHeartbeat,
  ts: z.int().min(0),
});

/** `stream.ready` on /api/ws/market (control frame) */
export const MarketStreamReadyFrame = z.object({
  id: z.null(),
  channel: z.literal("market"),
  type: z.literal("stream.ready"),
  payload: StreamReady,
  ts: z.int().min(0),
});

/** Every frame of /api/ws/market, tagged by `type`. */
export const MarketMessage = z.union([
  MarketBarsFrame,
  MarketStatusFrame,
  MarketStreamReadyFrame,
  MarketStreamHeartbeatFrame,
]);

export const PredictionCreated = z.object({
  id: z.int(),
  instrument_key: z.string(),
  interval: z.string(),
  horizon_steps: z.int().min(1),
  ts_pred: z.int().min(0),
  ts_target: z.int().min(0),
  pred_ret: z.number(),
  pred_ret_adj: z.number(),
  calib_bias: z.number(),
  model_kind: z.string(),
});

/** `prediction.created` on /api/ws/prediction */
export const PredictionCreatedEvent = z.object({
  id: z.int(),
  channel: z.literal("prediction"),
  type: z.literal("prediction.created"),
  payload: PredictionCreated,
  ts: z.int().min(0),
});

export const PredictionResolved = z.object({
  id: z.int(),
  instrument_key: z.string(),
  interval: z.string(),
  horizon_steps: z.int().min(1),
  ts_pred: z.int().min(0),
  ts_target: z.int().min(0),
  actual_ret: z.number(),
  pred_ret_adj: z.number(),
  error: z.number(),
  calibration: Calibration,
});

/** `prediction.resolved` on /api/ws/prediction */
export const PredictionResolvedEvent = z.object({
  id: z.int(),
  channel: z.literal("prediction"),
  type: z.literal("prediction.resolved"),
  payload: PredictionResolved,
  ts: z.int().min(0),
});

/** `stream.heartbeat` on /api/ws/prediction (control frame) */
export const PredictionStreamHeartbeatFrame = z.object({
  id: z.null(),
  channel: z.literal("prediction"),
  type: z.literal("stream.heartbeat"),
  payload: StreamHeartbeat,
  ts: z.int().min(0),
});

/** `stream.ready` on /api/ws/prediction (control frame) */
export const PredictionStreamReadyFrame = z.object({
  id: z.null(),
  channel: z.literal("prediction"),
  type: z.literal("stream.ready"),
  payload: StreamReady,
  ts: z.int().min(0),
});

export const PredictorCycle = z.object({
  created: z.int().min(0),
  resolved: z.int().min(0),
  anchor: z.int().min(0),
});

/** `predictor.cycle` on /api/ws/prediction */
export const PredictorCycleEvent = z.object({
  id: z.int(),
  channel: z.literal("prediction"),
  type: z.literal("predictor.cycle"),
  payload: PredictorCycle,
  ts: z.int().min(0),
});

export const PredictorError = z.object({
  error: z.string(),
});

/** `predictor.error` on /api/ws/prediction */
export const PredictorErrorEvent = z.object({
  id: z.int(),
  channel: z.literal("prediction"),
  type: z.literal("predictor.error"),
  payload: PredictorError,
  ts: z.int().min(0),
});

export const PredictorStart = z.object({
  instruments: z.array(z.string()),
  cfg: z.record(z.string(), z.unknown()),
});

/** `predictor.start` on /api/ws/prediction */
export const PredictorStartEvent = z.object({
  id: z.int(),
  channel: z.literal("prediction"),
  type: z.literal("predictor.start"),
  payload: PredictorStart,
  ts: z.int().min(0),
});

export const PredictorStop = z.object({});

/** `predictor.stop` on /api/ws/prediction */
export const PredictorStopEvent = z.object({
  id: z.int(),
  channel: z.literal("prediction"),
  type: z.literal("predictor.stop"),
  payload: PredictorStop,
  ts: z.int().min(0),
});

/** Every frame of /api/ws/prediction, tagged by `type`. */
export const PredictionMessage = z.union([
  PredictorStartEvent,
  PredictorStopEvent,
  PredictorErrorEvent,
  PredictionCreatedEvent,
  PredictionResolvedEvent,
  PredictorCycleEvent,
  PredictionStreamReadyFrame,
  PredictionStreamHeartbeatFrame,
]);

export const TrainingFailed = z.object({
  job_id: z.string(),
  error: z.string().optional(),
  result: z.record(z.string(), z.unknown()).optional(),
});

/** `training.failed` on /api/ws/training */
export const TrainingFailedEvent = z.object({
  id: z.int(),
  channel: z.literal("training"),
  type: z.literal("training.failed"),
  payload: TrainingFailed,
  ts: z.int().min(0),
});

export const TrainingProgress = z.object({
  job_id: z.string(),
  progress: z.number().min(0).max(1),
  message: z.string(),
  metrics: z.record(z.string(), z.unknown()),
});

/** `training.progress` on /api/ws/training */
export const TrainingProgressEvent = z.object({
  id: z.int(),
  channel: z.literal("training"),
  type: z.literal("training.progress"),
  payload: TrainingProgress,
  ts: z.int().min(0),
});

export const TrainingStarted = z.object({
  job_id: z.string(),
  kind: z.string(),
  instrument_key: z.string(),
  interval: z.string(),
});

/** `training.started` on /api/ws/training */
export const TrainingStartedEvent = z.object({
  id: z.int(),
  channel: z.literal("training"),
  type: z.literal("training.started"),
  payload: TrainingStarted,
  ts: z.int().min(0),
});

/** `stream.heartbeat` on /api/ws/training (control frame) */
export const TrainingStreamHeartbeatFrame = z.object({
  id: z.null(),
  channel: z.literal("training"),
  type: z.literal("stream.heartbeat"),
  payload: StreamHeartbeat,
  ts: z.int().min(0),
});

/** `stream.ready` on /api/ws/training (control frame) */
export const TrainingStreamReadyFrame = z.object({
  id: z.null(),
  channel: z.literal("training"),
  type: z.literal("stream.ready"),
  payload: StreamReady,
  ts: z.int().min(0),
});

export const TrainingSucceeded = z.object({
  job_id: z.string(),
  result: z.record(z.string(), z.unknown()),
});

/** `training.succeeded` on /api/ws/training */
export const TrainingSucceededEvent = z.object({
  id: z.int(),
  channel: z.literal("training"),
  type: z.literal("training.succeeded"),
  payload: TrainingSucceeded,
  ts: z.int().min(0),
});

/** Every frame of /api/ws/training, tagged by `type`. */
export const TrainingMessage = z.union([
  TrainingStartedEvent,
  TrainingProgressEvent,
  TrainingSucceededEvent,
  TrainingFailedEvent,
  TrainingStreamReadyFrame,
  TrainingStreamHeartbeatFrame,
]);

/** Any frame of any stream (the four channels and `market`): narrow on `channel`, then on `type`. */
export const WsMessage = z.union([
  PredictionMessage,
  AutomationMessage,
  TrainingMessage,
  HftMessage,
  MarketMessage,
]);

/** Every frame's parser by stream and type. */
export const FRAMES = {
  prediction: {
    "predictor.start": PredictorStartEvent,
    "predictor.stop": PredictorStopEvent,
    "predictor.error": PredictorErrorEvent,
    "prediction.created": PredictionCreatedEvent,
    "prediction.resolved": PredictionResolvedEvent,
    "predictor.cycle": PredictorCycleEvent,
    "stream.ready": PredictionStreamReadyFrame,
    "stream.heartbeat": PredictionStreamHeartbeatFrame,
  },
  automation: {
    "automation_run.started": AutomationRunStartedEvent,
    "automation_run.updated": AutomationRunUpdatedEvent,
    "stream.ready": AutomationStreamReadyFrame,
    "stream.heartbeat": AutomationStreamHeartbeatFrame,
  },
  training: {
    "training.started": TrainingStartedEvent,
    "training.progress": TrainingProgressEvent,
    "training.succeeded": TrainingSucceededEvent,
    "training.failed": TrainingFailedEvent,
    "stream.ready": TrainingStreamReadyFrame,
    "stream.heartbeat": TrainingStreamHeartbeatFrame,
  },
  hft: {
    "hft.start": HftStartEvent,
    "hft.stop": HftStopEvent,
    "hft.broker": HftBrokerEvent,
    "hft.error": HftErrorEvent,
    "hft.flatten": HftFlattenEvent,
    "hft.entry": HftEntryEvent,
    "hft.exit": HftExitEvent,
    "hft.trade_risk": HftTradeRiskEvent,
    "hft.manage_error": HftManageErrorEvent,
    "hft.state": HftStateEvent,
    "stream.ready": HftStreamReadyFrame,
    "stream.heartbeat": HftStreamHeartbeatFrame,
  },
  market: {
    "market.bars": MarketBarsFrame,
    "market.status": MarketStatusFrame,
    "stream.ready": MarketStreamReadyFrame,
    "stream.heartbeat": MarketStreamHeartbeatFrame,
  },
} as const;
