/**
 * The desk: one ChannelClient per stream, the REST loads, and the view state they feed.
 *
 * Per stream, on each `stream.ready`:
 * - first connection (`live`) or a failed resume (`reset`): the state is (re)loaded over REST
 *   as of the ready's `head_id` while the stream's live events (ids above it) wait in a
 *   buffer, then the buffer is applied: nothing is missed and nothing is applied twice;
 * - `resumed`: nothing to load; the replayed gap arrives as events and the reducers drop any
 *   id they already applied.
 * The market stream has no resume: every ready reloads the recent bars, which merge by time.
 *
 * Not React: views read `getState()` through `useSyncExternalStore` (see useDesk.ts).
 */
import { Api, ApiError, eventsUpTo } from "../lib/api";
import { ChannelClient, type Options as ClientOptions, type Ready } from "../lib/client";
import { STREAMS, type Channel, type EventOf, type Stream } from "../lib/ws";
import { initialConnection, linkOn, reloadStarted, type Connection, type LinkEvent } from "../state/connection";
import { clearStream, initialInspector, recordEnvelopes, type AnyEvent, type InspectorState } from "../state/inspector";
import {
  applyAutomationEvent,
  applyTrainingEvent,
  initialJobs,
  loadJobs,
  type JobsState,
} from "../state/jobs";
import { applyMarketFrame, initialMarket, lastBarTime, loadMarket, type MarketState } from "../state/market";
import { applyPredictionEvent, initialPredictions, loadPredictions, type PredictionState } from "../state/prediction";
import { applyAll } from "../state/synced";
import { applyHftEvent, initialTrading, loadTrading, type TradingState } from "../state/trading";

export type Auth = "checking" | "ok" | "needed";

export interface DeskState {
  readonly auth: Auth;
  readonly authProblem: string;
  readonly connection: Connection;
  readonly prediction: PredictionState;
  readonly market: MarketState;
  readonly trading: TradingState;
  readonly training: JobsState;
  readonly automation: JobsState;
  readonly inspector: InspectorState;
}

export const initialDesk: DeskState = {
  auth: "checking",
  authProblem: "",
  connection: initialConnection,
  prediction: initialPredictions,
  market: initialMarket,
  trading: initialTrading,
  training: initialJobs,
  automation: initialJobs,
  inspector: initialInspector,
};

export interface DeskOptions {
  /** The API's origin ("" for the page's own). */
  base: string;
  /** The streams' origin: ws://host:port. */
  wsBase: string;
  token: string | undefined;
  /** Passed to every ChannelClient (a WebSocket class in tests, backoff). */
  client: Partial<ClientOptions>;
  fetch: typeof fetch | undefined;
  /** ms to gather state changes before listeners hear of them (0: at once). */
  notifyEvery: number;
  /** Called with a new token when the user enters one (the app stores it). */
  storeToken: (token: string | undefined) => void;
}

/** Events kept for the inspector from a REST load. */
const INSPECT_ON_LOAD = 300;

type Loader = (ready: Ready) => Promise<void>;

export class Desk {
  private state: DeskState = initialDesk;
  private readonly listeners = new Set<() => void>();
  private readonly options: DeskOptions;
  private clients: ChannelClient<Stream>[] = [];
  private api: Api;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Per stream: the generation of the current load (a newer ready makes an older load moot) and its buffer. */
  private readonly loads = new Map<Stream, { generation: number; buffer: AnyEvent[] | null }>();
  private running = false;

