/**
 * ChannelClient against a real signaldesk server (`signaldesk serve`, started here): resume
 * across restarts, reset on a new log, no duplicates, heartbeats, auth, and every event type.
 */
import { WebSocket } from "ws";
import { afterEach, describe, expect, test } from "vitest";
import { ChannelClient, type Disconnect, type Options, type Ready, type SocketConstructor } from "../src/lib/client";
import { CHANNELS, FRAMES, parseMessage, type Channel, type EventOf } from "../src/lib/ws";
import { VALID } from "./support/fixtures";
import { SignaldeskServer } from "./support/server";
import { next, until } from "./support/wait";

const FAST: Partial<Options> = { minDelay: 50, maxDelay: 400, connectTimeout: 2_000 };
const TOKEN = "test-token-0123456789abcdef";

const servers: SignaldeskServer[] = [];
const clients: ChannelClient<Channel>[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.stop();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
});

async function server(options: { token?: string } = {}): Promise<SignaldeskServer> {
  const s = await SignaldeskServer.start(options);
  servers.push(s);
  return s;
}

/** A started client that records everything it reports; `sockets` counts connection attempts. */
function watch<C extends Channel>(s: SignaldeskServer, channel: C, options: Partial<Options> = {}) {
  const seen = {
    events: [] as EventOf<C>[],
    readies: [] as Ready[],
    disconnects: [] as Disconnect[],
    sockets: 0,
    heartbeats: 0,
    lastFrameAt: 0,
  };
  const Counted = class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      seen.sockets += 1;
      this.on("message", (data) => {
        seen.lastFrameAt = Date.now();
        if (String(data).includes('"type":"stream.heartbeat"')) seen.heartbeats += 1;
      });
    }
  };
  const client = new ChannelClient(s.ws, channel, { WebSocket: Counted as SocketConstructor, ...FAST, ...options });
  client.on("event", (e) => seen.events.push(e));
  client.on("ready", (r) => seen.readies.push(r));
  client.on("disconnect", (d) => seen.disconnects.push(d));
  client.on("problem", (p) => {
    throw new Error(`unexpected problem: ${JSON.stringify(p)}`);
  });
  clients.push(client as unknown as ChannelClient<Channel>);
  client.start();
  const ready = (accept: (r: Ready) => boolean = () => true) =>
    next<Ready>("stream.ready", (l) => client.on("ready", l), accept);
  const disconnect = (accept: (d: Disconnect) => boolean = () => true) =>
    next<Disconnect>("a disconnect", (l) => client.on("disconnect", l), accept);
  const received = (id: number) =>
    until(`event ${id} on ${channel}`, () => (seen.events.some((e) => e.id === id) ? true : undefined));
  return { client, seen, ready, disconnect, received };
}

const ids = (events: { id: number }[]) => events.map((e) => e.id);

async function publishBrokers(s: SignaldeskServer, n: number, from = 0): Promise<number[]> {
  const published: number[] = [];
  for (let i = 0; i < n; i++) published.push((await s.publish("hft", "hft.broker", { broker: `b${from + i}` })).id);
  return published;
}

