/**
 * The WebSocket contract in zod: parsers for the envelope, every payload and the control frames.
 *
 * Binding text: docs/websocket-contracts.md. The types are the generated ones (ws.gen.ts, from
 * contracts/ws.schema.json, from the Pydantic models); the checks at the bottom of this file
 * make `tsc` fail when a parser's inferred type differs from its generated type.
 *
 * Streams: the four EventBus channels (stored events with ids, resumable) and the ephemeral
 * `market` stream (frames with `id: null`, nothing stored, no resume).
 *
 * Readers are lenient where the docs say so: unknown fields are dropped (calibration keeps
 * them: "more may follow"), and an unknown channel or type is a result, never an exception.
 * They are strict on everything else: no coercion, and an optional field is absent, never null.
 */
import { z } from "zod";
import type * as gen from "./ws.gen";

export type WsMessage = gen.WsMessage;
/** Every stream a client can open at /api/ws/{stream}: the channels and the ephemeral streams. */
export type Stream = WsMessage["channel"];
/** Streams that store nothing: `id` is always null, no replay, no resume. */
export type EphemeralStream = (typeof EPHEMERAL_STREAMS)[number];
/** The EventBus channels: stored events with ids, resumable. */
export type Channel = Exclude<Stream, EphemeralStream>;
export type ControlType = "stream.ready" | "stream.heartbeat";
type DataType = Exclude<WsMessage["type"], ControlType>;
// Looked up in mapped types (not `Extract<WsMessage, {channel: C}>` directly) so that code
// generic in C still sees the members every stream's frames have, such as `id`.
type ByStream<Shape> = { [S in Stream]: Extract<WsMessage, { channel: S } & Shape> };
/** Every frame one stream's socket can carry: its events and its control frames. */
export type MessageOf<C extends Stream> = ByStream<unknown>[C];
/** What a stream carries besides control frames: a channel's stored events (`id` a number), an ephemeral stream's frames (`id` null). */
export type EventOf<C extends Stream> = ByStream<{ type: DataType }>[C];
/** `stream.ready` and `stream.heartbeat` of a stream (`id` is null). */
export type ControlFrameOf<C extends Stream> = ByStream<{ type: ControlType }>[C];
export type ResumeFailure = NonNullable<gen.StreamReady["reason"]>;

// --- field types (docs: "Field types") ---------------------------------------------------------

const integer = z.int();
const count = z.int().nonnegative();
const epochSeconds = z.int().nonnegative();
const fraction = z.number().min(0).max(1);
const jsonObject = z.record(z.string(), z.unknown());
const jobStatus = z.enum(["queued", "running", "succeeded", "failed", "cancelled"]);

// --- payloads -------------------------------------------------------------------------------

const PredictorStart = z.object({ instruments: z.array(z.string()), cfg: jsonObject });
const PredictorStop = z.object({});
const PredictorError = z.object({ error: z.string() });
const Calibration = z.looseObject({ n: count, bias: z.number(), mae: z.number(), rmse: z.number(), hit_rate: fraction });
/** What identifies a prediction; shared by prediction.created and prediction.resolved (fields in contract order). */
const PredictionFields = z.object({
  id: integer,
  instrument_key: z.string(),
  interval: z.string(),
  horizon_steps: z.int().min(1),
  ts_pred: epochSeconds,
  ts_target: epochSeconds,
});
const PredictionCreated = PredictionFields.extend({
  pred_ret: z.number(),
  pred_ret_adj: z.number(),
  calib_bias: z.number(),
  model_kind: z.string(),
});
const PredictionResolved = PredictionFields.extend({
  actual_ret: z.number(),
  pred_ret_adj: z.number(),
  error: z.number(),
  calibration: Calibration,
});
const PredictorCycle = z.object({ created: count, resolved: count, anchor: epochSeconds });

const AutomationRunStarted = z.object({ job_id: z.string(), kind: z.string(), params: jsonObject });
const AutomationRunUpdated = z.object({
  job_id: z.string(),
  progress: fraction.optional(),
  message: z.string().optional(),
  status: jobStatus.optional(),
  stats: jsonObject.optional(),
  error: z.string().optional(),
});

