/**
 * A client of one signaldesk channel (`/api/ws/{channel}`) for browsers and Node.
 *
 * It remembers the epoch and the id of the last event it handed over, reconnects with
 * exponential backoff and jitter, resumes with `?after=&epoch=`, drops duplicates, reports
 * how each `stream.ready` went (live, resumed, or reset and why), treats a connection silent
 * for `deadAfterHeartbeats` heartbeat intervals as dead, and stops for good on a terminal
 * close code (docs/websocket-contracts.md, "Connecting and resuming" and "Close codes").
 *
 * On an ephemeral stream (`market`) there is nothing to resume: the client never sends
 * `after`/`epoch`, every `stream.ready` is `live` (its `resumed: false` is never a reset), and
 * its frames (`id: null`) are handed over as they come; reconnection and backoff are the same.
 */
import {
  CloseCode,
  isChannel,
  isTerminalClose,
  parseMessage,
  type EventOf,
  type ParseResult,
  type ResumeFailure,
  type Stream,
} from "./ws";
import type { StreamReady } from "./ws.gen";

export const SUBPROTOCOL = "signaldesk.v1";
export const BEARER_PREFIX = "bearer.";

// Handler properties compared like methods, so both the DOM's and `ws`'s sockets fit.
type Handler<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

/** What the client uses of a WebSocket: the browser's, or the `ws` package's in Node. */
export interface SocketLike {
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ readonly data: unknown }> | null;
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null;
  onerror: Handler<unknown> | null;
  close(code?: number, reason?: string): void;
}
export type SocketConstructor = new (url: string, protocols?: string | string[]) => SocketLike;

export interface Options {
  /** The WebSocket class: the global one by default; in Node 20 pass the `ws` package's. */
  WebSocket: SocketConstructor | undefined;
  /** SIGNALDESK_API_TOKEN, offered as the subprotocol `bearer.<token>` next to `signaldesk.v1`. */
  token: string | undefined;
  /** Where to resume on the first connection (say after loading state over REST); both or neither; channels only. */
  after: number | undefined;
  epoch: string | undefined;
  /** Backoff before retry n (from 0): min(maxDelay, minDelay * growFactor^n), in ms ... */
  minDelay: number;
  maxDelay: number;
  growFactor: number;
  /** ... less up to this fraction of it at random, so that clients do not retry in step. */
  jitter: number;
  /** A connection without a stream.ready this long after it was opened is given up (ms). */
  connectTimeout: number;
  /** A connection that shows no frame for this many heartbeat intervals is dead. */
  deadAfterHeartbeats: number;
  /** Uniform in [0, 1); injectable for tests. */
  random: () => number;
}

export const DEFAULT: Readonly<Options> = {
  WebSocket: typeof globalThis.WebSocket === "function" ? globalThis.WebSocket : undefined,
  token: undefined,
  after: undefined,
  epoch: undefined,
  minDelay: 250,
  maxDelay: 30_000,
  growFactor: 2,
  jitter: 0.5,
  connectTimeout: 10_000,
  deadAfterHeartbeats: 2,
  random: Math.random,
};

/** How a connection started, from its stream.ready. `reset`: reload state up to `headId` (REST). Ephemeral streams: always `live`. */
export type Ready =
  | { readonly outcome: "live"; readonly epoch: string; readonly headId: number }
  | { readonly outcome: "resumed"; readonly epoch: string; readonly headId: number }
  | { readonly outcome: "reset"; readonly reason: ResumeFailure; readonly epoch: string; readonly headId: number };

export type DisconnectCause = "closed" | "connect-timeout" | "heartbeat-timeout" | "reconnect-requested";

export interface Disconnect {
  readonly code: number;
  readonly reason: string;
  readonly cause: DisconnectCause;
  /** ms until the next attempt; null: the client stopped (terminal close code). */
  readonly retryIn: number | null;
}

/** A frame the client could not use; the stream goes on. */
export type Problem = Exclude<ParseResult, { kind: "message" }> | { readonly kind: "protocol"; readonly problem: string };

/** `connecting` until stream.ready arrives, `open` after it, `waiting` between attempts. */
export type State = "idle" | "connecting" | "open" | "waiting" | "stopped";

const TRANSITIONS: Readonly<Record<State, readonly State[]>> = {
  idle: ["connecting", "stopped"],
  connecting: ["connecting", "open", "waiting", "stopped"],
  open: ["connecting", "waiting", "stopped"],
  waiting: ["connecting", "stopped"],
  stopped: [],
};

export class IllegalTransition extends Error {
  constructor(
    readonly from: State,
    readonly to: State,
  ) {
    super(`illegal client transition ${from} -> ${to}`);
    this.name = "IllegalTransition";
  }
}

