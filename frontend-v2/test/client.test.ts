/** ChannelClient without a network: backoff, options, resume cursor, duplicates, timeouts, terminal closes. */
import { afterEach, beforeEach, describe, expect, expectTypeOf, test, vi } from "vitest";
import { ChannelClient, DEFAULT, IllegalTransition, type Options, type SocketLike } from "../src/lib/client";

class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  closedWith: { code?: number; reason?: string } | undefined;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    sockets.push(this);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }

  send(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  ready(payload: Partial<{ epoch: string; head_id: number; resumed: boolean; reason: string | null }> = {}): void {
    this.send({
      id: null,
      channel: "hft",
      type: "stream.ready",
      payload: { epoch: "e1", head_id: 10, resumed: false, reason: null, heartbeat_interval: 0.5, ...payload },
      ts: 1,
    });
  }

  event(id: number): void {
    this.send({ id, channel: "hft", type: "hft.broker", payload: { broker: `b${id}` }, ts: 1 });
  }

  serverClose(code: number, reason = ""): void {
    this.onclose?.({ code, reason });
  }
}

let sockets: FakeSocket[] = [];
const last = (): FakeSocket => sockets[sockets.length - 1]!;

function client(options: Partial<Options> = {}) {
  const c = new ChannelClient("ws://127.0.0.1:9/", "hft", { WebSocket: FakeSocket, random: () => 0.5, ...options });
  const ids: number[] = [];
  c.on("event", (e) => ids.push(e.id));
  return { c, ids };
}

