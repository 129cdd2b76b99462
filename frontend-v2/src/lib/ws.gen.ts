/* Generated from contracts/ws.schema.json by `npm run gen` (make contract). Do not edit. */

/**
 * Any frame of any stream (the four channels and `market`): narrow on `channel`, then on `type`.
 */
export type WsMessage = PredictionMessage | AutomationMessage | TrainingMessage | HftMessage | MarketMessage;
/**
 * Every frame of /api/ws/prediction, tagged by `type`.
 */
export type PredictionMessage =
  | PredictorStartEvent
  | PredictorStopEvent
  | PredictorErrorEvent
  | PredictionCreatedEvent
  | PredictionResolvedEvent
  | PredictorCycleEvent
  | PredictionStreamReadyFrame
  | PredictionStreamHeartbeatFrame;
/**
 * Every frame of /api/ws/automation, tagged by `type`.
 */
export type AutomationMessage =
  AutomationRunStartedEvent | AutomationRunUpdatedEvent | AutomationStreamReadyFrame | AutomationStreamHeartbeatFrame;
/**
 * Every frame of /api/ws/training, tagged by `type`.
 */
export type TrainingMessage =
  | TrainingStartedEvent
  | TrainingProgressEvent
  | TrainingSucceededEvent
  | TrainingFailedEvent
  | TrainingStreamReadyFrame
  | TrainingStreamHeartbeatFrame;
/**
 * Every frame of /api/ws/hft, tagged by `type`.
 */
export type HftMessage =
  | HftStartEvent
  | HftStopEvent
  | HftBrokerEvent
  | HftErrorEvent
  | HftFlattenEvent
  | HftEntryEvent
  | HftExitEvent
  | HftTradeRiskEvent
  | HftManageErrorEvent
  | HftStateEvent
  | HftStreamReadyFrame
  | HftStreamHeartbeatFrame;
/**
 * Every frame of /api/ws/market, tagged by `type`.
 */
export type MarketMessage = MarketBarsFrame | MarketStatusFrame | MarketStreamReadyFrame | MarketStreamHeartbeatFrame;

/**
 * `predictor.start` on /api/ws/prediction
 */
export interface PredictorStartEvent {
  channel: "prediction";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: PredictorStart;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "predictor.start";
}
export interface PredictorStart {
  cfg: {
    [k: string]: unknown;
  };
  instruments: string[];
}
/**
 * `predictor.stop` on /api/ws/prediction
 */
export interface PredictorStopEvent {
  channel: "prediction";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: PredictorStop;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "predictor.stop";
}
export interface PredictorStop {}
/**
 * `predictor.error` on /api/ws/prediction
 */
export interface PredictorErrorEvent {
  channel: "prediction";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: PredictorError;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "predictor.error";
}
export interface PredictorError {
  error: string;
}
/**
 * `prediction.created` on /api/ws/prediction
 */
export interface PredictionCreatedEvent {
  channel: "prediction";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: PredictionCreated;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "prediction.created";
}
export interface PredictionCreated {
  calib_bias: number;
  horizon_steps: number;
  id: number;
  instrument_key: string;
  interval: string;
  model_kind: string;
  pred_ret: number;
  pred_ret_adj: number;
  /**
   * UTC epoch seconds
   */
  ts_pred: number;
  /**
   * UTC epoch seconds
   */
  ts_target: number;
}
/**
 * `prediction.resolved` on /api/ws/prediction
 */
export interface PredictionResolvedEvent {
  channel: "prediction";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: PredictionResolved;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "prediction.resolved";
}
export interface PredictionResolved {
  actual_ret: number;
  calibration: Calibration;
  error: number;
  horizon_steps: number;
  id: number;
  instrument_key: string;
  interval: string;
  pred_ret_adj: number;
  /**
   * UTC epoch seconds
   */
  ts_pred: number;
  /**
   * UTC epoch seconds
   */
  ts_target: number;
}
/**
 * Calibration state of one (instrument, interval, horizon, model) after a resolution.
 */
export interface Calibration {
  bias: number;
  hit_rate: number;
  mae: number;
  n: number;
  rmse: number;
  [k: string]: unknown;
}
/**
 * `predictor.cycle` on /api/ws/prediction
 */
export interface PredictorCycleEvent {
  channel: "prediction";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: PredictorCycle;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "predictor.cycle";
}
export interface PredictorCycle {
  /**
   * UTC epoch seconds
   */
  anchor: number;
  created: number;
  resolved: number;
}
/**
 * `stream.ready` on /api/ws/prediction (control frame)
 */
export interface PredictionStreamReadyFrame {
  channel: "prediction";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamReady;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.ready";
}
/**
 * First frame of every connection: where the stream starts and whether the resume held.
 */