export interface ClientEvents<C extends Stream> {
  event: (event: EventOf<C>) => void;
  ready: (ready: Ready) => void;
  disconnect: (info: Disconnect) => void;
  problem: (problem: Problem) => void;
  state: (state: State, previous: State) => void;
}

type Listeners<C extends Stream> = { [K in keyof ClientEvents<C>]: Set<ClientEvents<C>[K]> };

function noop(): void {}

function validate(options: Options, resumable: boolean): void {
  const positive = ["minDelay", "maxDelay", "connectTimeout", "deadAfterHeartbeats"] as const;
  for (const name of positive) {
    if (!(options[name] > 0)) throw new RangeError(`options.${name} must be > 0, got ${options[name]}`);
  }
  if (options.maxDelay < options.minDelay) throw new RangeError("options.maxDelay must be >= options.minDelay");
  if (!(options.growFactor >= 1)) throw new RangeError(`options.growFactor must be >= 1, got ${options.growFactor}`);
  if (!(options.jitter >= 0 && options.jitter <= 1)) throw new RangeError(`options.jitter must be in [0, 1]`);
  if ((options.after === undefined) !== (options.epoch === undefined)) {
    throw new RangeError("options.after and options.epoch go together (both from one stream.ready)");
  }
  if (!resumable && options.after !== undefined) {
    throw new RangeError("an ephemeral stream has nothing to resume: no options.after or options.epoch");
  }
  if (options.WebSocket === undefined) {
    throw new TypeError("no WebSocket class here: pass options.WebSocket (in Node 20, the `ws` package's)");
  }
}

export class ChannelClient<C extends Stream> {
  readonly channel: C;
  /** A channel resumes with after/epoch; an ephemeral stream never does. */
  readonly resumable: boolean;
  readonly baseUrl: string;
  private readonly options: Readonly<Options>;
  private readonly listeners: Listeners<C> = {
    event: new Set(),
    ready: new Set(),
    disconnect: new Set(),
    problem: new Set(),
    state: new Set(),
  };
  private current: State = "idle";
  private socket: SocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private epoch: string | undefined;
  private lastId: number | undefined;
  private heartbeatMs: number | undefined;
  private lastReady: Ready | undefined;
  private dropped = 0;

  /** `baseUrl`: the server, `ws://host:port` or `wss://host`. Does not connect: call `start()`. */
  constructor(baseUrl: string, channel: C, options: Partial<Options> = {}) {
    this.options = { ...DEFAULT, ...options };
    this.resumable = isChannel(channel);
    validate(this.options, this.resumable);
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.channel = channel;
    this.epoch = this.options.epoch;
    this.lastId = this.options.after;
  }

  get state(): State {
    return this.current;
  }

  /** Where a reconnection resumes: the epoch and the id of the last event handed over. */
  get cursor(): { readonly epoch: string; readonly after: number } | undefined {
    return this.epoch !== undefined && this.lastId !== undefined ? { epoch: this.epoch, after: this.lastId } : undefined;
  }

  /** The outcome of the latest stream.ready. */
  get ready(): Ready | undefined {
    return this.lastReady;
  }

  /** Events dropped because their id was not above the last one handed over. */
  get duplicatesDropped(): number {
    return this.dropped;
  }

  on<K extends keyof ClientEvents<C>>(name: K, listener: ClientEvents<C>[K]): () => void {
    this.listeners[name].add(listener);
    return () => this.listeners[name].delete(listener);
  }

  start(): void {
    this.connect();
  }

  /** Close for good; no reconnection follows. */
  stop(): void {
    if (this.current === "stopped") return;
    this.dispose(CloseCode.NORMAL, "client stopped");
    this.setState("stopped");
  }

  /** Drop the connection and open a new one now, resuming where this one was. */
  reconnect(): void {
    if (this.current === "idle" || this.current === "stopped") throw new IllegalTransition(this.current, "connecting");
    this.dispose(CloseCode.NORMAL, "reconnecting");
    this.emit("disconnect", { code: CloseCode.NORMAL, reason: "reconnecting", cause: "reconnect-requested", retryIn: 0 });
    if (this.state !== "stopped") this.connect(); // a listener may have stopped the client
  }

  /** The wait before retry number `attempt` (0 is the first retry after a drop), in ms. */
  nextDelay(attempt: number): number {
    const { minDelay, maxDelay, growFactor, jitter, random } = this.options;
    const base = Math.min(maxDelay, minDelay * growFactor ** attempt);
    return base * (1 - jitter * random());
  }

  private streamUrl(): string {
    const url = `${this.baseUrl}/api/ws/${this.channel}`;
    const cursor = this.cursor;
    if (cursor === undefined) return url;
    return `${url}?${new URLSearchParams({ after: String(cursor.after), epoch: cursor.epoch })}`;
  }