beforeEach(() => {
  sockets = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("backoff", () => {
  test("grows exponentially from minDelay, is capped by maxDelay, and jitter only shortens it", () => {
    const options = { minDelay: 100, maxDelay: 5_000, growFactor: 2, jitter: 0.5 };
    const low = new ChannelClient("ws://x", "hft", { WebSocket: FakeSocket, ...options, random: () => 0 });
    const high = new ChannelClient("ws://x", "hft", { WebSocket: FakeSocket, ...options, random: () => 1 - 1e-12 });
    const base = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000];
    base.forEach((b, attempt) => {
      expect(low.nextDelay(attempt)).toBe(b);
      expect(high.nextDelay(attempt)).toBeCloseTo(b * 0.5, 6);
    });
    for (let attempt = 0; attempt < 60; attempt++) {
      const random = new ChannelClient("ws://x", "hft", { WebSocket: FakeSocket, ...options }).nextDelay(attempt);
      expect(random).toBeGreaterThan(Math.min(5_000, 100 * 2 ** attempt) * 0.5 - 1e-9);
      expect(random).toBeLessThanOrEqual(5_000);
    }
  });

  test("the DEFAULT table starts at 250 ms and stays under 30 s", () => {
    const c = new ChannelClient("ws://x", "hft", { WebSocket: FakeSocket, random: () => 0 });
    expect(c.nextDelay(0)).toBe(DEFAULT.minDelay);
    expect(c.nextDelay(1000)).toBe(DEFAULT.maxDelay);
  });

  test("retries wait as computed, and the count restarts after a stream.ready", () => {
    const { c } = client({ minDelay: 100, maxDelay: 1_000, jitter: 0 });
    const waits: (number | null)[] = [];
    c.on("disconnect", (d) => waits.push(d.retryIn));
    c.start();
    last().serverClose(1006);
    vi.advanceTimersByTime(100);
    last().serverClose(1006);
    vi.advanceTimersByTime(200);
    last().serverClose(1011);
    vi.advanceTimersByTime(400);
    last().ready();
    last().serverClose(1001);
    expect(waits).toEqual([100, 200, 400, 100]);
    expect(sockets).toHaveLength(4);
  });
});

describe("options", () => {
  test.each<[string, Partial<Options>]>([
    ["minDelay 0", { minDelay: 0 }],
    ["maxDelay below minDelay", { minDelay: 10, maxDelay: 5 }],
    ["jitter above 1", { jitter: 1.5 }],
    ["growFactor below 1", { growFactor: 0.5 }],
    ["after without epoch", { after: 3 }],
    ["no WebSocket class", { WebSocket: undefined }],
  ])("%s fails at construction", (_, options) => {
    expect(() => new ChannelClient("ws://x", "hft", { WebSocket: FakeSocket, ...options })).toThrow();
  });
});

describe("connecting and resuming", () => {
  test("offers the subprotocols, with the token when there is one", () => {
    client().c.start();
    expect(last().protocols).toEqual(["signaldesk.v1"]);
    client({ token: "0123456789abcdef" }).c.start();
    expect(last().protocols).toEqual(["signaldesk.v1", "bearer.0123456789abcdef"]);
    expect(last().url).toBe("ws://127.0.0.1:9/api/ws/hft");
  });

  test("reconnects with the epoch and the last id, and reports each outcome", () => {
    const { c, ids } = client({ after: 3, epoch: "e0" });
    const outcomes: unknown[] = [];
    c.on("ready", (r) => outcomes.push(r));
    c.start();
    expect(last().url).toBe("ws://127.0.0.1:9/api/ws/hft?after=3&epoch=e0");
    last().ready({ epoch: "e0", head_id: 12, resumed: true });
    last().event(5);
    last().serverClose(1012);
    vi.runOnlyPendingTimers();
    expect(last().url).toBe("ws://127.0.0.1:9/api/ws/hft?after=5&epoch=e0");
    last().ready({ epoch: "e1", head_id: 2, resumed: false, reason: "epoch_changed" });
    last().event(3);
    expect(ids).toEqual([5, 3]);
    expect(outcomes).toEqual([
      { outcome: "resumed", epoch: "e0", headId: 12 },
      { outcome: "reset", reason: "epoch_changed", epoch: "e1", headId: 2 },
    ]);
    expect(c.cursor).toEqual({ epoch: "e1", after: 3 });
  });

  test("a fresh connection starts after head_id", () => {
    const { c, ids } = client();
    c.start();
    expect(last().url).toBe("ws://127.0.0.1:9/api/ws/hft");
    last().ready({ head_id: 10 });
    expect(c.ready).toEqual({ outcome: "live", epoch: "e1", headId: 10 });
    last().event(9);
    last().event(11);
    expect(ids).toEqual([11]);
    expect(c.cursor).toEqual({ epoch: "e1", after: 11 });
  });

  test("drops duplicates and replays by id", () => {
    const { c, ids } = client();
    c.start();
    last().ready({ head_id: 0 });
    for (const id of [1, 2, 2, 3, 1, 4, 4]) last().event(id);
    expect(ids).toEqual([1, 2, 3, 4]);
    expect(c.duplicatesDropped).toBe(3);
  });
});

describe("dead connections and terminal closes", () => {
  test("no frame for twice the heartbeat interval: dead, closed, retried", () => {
    const { c } = client({ jitter: 0, minDelay: 50 });
    const causes: string[] = [];
    c.on("disconnect", (d) => causes.push(d.cause));
    c.start();
    last().ready();
    vi.advanceTimersByTime(900);
    last().send({ id: null, channel: "hft", type: "stream.heartbeat", payload: {}, ts: 1 });
    vi.advanceTimersByTime(900);
    expect(causes).toEqual([]);
    vi.advanceTimersByTime(100); // 1000 ms after the heartbeat
    expect(causes).toEqual(["heartbeat-timeout"]);
    expect(sockets[0]!.closedWith).toBeDefined();
    expect(c.state).toBe("waiting");
    vi.advanceTimersByTime(50);
    expect(sockets).toHaveLength(2);
    expect(c.state).toBe("connecting");
  });

  test("no stream.ready within connectTimeout: given up and retried", () => {
    const { c } = client({ connectTimeout: 1_000 });
    const causes: string[] = [];
    c.on("disconnect", (d) => causes.push(d.cause));
    c.start();
    vi.advanceTimersByTime(1_000);
    expect(causes).toEqual(["connect-timeout"]);
  });

  test.each([4400, 4401, 4403, 4404, 1003, 1009])("close %i stops for good", (code) => {
    const { c } = client();
    const disconnects: unknown[] = [];
    c.on("disconnect", (d) => disconnects.push(d));
    c.start();
    last().serverClose(code, "no");
    expect(c.state).toBe("stopped");
    expect(disconnects).toEqual([{ code, reason: "no", cause: "closed", retryIn: null }]);
    vi.runAllTimers();
    expect(sockets).toHaveLength(1);
    expect(() => c.reconnect()).toThrow(IllegalTransition);
  });

  test("stop() closes and nothing follows; events of the old socket are ignored", () => {
    const { c, ids } = client();
    c.start();
    const socket = last();
    socket.ready();
    c.stop();
    expect(socket.closedWith).toEqual({ code: 1000, reason: "client stopped" });
    socket.event(11);
    vi.runAllTimers();
    expect(ids).toEqual([]);
    expect(sockets).toHaveLength(1);
    expect(c.state).toBe("stopped");
  });

  test("stop() from a disconnect listener prevents the retry", () => {
    const { c } = client();
    c.on("disconnect", () => c.stop());
    c.start();
    last().ready();
    last().serverClose(1001);
    vi.runAllTimers();
    expect(c.state).toBe("stopped");
    expect(sockets).toHaveLength(1);
    const forced = client();
    forced.c.on("disconnect", () => forced.c.stop());
    forced.c.start();
    forced.c.reconnect();
    expect(forced.c.state).toBe("stopped");
    expect(sockets).toHaveLength(2);
  });

  test("frames that cannot be used are reported, not fatal", () => {
    const { c, ids } = client();
    const problems: string[] = [];
    c.on("problem", (p) => problems.push(p.kind));
    c.start();
    last().ready();
    last().onmessage?.({ data: "{oops" });
    last().send({ id: 11, channel: "hft", type: "hft.partial_fill", payload: {}, ts: 1 });
    last().send({ id: 12, channel: "training", type: "training.failed", payload: { job_id: "j" }, ts: 1 });
    last().event(13);
    expect(problems).toEqual(["error", "unknown", "protocol"]);
    expect(ids).toEqual([13]);
  });
});

describe("an ephemeral stream (market)", () => {
  function bars(socket: FakeSocket, ts: number): void {
    const bar = { instrument_key: "NSE_EQ|INE002A01018", open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 };
    socket.send({ id: null, channel: "market", type: "market.bars", payload: { interval: "1m", ts, close_ts: ts + 60, bars: [bar] }, ts: 1 });
  }
  function ready(socket: FakeSocket, epoch = "m1"): void {
    const payload = { epoch, head_id: 0, resumed: false, reason: null, heartbeat_interval: 0.5 };
    socket.send({ id: null, channel: "market", type: "stream.ready", payload, ts: 1 });
  }

  test("hands over frames with id null, never resumes, and every ready is live", () => {
    const c = new ChannelClient("ws://127.0.0.1:9", "market", { WebSocket: FakeSocket, random: () => 0.5 });
    const seen: number[] = [];
    const outcomes: string[] = [];
    c.on("event", (e) => {
      expectTypeOf(e.id).toEqualTypeOf<null>();
      if (e.type === "market.bars") seen.push(e.payload.ts);
    });
    c.on("ready", (r) => outcomes.push(r.outcome));
    expect(c.resumable).toBe(false);
    c.start();
    ready(last());
    bars(last(), 60);
    bars(last(), 120);
    last().serverClose(1012);
    vi.runOnlyPendingTimers();
    expect(last().url).toBe("ws://127.0.0.1:9/api/ws/market"); // no after/epoch, ever
    ready(last(), "m2"); // a restarted server: a new epoch is not a reset either
    bars(last(), 180);
    bars(last(), 180); // no ids: nothing to de-duplicate by; the view keys bars by time
    expect(seen).toEqual([60, 120, 180, 180]);
    expect(outcomes).toEqual(["live", "live"]);
    expect(c.cursor).toBeUndefined();
    expect(c.duplicatesDropped).toBe(0);
  });

  test("backs off between attempts like a channel, and a resume cursor is refused", () => {
    const c = new ChannelClient("ws://x", "market", { WebSocket: FakeSocket, minDelay: 100, jitter: 0 });
    const waits: (number | null)[] = [];
    c.on("disconnect", (d) => waits.push(d.retryIn));
    c.start();
    last().serverClose(1006);
    vi.advanceTimersByTime(100);
    last().serverClose(1006);
    expect(waits).toEqual([100, 200]);
    expect(() => new ChannelClient("ws://x", "market", { WebSocket: FakeSocket, after: 1, epoch: "e" })).toThrow(RangeError);
  });
});