export interface StreamReady {
  epoch: string;
  head_id: number;
  /**
   * seconds between heartbeats on an idle connection
   */
  heartbeat_interval: number;
  reason: ("too_old" | "epoch_changed" | "ahead") | null;
  resumed: boolean;
}
/**
 * `stream.heartbeat` on /api/ws/prediction (control frame)
 */
export interface PredictionStreamHeartbeatFrame {
  channel: "prediction";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamHeartbeat;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.heartbeat";
}
/**
 * Sent on a connection that has been idle for the heartbeat interval.
 */
export interface StreamHeartbeat {}
/**
 * `automation_run.started` on /api/ws/automation
 */
export interface AutomationRunStartedEvent {
  channel: "automation";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: AutomationRunStarted;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "automation_run.started";
}
export interface AutomationRunStarted {
  job_id: string;
  kind: string;
  params: {
    [k: string]: unknown;
  };
}
/**
 * `automation_run.updated` on /api/ws/automation
 */
export interface AutomationRunUpdatedEvent {
  channel: "automation";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: AutomationRunUpdated;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "automation_run.updated";
}
export interface AutomationRunUpdated {
  error?: string;
  job_id: string;
  message?: string;
  progress?: number;
  stats?: {
    [k: string]: unknown;
  };
  status?: "queued" | "running" | "succeeded" | "failed" | "cancelled";
}
/**
 * `stream.ready` on /api/ws/automation (control frame)
 */
export interface AutomationStreamReadyFrame {
  channel: "automation";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamReady;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.ready";
}
/**
 * `stream.heartbeat` on /api/ws/automation (control frame)
 */
export interface AutomationStreamHeartbeatFrame {
  channel: "automation";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamHeartbeat;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.heartbeat";
}
/**
 * `training.started` on /api/ws/training
 */
export interface TrainingStartedEvent {
  channel: "training";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: TrainingStarted;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "training.started";
}
export interface TrainingStarted {
  instrument_key: string;
  interval: string;
  job_id: string;
  kind: string;
}
/**
 * `training.progress` on /api/ws/training
 */
export interface TrainingProgressEvent {
  channel: "training";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: TrainingProgress;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "training.progress";
}
export interface TrainingProgress {
  job_id: string;
  message: string;
  metrics: {
    [k: string]: unknown;
  };
  progress: number;
}
/**
 * `training.succeeded` on /api/ws/training
 */
export interface TrainingSucceededEvent {
  channel: "training";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: TrainingSucceeded;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "training.succeeded";
}
export interface TrainingSucceeded {
  job_id: string;
  result: {
    [k: string]: unknown;
  };
}
/**
 * `training.failed` on /api/ws/training
 */
export interface TrainingFailedEvent {
  channel: "training";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: TrainingFailed;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "training.failed";
}
export interface TrainingFailed {
  error?: string;
  job_id: string;
  result?: {
    [k: string]: unknown;
  };
}
/**
 * `stream.ready` on /api/ws/training (control frame)
 */
export interface TrainingStreamReadyFrame {
  channel: "training";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamReady;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.ready";
}
/**
 * `stream.heartbeat` on /api/ws/training (control frame)
 */
export interface TrainingStreamHeartbeatFrame {
  channel: "training";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamHeartbeat;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.heartbeat";
}
/**
 * `hft.start` on /api/ws/hft
 */
export interface HftStartEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftStart;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.start";
}
export interface HftStart {
  broker: string;
  live_trading_enabled: boolean;
  safe_mode: boolean;
}
/**
 * `hft.stop` on /api/ws/hft
 */
export interface HftStopEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftStop;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.stop";
}
export interface HftStop {}
/**
 * `hft.broker` on /api/ws/hft
 */
export interface HftBrokerEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftBroker;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.broker";
}
export interface HftBroker {
  broker: string;
}
/**
 * `hft.error` on /api/ws/hft
 */
export interface HftErrorEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftError;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.error";
}
export interface HftError {
  error: string;
}
/**
 * `hft.flatten` on /api/ws/hft
 */
export interface HftFlattenEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftFlatten;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.flatten";
}
export interface HftFlatten {
  closed: number;
  errors: string[];
}
/**
 * `hft.entry` on /api/ws/hft
 */
export interface HftEntryEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftEntry;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.entry";
}
export interface HftEntry {
  entry: number;
  instrument_key: string;
  /**
   * shares; positive for a long, negative for a short
   */
  qty: number;
  trade_id: number;
}
/**
 * `hft.exit` on /api/ws/hft
 */
export interface HftExitEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftExit;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.exit";
}
export interface HftExit {
  instrument_key: string;
  pnl: number;
  price: number;
  reason: string;
  trade_id: number;
}
/**
 * `hft.trade_risk` on /api/ws/hft
 */