describe("against a real server", () => {
  test("every valid fixture event, published over REST, arrives and parses with ws.ts", async () => {
    const s = await server();
    const watchers = Object.fromEntries(CHANNELS.map((c) => [c, watch(s, c)]));
    await Promise.all(Object.values(watchers).map((w) => until("ready", () => w.client.ready)));
    const events = VALID.filter((f) => f.message.id !== null);
    expect(events.length).toBeGreaterThanOrEqual(21);
    for (const fixture of events) {
      const { channel, type, payload } = fixture.message;
      const stored = await s.publish(channel, type, payload);
      expect(parseMessage(stored), fixture.name).toMatchObject({ kind: "message", message: { channel, type, payload } });
      await watchers[channel]!.received(stored.id);
      const got = watchers[channel]!.seen.events.find((e) => e.id === stored.id)!;
      expect({ channel: got.channel, type: got.type, payload: got.payload }, fixture.name).toEqual({ channel, type, payload });
    }
    // Every event type of every channel came through (the 21 of the contract and the extensions).
    const kinds = new Set(CHANNELS.flatMap((c) => watchers[c]!.seen.events.map((e) => `${c}/${e.type}`)));
    const types = CHANNELS.flatMap((c) => Object.keys(FRAMES[c]).filter((t) => !t.startsWith("stream.")).map((t) => `${c}/${t}`));
    expect([...kinds].sort()).toEqual(types.sort());
  });

  test("resumes after the server restarts on the same data dir, without gaps or duplicates", async () => {
    const s = await server();
    const w = watch(s, "hft");
    expect(await w.ready()).toMatchObject({ outcome: "live" });
    const before = await publishBrokers(s, 3);
    await w.received(before[2]!);

    const dropped = w.disconnect();
    await s.stop();
    expect((await dropped).retryIn).not.toBeNull();
    const resumed = w.ready();
    await s.start();
    const during = await publishBrokers(s, 2, 3); // likely before the client is back: replayed on resume
    expect(await resumed).toMatchObject({ outcome: "resumed" });
    const after = await publishBrokers(s, 2, 5);
    await w.received(after[1]!);
    expect(ids(w.seen.events)).toEqual([...before, ...during, ...after]);
    expect(w.client.duplicatesDropped).toBe(0);
  });

  test("a deleted log is a new epoch: the resume fails with epoch_changed and live events follow", async () => {
    const s = await server();
    const w = watch(s, "hft");
    const first = await w.ready();
    await w.received((await publishBrokers(s, 3))[2]!);

    await s.stop();
    s.wipe();
    const reset = w.ready();
    await s.start();
    const ready = await reset;
    expect(ready).toMatchObject({ outcome: "reset", reason: "epoch_changed" });
    expect(ready.epoch).not.toBe(first.epoch);
    const [fresh] = await publishBrokers(s, 1);
    await w.received(fresh!);
    expect(fresh).toBeLessThanOrEqual(3); // the new log counts from the start again, and still gets through
    expect(w.client.cursor).toEqual({ epoch: ready.epoch, after: fresh });
  });

  test("forced reconnects while events flow: every event exactly once, in order", async () => {
    const s = await server();
    const w = watch(s, "hft");
    await w.ready();
    const published: number[] = [];
    for (let round = 0; round < 6; round++) {
      published.push(...(await publishBrokers(s, 5, round * 5)));
      w.client.reconnect();
    }
    await w.received(published[published.length - 1]!);
    await until("six resumed connections", () =>
      w.seen.readies.filter((r) => r.outcome === "resumed").length >= 6 ? true : undefined,
    );
    expect(ids(w.seen.events)).toEqual(published);
    const [firstReady, ...rest] = w.seen.readies.map((r) => r.outcome);
    expect(firstReady).toBe("live");
    expect(new Set(rest)).toEqual(new Set(["resumed"]));
  });

  test("a frozen server is noticed after two heartbeat intervals; the client resumes once it thaws", async () => {
    const s = await server();
    const w = watch(s, "hft");
    expect((await w.ready()).outcome).toBe("live");
    const [first] = await publishBrokers(s, 1);
    await w.received(first!);
    await until("three heartbeats on an idle stream", () => (w.seen.heartbeats >= 3 ? true : undefined));
    expect(w.seen.disconnects).toEqual([]); // heartbeats keep an idle connection alive

    const dead = w.disconnect((d) => d.cause === "heartbeat-timeout");
    s.freeze();
    await dead;
    const silentFor = Date.now() - w.seen.lastFrameAt;
    expect(silentFor).toBeGreaterThanOrEqual(990); // 2 x 0.5 s after the last frame (less timer rounding)
    expect(silentFor).toBeLessThan(3_000);
    const back = w.ready((r) => r.outcome === "resumed");
    s.thaw();
    await back;
    const [later] = await publishBrokers(s, 1, 1);
    await w.received(later!);
    expect(ids(w.seen.events)).toEqual([first, later]);
  });

  test("a wrong token closes with 4401 and the client does not try again", async () => {
    const s = await server({ token: TOKEN });
    const wrong = watch(s, "hft", { token: "not-the-token-0000000000" });
    const closed = await wrong.disconnect();
    expect(closed).toMatchObject({ code: 4401, cause: "closed", retryIn: null });
    expect(wrong.client.state).toBe("stopped");
    expect(wrong.seen.sockets).toBe(1);

    const none = watch(s, "training");
    expect(await none.disconnect()).toMatchObject({ code: 4401, retryIn: null });

    const right = watch(s, "hft", { token: TOKEN });
    await right.ready();
    const [id] = await publishBrokers(s, 1);
    await right.received(id!);
    expect(wrong.seen.sockets + none.seen.sockets).toBe(2); // still one attempt each
    expect(wrong.seen.events).toEqual([]);
  });
});

describe("the market stream against a real server", () => {
  test("bars arrive; after a restart the client reconnects live (never a reset) and bars continue", async () => {
    const s = await SignaldeskServer.start({ env: { SIGNALDESK_MARKET_SPEED: "600", SIGNALDESK_MARKET_SEED: "7" } });
    servers.push(s);
    const client = new ChannelClient(s.ws, "market", { WebSocket: WebSocket as unknown as SocketConstructor, ...FAST });
    clients.push(client as unknown as ChannelClient<Channel>);
    const closes: number[] = [];
    const readies: Ready[] = [];
    client.on("event", (e) => {
      if (e.type === "market.bars") closes.push(e.payload.close_ts);
    });
    client.on("ready", (r) => readies.push(r));
    client.on("problem", (p) => {
      throw new Error(`unexpected problem: ${JSON.stringify(p)}`);
    });
    client.start();
    await until("three market.bars", () => (closes.length >= 3 ? true : undefined));
    await s.stop();
    const before = closes.length;
    await s.start();
    await until("bars after the restart", () => (closes.length >= before + 2 ? true : undefined));
    expect(readies.map((r) => r.outcome)).toEqual(["live", "live"]);
    expect(readies[1]!.epoch).not.toBe(readies[0]!.epoch);
    expect(client.cursor).toBeUndefined();
  });
});