const TrainingStarted = z.object({ job_id: z.string(), kind: z.string(), instrument_key: z.string(), interval: z.string() });
const TrainingProgress = z.object({ job_id: z.string(), progress: fraction, message: z.string(), metrics: jsonObject });
const TrainingSucceeded = z.object({ job_id: z.string(), result: jsonObject });
const TrainingFailed = z.object({ job_id: z.string(), result: jsonObject.optional(), error: z.string().optional() });

const HftStart = z.object({ broker: z.string(), safe_mode: z.boolean(), live_trading_enabled: z.boolean() });
const HftStop = z.object({});
const HftBroker = z.object({ broker: z.string() });
const HftError = z.object({ error: z.string() });
const HftFlatten = z.object({ closed: count, errors: z.array(z.string()) });
const HftEntry = z.object({ trade_id: integer, instrument_key: z.string(), qty: integer, entry: z.number() });
const HftExit = z.object({
  trade_id: integer,
  instrument_key: z.string(),
  price: z.number(),
  pnl: z.number(),
  reason: z.string(),
});
const HftTradeRisk = z.object({ trade_id: integer, stop: z.number(), target: z.number() });
const HftManageError = z.object({ error: z.string() });
const HftState = z.object({
  state: z.enum(["stopped", "running", "halted"]),
  halted_reason: z.string().nullable(),
  safe_mode: z.boolean(),
  live_trading_enabled: z.boolean(),
  broker: z.string(),
});

const MarketBar = z.object({
  instrument_key: z.string(),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.number().min(0),
});
const MarketBars = z.object({ interval: z.string(), ts: epochSeconds, close_ts: epochSeconds, bars: z.array(MarketBar) });

const StreamReady = z.object({
  epoch: z.string(),
  head_id: count,
  resumed: z.boolean(),
  reason: z.enum(["too_old", "epoch_changed", "ahead"]).nullable(),
  heartbeat_interval: z.number().positive(),
});
const StreamHeartbeat = z.object({});

// --- envelopes ------------------------------------------------------------------------------

/** Any frame before its channel and type are known: the stable envelope. */
export const Envelope = z.object({
  id: z.int().nullable(),
  channel: z.string(),
  type: z.string(),
  payload: jsonObject,
  ts: epochSeconds,
});

function event<const C extends Channel, const T extends string, P extends z.ZodType>(channel: C, type: T, payload: P) {
  return z.object({ id: integer, channel: z.literal(channel), type: z.literal(type), payload, ts: epochSeconds });
}

/** A frame of an ephemeral stream: the envelope with `id: null`. */
function ephemeral<const C extends EphemeralStream, const T extends string, P extends z.ZodType>(channel: C, type: T, payload: P) {
  return z.object({ id: z.null(), channel: z.literal(channel), type: z.literal(type), payload, ts: epochSeconds });
}

function control<const C extends Stream>(channel: C) {
  const frame = <const T extends string, P extends z.ZodType>(type: T, payload: P) =>
    z.object({ id: z.null(), channel: z.literal(channel), type: z.literal(type), payload, ts: epochSeconds });
  return { "stream.ready": frame("stream.ready", StreamReady), "stream.heartbeat": frame("stream.heartbeat", StreamHeartbeat) };
}

/** The parser of every frame, by stream and type: the zod mirror of CONTRACT + EPHEMERAL + CONTROL. */
export const FRAMES = {
  prediction: {
    "predictor.start": event("prediction", "predictor.start", PredictorStart),
    "predictor.stop": event("prediction", "predictor.stop", PredictorStop),
    "predictor.error": event("prediction", "predictor.error", PredictorError),
    "prediction.created": event("prediction", "prediction.created", PredictionCreated),
    "prediction.resolved": event("prediction", "prediction.resolved", PredictionResolved),
    "predictor.cycle": event("prediction", "predictor.cycle", PredictorCycle),
    ...control("prediction"),
  },
  automation: {
    "automation_run.started": event("automation", "automation_run.started", AutomationRunStarted),
    "automation_run.updated": event("automation", "automation_run.updated", AutomationRunUpdated),
    ...control("automation"),
  },
  training: {
    "training.started": event("training", "training.started", TrainingStarted),
    "training.progress": event("training", "training.progress", TrainingProgress),
    "training.succeeded": event("training", "training.succeeded", TrainingSucceeded),
    "training.failed": event("training", "training.failed", TrainingFailed),
    ...control("training"),
  },
  hft: {
    "hft.start": event("hft", "hft.start", HftStart),
    "hft.stop": event("hft", "hft.stop", HftStop),
    "hft.broker": event("hft", "hft.broker", HftBroker),
    "hft.error": event("hft", "hft.error", HftError),
    "hft.flatten": event("hft", "hft.flatten", HftFlatten),
    "hft.entry": event("hft", "hft.entry", HftEntry),
    "hft.exit": event("hft", "hft.exit", HftExit),
    "hft.trade_risk": event("hft", "hft.trade_risk", HftTradeRisk),
    "hft.manage_error": event("hft", "hft.manage_error", HftManageError),
    "hft.state": event("hft", "hft.state", HftState),
    ...control("hft"),
  },
  market: {
    "market.bars": ephemeral("market", "market.bars", MarketBars),
    ...control("market"),
  },
} as const;