export interface HftTradeRiskEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftTradeRisk;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.trade_risk";
}
export interface HftTradeRisk {
  stop: number;
  target: number;
  trade_id: number;
}
/**
 * `hft.manage_error` on /api/ws/hft
 */
export interface HftManageErrorEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftManageError;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.manage_error";
}
export interface HftManageError {
  error: string;
}
/**
 * `hft.state` on /api/ws/hft
 */
export interface HftStateEvent {
  channel: "hft";
  /**
   * event id: one strictly increasing sequence for the whole bus
   */
  id: number;
  payload: HftState;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "hft.state";
}
/**
 * The engine's state after every transition (signaldesk extension): a client follows it
 * instead of asking `GET /api/hft/status` again.
 */
export interface HftState {
  broker: string;
  /**
   * why it is halted; null unless halted
   */
  halted_reason: string | null;
  live_trading_enabled: boolean;
  safe_mode: boolean;
  state: "stopped" | "running" | "halted";
}
/**
 * `stream.ready` on /api/ws/hft (control frame)
 */
export interface HftStreamReadyFrame {
  channel: "hft";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamReady;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.ready";
}
/**
 * `stream.heartbeat` on /api/ws/hft (control frame)
 */
export interface HftStreamHeartbeatFrame {
  channel: "hft";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamHeartbeat;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.heartbeat";
}
/**
 * `market.bars` on /api/ws/market (ephemeral)
 */
export interface MarketBarsFrame {
  channel: "market";
  /**
   * always null: ephemeral streams store nothing
   */
  id: null;
  payload: MarketBars;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "market.bars";
}
/**
 * Every instrument's bar that closed at one moment; instruments without a bar are left out.
 */
export interface MarketBars {
  bars: MarketBar[];
  /**
   * bar close, UTC epoch seconds
   */
  close_ts: number;
  interval: string;
  /**
   * bar open, UTC epoch seconds
   */
  ts: number;
}
/**
 * One instrument's bar in a market.bars frame (rupees; volume in shares).
 */
export interface MarketBar {
  close: number;
  high: number;
  instrument_key: string;
  low: number;
  open: number;
  volume: number;
}
/**
 * `market.status` on /api/ws/market (ephemeral)
 */
export interface MarketStatusFrame {
  channel: "market";
  /**
   * always null: ephemeral streams store nothing
   */
  id: null;
  payload: MarketStatus;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "market.status";
}
/**
 * What the market source is doing (signaldesk extension): sent on connect and on every change.
 */
export interface MarketStatus {
  /**
   * feed connections opened so far (Upstox)
   */
  connections: number;
  /**
   * the last failure, kept until the source is live again
   */
  error: string | null;
  /**
   * the last span of minutes that could not be fetched
   */
  gap: MarketGap | null;
  /**
   * close of the last bars handed on
   */
  last_bar_close: number | null;
  /**
   * Upstox's NSE_EQ segment status, e.g. NORMAL_OPEN
   */
  segment: string | null;
  /**
   * wall-clock UTC epoch seconds of the last status change
   */
  since: number;
  /**
   * the market source of SIGNALDESK_MARKET_SOURCE
   */
  source: "off" | "simulated" | "replay" | "upstox";
  /**
   * off, live, replay, finished, failed; the Upstox feed's own statuses (docs/upstox.md)
   */
  status:
    | "off"
    | "live"
    | "replay"
    | "finished"
    | "failed"
    | "connecting"
    | "market_closed"
    | "stalled"
    | "reconnecting"
    | "token_expired"
    | "no_token";
  /**
   * the Upstox access token's expiry (its JWT exp), when readable
   */
  token_expires_at: number | null;
  /**
   * e.g. a token that will not last the coming session
   */
  warning: string | null;
}
/**
 * Minutes [first_open, last_close) handed on without the bars of `instruments` (not fetchable).
 */
export interface MarketGap {
  /**
   * UTC epoch seconds
   */
  first_open: number;
  instruments: string[];
  /**
   * UTC epoch seconds
   */
  last_close: number;
  minutes: number;
  reason: string;
}
/**
 * `stream.ready` on /api/ws/market (control frame)
 */
export interface MarketStreamReadyFrame {
  channel: "market";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamReady;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.ready";
}
/**
 * `stream.heartbeat` on /api/ws/market (control frame)
 */
export interface MarketStreamHeartbeatFrame {
  channel: "market";
  /**
   * always null: control frames are not stored
   */
  id: null;
  payload: StreamHeartbeat;
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: "stream.heartbeat";
}

/**
 * The stable envelope of every frame. `id` is null on control frames.
 */
export interface Envelope {
  channel: string;
  id: number | null;
  payload: {
    [k: string]: unknown;
  };
  /**
   * UTC epoch seconds
   */
  ts: number;
  type: string;
}