  private connect(): void {
    this.setState("connecting");
    const token = this.options.token;
    const protocols = token === undefined ? [SUBPROTOCOL] : [SUBPROTOCOL, BEARER_PREFIX + token];
    const Socket = this.options.WebSocket as SocketConstructor;
    const socket = new Socket(this.streamUrl(), protocols);
    this.socket = socket;
    socket.onopen = noop;
    socket.onerror = noop; // a close event follows every error
    socket.onmessage = (message) => {
      if (this.socket === socket) this.onFrame(message.data);
    };
    socket.onclose = (close) => {
      if (this.socket === socket) this.onClosed(close.code, close.reason);
    };
    this.arm(this.options.connectTimeout, "connect-timeout");
  }

  private onFrame(data: unknown): void {
    if (this.current === "open" && this.heartbeatMs !== undefined) {
      this.arm(this.heartbeatMs * this.options.deadAfterHeartbeats, "heartbeat-timeout");
    }
    const parsed = parseMessage(data);
    if (parsed.kind !== "message") {
      this.emit("problem", parsed);
      return;
    }
    if (parsed.message.channel !== this.channel) {
      this.emit("problem", { kind: "protocol", problem: `a ${parsed.message.channel} frame on ${this.channel}` });
      return;
    }
    const message = parsed.message;
    if (message.type === "stream.ready") {
      this.onReady(message.payload);
      return;
    }
    if (message.type === "stream.heartbeat") return; // the arm() above was the point
    if (this.current !== "open") {
      this.emit("problem", { kind: "protocol", problem: `${message.type} ${message.id ?? ""} before stream.ready` });
      return;
    }
    if (this.resumable) {
      if (message.id === null) {
        this.emit("problem", { kind: "protocol", problem: `${message.type} without an id on a channel` });
        return;
      }
      if (this.lastId !== undefined && message.id <= this.lastId) {
        this.dropped += 1;
        return;
      }
      this.lastId = message.id;
    }
    this.emit("event", message as EventOf<C>);
  }

  private onReady(ready: StreamReady): void {
    const at = { epoch: ready.epoch, headId: ready.head_id };
    if (!this.resumable) {
      this.lastReady = { outcome: "live", ...at }; // nothing stored: no resume asked, none to fail
    } else if (ready.resumed) {
      this.lastReady = { outcome: "resumed", ...at };
    } else {
      // Live events only from here: ids above head_id (after a failed resume, in a new log perhaps).
      this.lastId = ready.head_id;
      this.lastReady = ready.reason === null ? { outcome: "live", ...at } : { outcome: "reset", reason: ready.reason, ...at };
    }
    this.epoch = ready.epoch;
    this.heartbeatMs = ready.heartbeat_interval * 1000;
    this.attempt = 0;
    this.setState("open");
    this.arm(this.heartbeatMs * this.options.deadAfterHeartbeats, "heartbeat-timeout");
    this.emit("ready", this.lastReady);
  }

  private onClosed(code: number, reason: string): void {
    this.socket = null;
    this.clearTimer();
    if (isTerminalClose(code)) {
      this.setState("stopped");
      this.emit("disconnect", { code, reason, cause: "closed", retryIn: null });
      return;
    }
    this.retry({ code, reason, cause: "closed" });
  }

  /** The socket went silent (no ready, or no frame for too long): give it up and retry. */
  private onSilence(cause: DisconnectCause): void {
    this.dispose(CloseCode.NORMAL, cause);
    this.retry({ code: CloseCode.ABNORMAL, reason: cause, cause });
  }

  private retry(info: Omit<Disconnect, "retryIn">): void {
    const delay = this.nextDelay(this.attempt);
    this.attempt += 1;
    this.setState("waiting");
    this.timer = setTimeout(() => this.connect(), delay); // before the emit: a listener may stop() us
    this.emit("disconnect", { ...info, retryIn: delay });
  }

  private arm(ms: number, cause: DisconnectCause): void {
    this.clearTimer();
    this.timer = setTimeout(() => this.onSilence(cause), ms);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Forget the current socket (its late events are ignored) and close it without waiting. */
  private dispose(code: number, reason: string): void {
    this.clearTimer();
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return;
    socket.onmessage = noop;
    socket.onclose = noop;
    socket.onerror = noop; // `ws` throws on an error event nobody listens to
    socket.close(code, reason);
  }

  private setState(next: State): void {
    const previous = this.current;
    if (!TRANSITIONS[previous].includes(next)) throw new IllegalTransition(previous, next);
    this.current = next;
    this.emit("state", next, previous);
  }

  private emit<K extends keyof ClientEvents<C>>(name: K, ...args: Parameters<ClientEvents<C>[K]>): void {
    for (const listener of this.listeners[name]) {
      try {
        (listener as (...a: Parameters<ClientEvents<C>[K]>) => void)(...args);
      } catch (error) {
        // A listener's bug must not break the stream; it still surfaces as an uncaught error.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