export const CHANNELS = ["prediction", "automation", "training", "hft"] as const satisfies readonly Channel[];
export const EPHEMERAL_STREAMS = ["market"] as const satisfies readonly Stream[];
export const STREAMS = [...CHANNELS, ...EPHEMERAL_STREAMS] as const satisfies readonly Stream[];

/** Whether a stream is an EventBus channel (stored, resumable) rather than an ephemeral stream. */
export function isChannel(stream: Stream): stream is Channel {
  return (CHANNELS as readonly string[]).includes(stream);
}

// --- parsing --------------------------------------------------------------------------------

/** One thing wrong with a frame: a dotted path into it ("payload.qty"; "" is the frame) and what. */
export interface Issue {
  readonly path: string;
  readonly problem: string;
}

export type ParseResult =
  | { readonly kind: "message"; readonly message: WsMessage }
  | { readonly kind: "unknown"; readonly channel: string; readonly type: string; readonly envelope: gen.Envelope }
  | ({ readonly kind: "error"; readonly issues: readonly Issue[] } & Issue);

const LOOKUP: Readonly<Record<string, Readonly<Record<string, z.ZodType<WsMessage>>>>> = FRAMES;

function frameParser(channel: string, type: string): z.ZodType<WsMessage> | undefined {
  const types = Object.hasOwn(LOOKUP, channel) ? LOOKUP[channel] : undefined;
  return types !== undefined && Object.hasOwn(types, type) ? types[type] : undefined;
}

function failure(error: z.ZodError): ParseResult {
  const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join("."), problem: issue.message }));
  const first = issues[0] ?? { path: "", problem: "invalid frame" };
  return { kind: "error", path: first.path, problem: first.problem, issues };
}

function rootError(problem: string): ParseResult {
  return { kind: "error", path: "", problem, issues: [{ path: "", problem }] };
}

/**
 * Parse one frame: text as received, or an already decoded value. Never throws.
 *
 * `message` is a frame of the contract with its exact type; `unknown` is a well-formed
 * envelope whose channel or type this client does not know (a newer server); `error` names
 * the first wrong field and what is wrong with it.
 */
