/**
 * The Desk without a network: fake sockets and a fake REST. State loads over REST as of the
 * ready's head while live events wait, resumes add no rows, a reset reloads from scratch, the
 * market reloads on every ready, and a refused token asks for one.
 */
import { afterEach, describe, expect, test } from "vitest";
import { Desk } from "../src/app/desk";
import type { Schemas } from "../src/lib/api";
import type { SocketLike } from "../src/lib/client";
import { bars, created, hft, marketStatus, RELIANCE, resolved } from "./support/events";
import { until } from "./support/wait";

class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  readonly stream: string;
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    this.stream = new URL(url).pathname.split("/").pop()!;
    sockets.push(this);
  }
  close(): void {}
  send(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  ready(head: number, outcome: { resumed?: boolean; reason?: string | null; epoch?: string } = {}): void {
    const payload = { epoch: "e1", head_id: head, resumed: false, reason: null, heartbeat_interval: 30, ...outcome };
    this.send({ id: null, channel: this.stream, type: "stream.ready", payload, ts: 1 });
  }
  drop(code = 1012): void {
    this.onclose?.({ code, reason: "" });
  }
}

let sockets: FakeSocket[] = [];
const socketOf = (stream: string) => sockets.filter((s) => s.stream === stream).at(-1)!;

interface Call {
  path: string;
  auth: string | null;
}

/** A REST double: answers per path, each answer can be held back until released. */
function fakeRest(answers: Record<string, unknown>, token?: string) {
  const calls: Call[] = [];
  const holds = new Map<string, { promise: Promise<void>; release: () => void }>();
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://desk.test");
    const auth = new Headers(init?.headers).get("authorization");
    calls.push({ path: url.pathname + (url.pathname === "/api/events" ? `?${url.searchParams.get("channel")}` : ""), auth });
    const hold = holds.get(url.pathname);
    if (hold) await hold.promise;
    if (token !== undefined && auth !== `Bearer ${token}`) return new Response(JSON.stringify({ detail: "unauthorized" }), { status: 401 });
    const key = url.pathname === "/api/events" ? `/api/events?${url.searchParams.get("channel")}` : url.pathname;
    if (!(key in answers)) return new Response(JSON.stringify({ detail: "Not Found" }), { status: 404 });
    return new Response(JSON.stringify(answers[key]), { status: 200 });
  }) as typeof globalThis.fetch;
  const hold = (path: string) => {
    let release = () => {};
    const promise = new Promise<void>((resolve) => (release = resolve));
    holds.set(path, { promise, release });
    return () => {
      holds.delete(path);
      release();
    };
  };
  return { fetch, calls, hold };
}

const page = (events: unknown[] = []) => ({ epoch: "e1", head_id: 0, floor: 0, events });
const LIMITS: Schemas["LimitsOut"] = {
  max_open_trades: 4,
  risk_per_trade: 1000,
  max_notional_per_trade: 300000,
  max_notional_total: 1000000,
  max_daily_loss: 10000,
  max_orders_per_second: 10,
  cooldown: 300,
};
const ENGINE: Schemas["EngineStatus"] = {
  state: "running",
  broker: "paper",
  safe_mode: true,
  live_trading_enabled: false,
  halted_reason: null,
  brokers: ["paper", "upstox"],
  limits: LIMITS,
  broker_kill_switch: { engaged: false, at: null, segments: [] },
  venue: "paper",
  venue_connected: true,
  open_trades: 0,
};
const REST = {
  "/api/market": { state: "running", status: marketStatus(), interval: "1m", instruments: [RELIANCE], bars: [bars(0, { [RELIANCE]: 100 })] },
  "/api/predictor/status": { state: "running", instruments: [RELIANCE], cfg: {} },
  "/api/predictions": {
    predictions: [{ id: 7, instrument_key: RELIANCE, interval: "1m", horizon_steps: 1, ts_pred: 1420, ts_target: 1480, status: "open", pred_ret: 0.001, pred_ret_adj: 0.001, calib_bias: 0, model_kind: "ridge" }],
  },
  "/api/predictor/calibration": { calibration: [] },
  "/api/events?prediction": page([created(4, 7)]),
  "/api/events?hft": page([hft(3, "hft.start", { broker: "paper", safe_mode: true, live_trading_enabled: false })]),
  "/api/hft/status": ENGINE,
  "/api/hft/trades": { trades: [] } satisfies Schemas["TradeList"],
  "/api/training/jobs": { jobs: [] } satisfies Schemas["JobList"],
  "/api/automation/runs": { jobs: [] } satisfies Schemas["JobList"],
  "/api/automation/schedules": { schedules: [] } satisfies Schemas["ScheduleList"],
  "/api/events?training": page(),
  "/api/events?automation": page(),
};

