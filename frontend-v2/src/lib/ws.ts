/**
 * The WebSocket contract in zod: the per-stream parse API over the generated parsers.
 *
 * Binding text: docs/websocket-contracts.md. Types (ws.gen.ts) and parsers (ws.zod.gen.ts) are
 * both generated from contracts/ws.schema.json (from the Pydantic models) by `npm run gen`, so
 * they cannot drift apart; this file adds what the schema does not say: which streams are
 * ephemeral, the lookup by (channel, type), the result of a parse and the close codes.
 *
 * Streams: the four EventBus channels (stored events with ids, resumable) and the ephemeral
 * `market` stream (frames with `id: null`, nothing stored, no resume).
 *
 * Readers are lenient where the docs say so: unknown fields are dropped (calibration keeps
 * them: "more may follow"), and an unknown channel or type is a result, never an exception.
 * They are strict on everything else: no coercion, and an optional field is absent, never null.
 */
import type { z } from "zod";
import type * as gen from "./ws.gen";
import { Envelope, FRAMES } from "./ws.zod.gen";

/** `Envelope`: any frame before its channel and type are known. `FRAMES`: the parser of every frame, by stream and type. */
export { Envelope, FRAMES };

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
  TRY_AGAIN_LATER: 1013,
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

// --- compile-time checks of the hand-kept stream lists ------------------------------------

/** Fails to compile, naming the offending keys, unless T is never. */
function assertNever<_T extends never>(): void {}
/** STREAMS names every stream of the schema, and nothing else. */
assertNever<Exclude<keyof typeof FRAMES, Stream> | Exclude<Stream, (typeof STREAMS)[number]>>();
/** Every ephemeral stream's frames have `id: null`; every channel's events a number. */
assertNever<Exclude<EventOf<EphemeralStream>["id"], null> | Exclude<EventOf<Channel>["id"], number>>();