export function parseMessage(data: unknown): ParseResult {
  let value = data;
  if (typeof data === "string") {
    try {
      value = JSON.parse(data);
    } catch (e) {
      return rootError(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    return rootError("a binary frame: the streams send JSON text frames");
  }
  const envelope = Envelope.safeParse(value);
  if (!envelope.success) return failure(envelope.error);
  const { channel, type } = envelope.data;
  const parser = frameParser(channel, type);
  if (parser === undefined) return { kind: "unknown", channel, type, envelope: envelope.data };
  const frame = parser.safeParse(value);
  return frame.success ? { kind: "message", message: frame.data } : failure(frame.error);
}

// --- close codes (docs: "Close codes") ------------------------------------------------------

export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  ABNORMAL: 1006,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  BAD_REQUEST: 4400,
  UNAUTHORIZED: 4401,
  FORBIDDEN_ORIGIN: 4403,
  UNKNOWN_CHANNEL: 4404,
  SLOW_CONSUMER: 4500,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes 4400-4499, 1003 and 1009: reconnecting cannot help, the client must change first. */
export function isTerminalClose(code: number): boolean {
  return (code >= 4400 && code <= 4499) || code === CloseCode.UNSUPPORTED_DATA || code === CloseCode.MESSAGE_TOO_BIG;
}

// --- compile-time checks: every parser's type is exactly the generated type -----------------

/**
 * json-schema-to-typescript writes an object without properties as `{}` where zod infers
 * `Record<string, never>`; both mean "no fields", so they compare equal. Nothing else is
 * relaxed: optionality, nullability, literals and index signatures must all match.
 */
type Norm<T> = T extends object
  ? [keyof T] extends [never]
    ? Record<string, never>
    : { [K in keyof T]: Norm<T[K]> }
  : T;
/** `true` when A and B are the same type (after `Norm`), in the strict sense `tsc` uses. */
export type Same<A, B> = (<X>() => X extends Norm<A> ? 1 : 2) extends <X>() => X extends Norm<B> ? 1 : 2 ? true : false;
type Parses<S extends z.ZodType, G> = Same<z.output<S>, G>;

function assertTrue<_T extends true>(): void {}
/** Fails to compile, naming the offending keys, unless T is never. */
function assertNever<_T extends never>(): void {}

assertTrue<Parses<typeof Envelope, gen.Envelope>>();
assertTrue<Parses<typeof PredictorStart, gen.PredictorStart>>();
assertTrue<Parses<typeof PredictorStop, gen.PredictorStop>>();
assertTrue<Parses<typeof PredictorError, gen.PredictorError>>();
assertTrue<Parses<typeof Calibration, gen.Calibration>>();
assertTrue<Parses<typeof PredictionCreated, gen.PredictionCreated>>();
assertTrue<Parses<typeof PredictionResolved, gen.PredictionResolved>>();
assertTrue<Parses<typeof PredictorCycle, gen.PredictorCycle>>();
assertTrue<Parses<typeof AutomationRunStarted, gen.AutomationRunStarted>>();
assertTrue<Parses<typeof AutomationRunUpdated, gen.AutomationRunUpdated>>();
assertTrue<Parses<typeof TrainingStarted, gen.TrainingStarted>>();
assertTrue<Parses<typeof TrainingProgress, gen.TrainingProgress>>();
assertTrue<Parses<typeof TrainingSucceeded, gen.TrainingSucceeded>>();
assertTrue<Parses<typeof TrainingFailed, gen.TrainingFailed>>();
assertTrue<Parses<typeof HftStart, gen.HftStart>>();
assertTrue<Parses<typeof HftStop, gen.HftStop>>();
assertTrue<Parses<typeof HftBroker, gen.HftBroker>>();
assertTrue<Parses<typeof HftError, gen.HftError>>();
assertTrue<Parses<typeof HftFlatten, gen.HftFlatten>>();
assertTrue<Parses<typeof HftEntry, gen.HftEntry>>();
assertTrue<Parses<typeof HftExit, gen.HftExit>>();
assertTrue<Parses<typeof HftTradeRisk, gen.HftTradeRisk>>();
assertTrue<Parses<typeof HftManageError, gen.HftManageError>>();
assertTrue<Parses<typeof HftState, gen.HftState>>();
assertTrue<Parses<typeof MarketBar, gen.MarketBar>>();
assertTrue<Parses<typeof MarketBars, gen.MarketBars>>();
assertTrue<Parses<typeof StreamReady, gen.StreamReady>>();
assertTrue<Parses<typeof StreamHeartbeat, gen.StreamHeartbeat>>();

type Frames = typeof FRAMES;
type GeneratedTypes<C extends Stream> = MessageOf<C>["type"];
/** (stream, type) pairs whose parser's type differs from the generated frame. */
type WrongFrames = {
  [C in Stream]: {
    [T in keyof Frames[C]]: Frames[C][T] extends z.ZodType
      ? Parses<Frames[C][T], Extract<MessageOf<C>, { type: T }>> extends true
        ? never
        : `${C}/${T & string}`
      : never;
  }[keyof Frames[C]];
}[Stream];
assertNever<WrongFrames>();
/** Generated frames without a parser, and parsers of frames the schema does not have. */
assertNever<{ [C in Stream]: Exclude<GeneratedTypes<C>, keyof Frames[C]> }[Stream]>();
assertNever<{ [C in Stream]: Exclude<keyof Frames[C], GeneratedTypes<C>> }[Stream]>();
assertNever<Exclude<keyof Frames, Stream> | Exclude<Stream, (typeof STREAMS)[number]>>();
/** Every ephemeral stream's frames have `id: null`; every channel's events a number. */
assertNever<Exclude<EventOf<EphemeralStream>["id"], null> | Exclude<EventOf<Channel>["id"], number>>();