const desks: Desk[] = [];
afterEach(() => {
  for (const d of desks.splice(0)) d.stop();
  sockets = [];
});

function desk(rest: ReturnType<typeof fakeRest>, token?: string) {
  const d = new Desk({
    wsBase: "ws://desk.test",
    fetch: rest.fetch,
    token,
    notifyEvery: 0,
    client: { WebSocket: FakeSocket, minDelay: 1, maxDelay: 5, jitter: 0 },
  });
  desks.push(d);
  return d;
}

describe("Desk", () => {
  test("loads over REST as of the ready's head while live events wait; then applies them once", async () => {
    const rest = fakeRest(REST);
    const d = desk(rest);
    const release = rest.hold("/api/predictions");
    await d.start();
    expect(d.getState().auth).toBe("ok");
    expect(sockets.map((s) => s.stream).sort()).toEqual(["automation", "hft", "market", "prediction", "training"]);
    for (const s of sockets) s.ready(s.stream === "market" ? 0 : 5);
    await until("hft loaded", () => (d.getState().connection.hft.status === "live" ? true : undefined));
    expect(d.getState().trading.engine).toMatchObject({ state: "running", broker: "paper" });

    expect(d.getState().connection.prediction.status).toBe("reloading");
    socketOf("prediction").send(created(6, 8)); // live while the load is held
    socketOf("prediction").send(resolved(7, 7, 0.002));
    expect(d.getState().prediction.rows[8]).toBeUndefined(); // buffered
    release();
    await until("prediction loaded", () => (d.getState().connection.prediction.status === "live" ? true : undefined));
    const s = d.getState();
    expect(Object.keys(s.prediction.rows).sort()).toEqual(["7", "8"]);
    expect(s.prediction.rows[7]!.status).toBe("resolved");
    expect(s.inspector.envelopes.prediction.map((e) => e.id)).toEqual([4, 6, 7]);
    expect(s.market.candles[RELIANCE]).toHaveLength(1);
  });

  test("a resumed stream loads nothing again and adds no duplicate rows; a reset reloads from scratch", async () => {
    const rest = fakeRest(REST);
    const d = desk(rest);
    await d.start();
    for (const s of sockets) s.ready(5);
    await until("all live", () => (Object.values(d.getState().connection).every((l) => l.status === "live") ? true : undefined));
    socketOf("prediction").send(created(6, 8));
    const loads = () => rest.calls.filter((c) => c.path === "/api/predictions").length;
    expect(loads()).toBe(1);

    socketOf("prediction").drop(1012);
    expect(d.getState().connection.prediction.status).toBe("reconnecting");
    await until("a new socket", () => (sockets.filter((s) => s.stream === "prediction").length === 2 ? true : undefined));
    expect(socketOf("prediction").url).toBe("ws://desk.test/api/ws/prediction?after=6&epoch=e1");
    socketOf("prediction").ready(6, { resumed: true });
    socketOf("prediction").send(created(6, 8)); // a duplicate the client itself drops
    socketOf("prediction").send(created(9, 9));
    expect(d.getState().connection.prediction.status).toBe("resumed");
    expect(Object.keys(d.getState().prediction.rows).sort()).toEqual(["7", "8", "9"]);
    expect(loads()).toBe(1);
    // Not made of events: the predictor's status is reread once (a restarted server may have stopped it).
    await until("status reread", () => (rest.calls.filter((c) => c.path === "/api/predictor/status").length === 2 ? true : undefined));

    socketOf("prediction").drop(1012);
    await until("a third socket", () => (sockets.filter((s) => s.stream === "prediction").length === 3 ? true : undefined));
    socketOf("prediction").ready(2, { reason: "epoch_changed", epoch: "e2" });
    await until("reloaded", () => (d.getState().connection.prediction.status === "live" ? true : undefined));
    expect(loads()).toBe(2);
    expect(d.getState().connection.prediction).toMatchObject({ resets: 1, detail: "state reloaded" });
    expect(Object.keys(d.getState().prediction.rows)).toEqual(["7"]); // what the reload said, not the stale 8 and 9
  });

  test("the engine follows hft.state: the status is read once, at the load, never after an event or a resume", async () => {
    const paper = { broker: "paper", safe_mode: true, live_trading_enabled: false };
    const rest = fakeRest({ ...REST, "/api/hft/status": { state: "running", halted_reason: null, brokers: ["paper"], ...paper } });
    const d = desk(rest);
    await d.start();
    for (const s of sockets) s.ready(5);
    await until("all live", () => (Object.values(d.getState().connection).every((l) => l.status === "live") ? true : undefined));
    const engine = () => d.getState().trading.engine;
    expect(engine()).toEqual({ state: "running", brokers: ["paper"], ...paper });

    const halted = { ...paper, state: "halted", halted_reason: "halted by request" } as const;
    socketOf("hft").send(hft(6, "hft.state", halted));
    expect(engine()).toMatchObject({ state: "halted", halted_reason: "halted by request" });
    socketOf("hft").send(hft(7, "hft.error", { error: "order rejected" }));
    socketOf("hft").send(hft(8, "hft.flatten", { closed: 0, errors: [] }));
    socketOf("hft").send(hft(9, "hft.stop", {}));
    socketOf("hft").send(hft(10, "hft.state", { ...paper, state: "stopped", halted_reason: null }));
    expect(engine()).toEqual({ state: "stopped", brokers: ["paper"], ...paper });

    socketOf("hft").drop(1012);
    await until("a new hft socket", () => (sockets.filter((s) => s.stream === "hft").length === 2 ? true : undefined));
    socketOf("hft").ready(10, { resumed: true });
    socketOf("hft").send(hft(11, "hft.state", { ...paper, state: "running", halted_reason: null })); // a restart recovered the run
    expect(engine().state).toBe("running");
    // A barrier: the prediction stream's resume rereads its status; an hft reread would have gone out before it.
    socketOf("prediction").drop(1012);
    await until("a new prediction socket", () => (sockets.filter((s) => s.stream === "prediction").length === 2 ? true : undefined));
    socketOf("prediction").ready(5, { resumed: true });
    await until("predictor status reread", () => (rest.calls.filter((c) => c.path === "/api/predictor/status").length === 2 ? true : undefined));
    expect(rest.calls.filter((c) => c.path === "/api/hft/status")).toHaveLength(1);
  });

  test("the market stream reloads its recent bars on every ready; bars merge by time", async () => {
    const rest = fakeRest(REST);
    const d = desk(rest);
    await d.start();
    for (const s of sockets) s.ready(0);
    await until("market live", () => (d.getState().connection.market.status === "live" ? true : undefined));
    socketOf("market").send({ id: null, channel: "market", type: "market.bars", payload: bars(60, { [RELIANCE]: 101 }), ts: 1 });
    socketOf("market").drop(1001);
    await until("market again", () => (sockets.filter((s) => s.stream === "market").length === 2 ? true : undefined));
    expect(socketOf("market").url).toBe("ws://desk.test/api/ws/market");
    socketOf("market").ready(0, { epoch: "m2" });
    await until("market reloaded", () => (rest.calls.filter((c) => c.path === "/api/market").length === 3 ? true : undefined));
    await until("market live again", () => (d.getState().connection.market.status === "live" ? true : undefined));
    expect(d.getState().market.candles[RELIANCE]!.map((c) => c.time)).toEqual([0, 60]);
    expect(d.getState().connection.market.resets).toBe(0);
  });

  test("an endpoint that fails (even 404) is a failed load, retried: never taken for an empty state", async () => {
    const { ["/api/hft/status"]: _status, ...withoutStatus } = REST;
    const rest = fakeRest(withoutStatus);
    const d = desk(rest);
    await d.start();
    for (const s of sockets) s.ready(5);
    await until("training live", () => (d.getState().connection.training.status === "live" ? true : undefined));
    await until("hft load failed", () => (d.getState().connection.hft.detail.includes("404") ? true : undefined));
    expect(d.getState().connection.hft.status).not.toBe("live");
    await until("retried", () => (rest.calls.filter((c) => c.path === "/api/hft/status").length >= 2 ? true : undefined));
  });

  test("a server that needs a token: the desk asks, then opens with it", async () => {
    const rest = fakeRest(REST, "secret-token-0123456789");
    const d = desk(rest);
    await d.start();
    expect(d.getState().auth).toBe("needed");
    expect(sockets).toEqual([]);
    await d.useToken("secret-token-0123456789");
    expect(d.getState().auth).toBe("ok");
    expect(sockets).toHaveLength(5);
    expect(sockets[0]!.protocols).toEqual(["signaldesk.v1", "bearer.secret-token-0123456789"]);
    expect(rest.calls.at(-1)!.auth).toBe("Bearer secret-token-0123456789");
    await d.useToken("wrong-token-000000000000");
    expect(d.getState()).toMatchObject({ auth: "needed", authProblem: "that token was refused" });
  });
});