  constructor(options: Partial<DeskOptions> = {}) {
    this.options = {
      base: "",
      wsBase: "",
      token: undefined,
      client: {},
      fetch: undefined,
      notifyEvery: 50,
      storeToken: () => {},
      ...options,
    };
    this.api = new Api({ base: this.options.base, token: this.options.token, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) });
  }

  get rest(): Api {
    return this.api;
  }

  getState = (): DeskState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Check whether the API needs a token, then open every stream. */
  async start(): Promise<void> {
    this.running = true;
    try {
      await this.api.market(0);
    } catch (error) {
      if (error instanceof ApiError && error.unauthorized) {
        const problem = this.api.options.token ? "that token was refused" : "";
        this.update((s) => ({ ...s, auth: "needed", authProblem: problem }));
        return;
      }
      // Any other failure: the streams' own retries and loads will say what is wrong.
    }
    if (!this.running) return;
    this.update((s) => ({ ...s, auth: "ok", authProblem: "" }));
    for (const stream of STREAMS) this.open(stream);
  }

  stop(): void {
    this.running = false;
    for (const client of this.clients) client.stop();
    this.clients = [];
    clearTimeout(this.timer);
  }

  /** Use a new token: everything starts again from scratch. */
  async useToken(token: string | undefined): Promise<void> {
    this.stop();
    this.options.storeToken(token);
    this.api = this.api.withToken(token);
    this.state = { ...initialDesk };
    this.notify();
    await this.start();
  }

  // --- streams ----------------------------------------------------------------------------

  private open<S extends Stream>(stream: S): void {
    const client = new ChannelClient<S>(this.options.wsBase, stream, { ...this.options.client, token: this.api.options.token });
    const loader = this.loader(stream);
    client.on("ready", (ready) => this.onReady(stream, ready, loader));
    client.on("event", (event) => this.onEvent(stream, event as AnyEvent));
    client.on("disconnect", (info) => {
      this.link(stream, { kind: "disconnect", info });
      if (info.code === 4401) this.update((s) => ({ ...s, auth: "needed", authProblem: "the server refused the token" }));
    });
    this.clients.push(client as unknown as ChannelClient<Stream>);
    client.start();
  }

  private onReady(stream: Stream, ready: Ready, loader: Loader): void {
    const loads = ready.outcome !== "resumed";
    this.link(stream, { kind: "ready", ready, loads });
    if (!loads) {
      void this.refreshAfterResume(stream).catch(() => undefined);
      return;
    }
    const generation = (this.loads.get(stream)?.generation ?? 0) + 1;
    this.loads.set(stream, { generation, buffer: [] });
    if (ready.outcome === "reset") this.resetStream(stream);
    this.update((s) => ({ ...s, connection: { ...s.connection, [stream]: reloadStarted(s.connection[stream]) } }));
    void this.runLoad(stream, ready, loader, generation);
  }

  private async runLoad(stream: Stream, ready: Ready, loader: Loader, generation: number): Promise<void> {
    for (let attempt = 0; this.running; attempt++) {
      if (this.loads.get(stream)?.generation !== generation) return;
      try {
        await loader(ready);
        break;
      } catch (error) {
        if (this.loads.get(stream)?.generation !== generation) return;
        this.link(stream, { kind: "load-failed", error: error instanceof Error ? error.message : String(error) });
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 500 * 2 ** attempt)));
      }
    }
    const load = this.loads.get(stream);
    if (load?.generation !== generation) return;
    const buffered = load.buffer ?? [];
    this.loads.set(stream, { generation, buffer: null });
    for (const event of buffered) this.applyEvent(stream, event);
    this.link(stream, { kind: "loaded" });
  }

  private onEvent(stream: Stream, event: AnyEvent): void {
    const buffer = this.loads.get(stream)?.buffer;
    if (buffer) {
      buffer.push(event);
      return;
    }
    this.applyEvent(stream, event);
  }

  private applyEvent(stream: Stream, event: AnyEvent): void {
    this.update((s) => {
      const inspector = recordEnvelopes(s.inspector, stream, [event]);
      switch (event.channel) {
        case "prediction":
          return { ...s, inspector, prediction: applyPredictionEvent(s.prediction, event) };
        case "hft": {
          const key = "instrument_key" in event.payload ? event.payload.instrument_key : undefined;
          const at = key === undefined ? undefined : lastBarTime(s.market, key);
          return { ...s, inspector, trading: applyHftEvent(s.trading, event, at) };
        }
        case "training":
          return { ...s, inspector, training: applyTrainingEvent(s.training, event) };
        case "automation":
          return { ...s, inspector, automation: applyAutomationEvent(s.automation, event) };
        case "market":
          return { ...s, inspector, market: applyMarketFrame(s.market, event) };
      }
    });
  }

  private resetStream(stream: Stream): void {
    this.update((s) => {
      const inspector = clearStream(s.inspector, stream);
      switch (stream) {
        case "prediction":
          return { ...s, inspector, prediction: initialPredictions };
        case "hft":
          return { ...s, inspector, trading: initialTrading };
        case "training":
          return { ...s, inspector, training: initialJobs };
        case "automation":
          return { ...s, inspector, automation: initialJobs };
        case "market":
          return { ...s, inspector };
      }
    });
  }

  private link(stream: Stream, event: LinkEvent): void {
    this.update((s) => ({ ...s, connection: { ...s.connection, [stream]: linkOn(s.connection[stream], event) } }));
  }

  // --- loaders: the current state over REST, as of a ready's head_id ----------------------

  private loader(stream: Stream): Loader {
    switch (stream) {
      case "prediction":
        return (ready) => this.loadPrediction(ready.headId);
      case "hft":
        return (ready) => this.loadTrading(ready.headId);
      case "training":
      case "automation":
        return (ready) => this.loadJobs(stream, ready.headId);
      case "market":
        return async () => {
          const market = await this.api.market();
          this.update((s) => ({ ...s, market: loadMarket(s.market, market) }));
        };
    }
  }

  /** The last events of a channel up to `headId`, for the inspector (one page). */
  private async recentEvents<C extends Channel>(channel: C, headId: number): Promise<EventOf<C>[]> {
    const page = await this.api.events(channel, Math.max(0, headId - 5 * INSPECT_ON_LOAD), 1000);
    return page.events.filter((e) => e.id <= headId).slice(-INSPECT_ON_LOAD);
  }

  private async loadPrediction(headId: number): Promise<void> {
    const [status, { predictions }, { calibration }, recent] = await Promise.all([
      this.api.read("/api/predictor/status"),
      this.api.read("/api/predictions", { limit: 2000 }),
      this.api.read("/api/predictor/calibration"),
      this.recentEvents("prediction", headId),
    ]);
    const snapshot = { status, predictions, calibration };
    this.update((s) => ({
      ...s,
      prediction: loadPredictions(s.prediction, snapshot, headId),
      inspector: recordEnvelopes(s.inspector, "prediction", recent),
    }));
  }

  /** The hft log replayed (low volume), then the engine's REST state. */
  private async loadTrading(headId: number): Promise<void> {
    const [events, status, { trades }] = await Promise.all([
      eventsUpTo(this.api, "hft", headId),
      this.api.read("/api/hft/status"),
      this.api.read("/api/hft/trades"),
    ]);
    this.update((s) => {
      const replayed = applyAll(s.trading, events, (t, e) => applyHftEvent(t, e));
      return {
        ...s,
        trading: loadTrading(replayed, { status, trades }, headId),
        inspector: recordEnvelopes(s.inspector, "hft", events.slice(-INSPECT_ON_LOAD)),
      };
    });
  }

  /** The channel's log replayed, then its jobs (automation: its runs and schedules) over REST. */
  private async loadJobs(channel: "training" | "automation", headId: number): Promise<void> {
    const [events, { jobs }, schedules] = await Promise.all([
      eventsUpTo(this.api, channel, headId),
      this.api.read(channel === "training" ? "/api/training/jobs" : "/api/automation/runs", { limit: 200 }),
      channel === "automation" ? this.api.read("/api/automation/schedules") : undefined,
    ]);
    this.update((s) => {
      const replayed =
        channel === "training"
          ? applyAll(s.training, events as EventOf<"training">[], applyTrainingEvent)
          : applyAll(s.automation, events as EventOf<"automation">[], applyAutomationEvent);
      const loaded = loadJobs(replayed, { jobs, schedules: schedules?.schedules }, headId);
      return { ...s, [channel]: loaded, inspector: recordEnvelopes(s.inspector, channel, events.slice(-INSPECT_ON_LOAD)) };
    });
  }

  /**
   * After a resume the events are complete, but some state is not made of events: a restarted
   * server's predictor may have stopped without one, schedules have none. One read each. (The
   * engine needs none: hft.state follows every transition, the run a restart recovers included.)
   */
  private async refreshAfterResume(stream: Stream): Promise<void> {
    if (stream === "prediction") {
      const status = await this.api.read("/api/predictor/status");
      this.update((s) => ({ ...s, prediction: loadPredictions(s.prediction, { status, predictions: [], calibration: [] }, 0) }));
    } else if (stream === "automation") {
      await this.refreshSchedules();
    }
  }

  /** Reload schedules after an edit (REST only: no channel carries them). */
  async refreshSchedules(): Promise<void> {
    const { schedules } = await this.api.read("/api/automation/schedules");
    this.update((s) => ({ ...s, automation: { ...s.automation, schedules } }));
  }

  /** Change the state from outside the streams (the views' tests set the state they show). */
  patch(change: (state: DeskState) => DeskState): void {
    this.update(change);
  }

  // --- notifications ----------------------------------------------------------------------

  private update(change: (state: DeskState) => DeskState): void {
    const next = change(this.state);
    if (next === this.state) return;
    this.state = next;
    if (this.options.notifyEvery <= 0) this.notify();
    else this.timer ??= setTimeout(() => this.notify(), this.options.notifyEvery);
  }

  private notify(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const listener of this.listeners) listener();
  }
}
