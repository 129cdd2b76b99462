/** ws.ts: leniency where the docs allow it, strictness elsewhere, results instead of exceptions. */
import { describe, expect, expectTypeOf, test } from "vitest";
import {
  CHANNELS,
  CloseCode,
  isChannel,
  isTerminalClose,
  STREAMS,
  parseMessage,
  type EventOf,
  type MessageOf,
  type ParseResult,
  type WsMessage,
} from "../src/lib/ws";
import type { Calibration, HftEntry, MarketBars, MarketStatus, StreamReady } from "../src/lib/ws.gen";

const entry = {
  id: 7,
  channel: "hft",
  type: "hft.entry",
  payload: { trade_id: 5001, instrument_key: "NSE_EQ|INE848E01016", qty: 40, entry: 2871.5 },
  ts: 1739570000,
};

function message(result: ParseResult): WsMessage {
  if (result.kind !== "message") throw new Error(`expected a message, got ${JSON.stringify(result)}`);
  return result.message;
}

describe("unknown fields", () => {
  test("are dropped from the envelope and the payload", () => {
    const parsed = message(parseMessage({ ...entry, trace: "x", payload: { ...entry.payload, venue: "NSE" } }));
    expect(parsed).toEqual(entry);
    expect(parsed).not.toHaveProperty("trace");
    expect(parsed.payload).not.toHaveProperty("venue");
  });

  test("are kept in calibration, whose contract says more may follow", () => {
    const calibration = { n: 1, bias: 0, mae: 0, rmse: 0, hit_rate: 1, window: "7d" };
    const resolved = {
      id: 8,
      channel: "prediction",
      type: "prediction.resolved",
      payload: {
        id: 1,
        instrument_key: "k",
        interval: "1m",
        horizon_steps: 1,
        ts_pred: 0,
        ts_target: 60,
        actual_ret: 0,
        pred_ret_adj: 0,
        error: 0,
        calibration,
      },
      ts: 0,
    };
    const parsed = message(parseMessage(resolved));
    if (parsed.type !== "prediction.resolved") throw new Error(parsed.type);
    expect(parsed.payload.calibration).toEqual(calibration);
    expectTypeOf(parsed.payload.calibration).toEqualTypeOf<Calibration>();
  });
});

describe("unknown channels and types", () => {
  test.each([
    ["a channel nobody knows", { ...entry, channel: "options" }],
    ["a type new to a known channel", { ...entry, type: "hft.partial_fill" }],
    ["a type of another channel", { ...entry, type: "training.started" }],
    ["an inherited property name", { ...entry, channel: "constructor" }],
    ["a prototype key as type", { ...entry, type: "__proto__" }],
  ])("%s is an unknown result, not an error", (_, frame) => {
    const result = parseMessage(JSON.stringify(frame));
    expect(result).toEqual({
      kind: "unknown",
      channel: frame.channel,
      type: frame.type,
      envelope: { id: frame.id, channel: frame.channel, type: frame.type, payload: frame.payload, ts: frame.ts },
    });
  });

  test("a frame that is not an envelope is an error, even with an unknown type", () => {
    expect(parseMessage({ channel: "options", type: "x", payload: {}, ts: 1 })).toMatchObject({ kind: "error", path: "id" });
  });
});

describe("malformed input", () => {
  test.each([
    ["text that is not JSON", "{not json", ""],
    ["empty text", "", ""],
    ["JSON null", "null", ""],
    ["a JSON array", "[1, 2]", ""],
    ["a JSON string", '"hft.entry"', ""],
    ["a number", 42, ""],
    ["binary data", new Uint8Array([123, 125]), ""],
    ["a payload that is a string", { ...entry, payload: "{}" }, "payload"],
    ["a channel that is a number", { ...entry, channel: 3 }, "channel"],
    ["an id beyond 2^53", { ...entry, id: 2 ** 60 }, "id"],
    ["ts as text", { ...entry, ts: "1739570000" }, "ts"],
  ])("%s gives an error naming the path", (_, input, path) => {
    const result = parseMessage(input);
    expect(result.kind).toBe("error");
    if (result.kind !== "error") return;
    expect(result.path).toBe(path);
    expect(result.problem.length).toBeGreaterThan(0);
    expect(result.issues[0]).toEqual({ path: result.path, problem: result.problem });
  });

  test("every wrong field is listed", () => {
    const result = parseMessage({ ...entry, payload: { ...entry.payload, qty: "40", entry: null } });
    expect(result.kind).toBe("error");
    if (result.kind !== "error") return;
    expect(result.issues.map((i) => i.path).sort()).toEqual(["payload.entry", "payload.qty"]);
  });

  test("an optional field is absent, never null; a nullable one is null, never absent", () => {
    const updated = { id: 9, channel: "automation", type: "automation_run.updated", payload: { job_id: "j1" }, ts: 1 };
    expect(message(parseMessage(updated)).payload).toEqual({ job_id: "j1" });
    expect(parseMessage({ ...updated, payload: { job_id: "j1", progress: null } })).toMatchObject({ kind: "error", path: "payload.progress" });
    const state = { broker: "paper", safe_mode: true, live_trading_enabled: false, state: "running" };
    const frame = { id: 10, channel: "hft", type: "hft.state", ts: 1 };
    expect(message(parseMessage({ ...frame, payload: { ...state, halted_reason: null } })).payload).toHaveProperty("halted_reason", null);
    expect(parseMessage({ ...frame, payload: state })).toMatchObject({ kind: "error", path: "payload.halted_reason" });
  });

  test("never throws", () => {
    const inputs: unknown[] = [undefined, Symbol("x"), () => 1, new Map(), Object.create(null), { toJSON: 1 }];
    for (const input of inputs) expect(parseMessage(input).kind).toBe("error");
  });
});

describe("types", () => {
  test("narrowing on channel then type gives the exact payload, exhaustively", () => {
    function describeFrame(m: WsMessage): string {
      switch (m.channel) {
        case "hft":
          switch (m.type) {
            case "hft.entry":
              expectTypeOf(m.payload).toEqualTypeOf<HftEntry>();
              return `${m.payload.qty} @ ${m.payload.entry}`;
            case "stream.ready":
              expectTypeOf(m.payload).toEqualTypeOf<StreamReady>();
              expectTypeOf(m.id).toEqualTypeOf<null>();
              return m.payload.epoch;
            case "hft.start":
            case "hft.stop":
            case "hft.broker":
            case "hft.error":
            case "hft.flatten":
            case "hft.exit":
            case "hft.trade_risk":
            case "hft.manage_error":
            case "hft.state":
            case "stream.heartbeat":
              return m.type;
            default: {
              const never: never = m;
              return never;
            }
          }
        case "market":
          expectTypeOf(m.id).toEqualTypeOf<null>();
          return m.type === "market.bars" ? String(m.payload.bars.length) : m.type;
        case "prediction":
        case "automation":
        case "training":
          return m.type;
        default: {
          const never: never = m;
          return never;
        }
      }
    }
    expect(describeFrame(message(parseMessage(entry)))).toBe("40 @ 2871.5");
  });

  test("per-channel helpers", () => {
    expectTypeOf<EventOf<"hft">["id"]>().toEqualTypeOf<number>();
    expectTypeOf<Extract<MessageOf<"training">, { type: "stream.ready" }>["payload"]>().toEqualTypeOf<StreamReady>();
    expectTypeOf<EventOf<"automation">["type"]>().toEqualTypeOf<"automation_run.started" | "automation_run.updated">();
    expectTypeOf<EventOf<"market">["type"]>().toEqualTypeOf<"market.bars" | "market.status">();
    expectTypeOf<EventOf<"market">["id"]>().toEqualTypeOf<null>();
    expectTypeOf<Extract<EventOf<"market">, { type: "market.bars" }>["payload"]>().toEqualTypeOf<MarketBars>();
    expectTypeOf<Extract<EventOf<"market">, { type: "market.status" }>["payload"]>().toEqualTypeOf<MarketStatus>();
  });
});

describe("the ephemeral market stream", () => {
  const bars = {
    id: null,
    channel: "market",
    type: "market.bars",
    payload: {
      interval: "1m",
      ts: 1739592900,
      close_ts: 1739592960,
      bars: [{ instrument_key: "NSE_EQ|INE002A01018", open: 2901.3, high: 2903.1, low: 2899.85, close: 2902.45, volume: 41250 }],
    },
    ts: 1739592961,
  };

  test("market.bars parses with id null", () => {
    expect(message(parseMessage(JSON.stringify(bars)))).toEqual(bars);
    expect(isChannel("market")).toBe(false);
    expect(isChannel("hft")).toBe(true);
    expect(STREAMS).toEqual([...CHANNELS, "market"]);
  });

  test("an id on a market frame, or a negative volume, is an error at its path", () => {
    const withId = parseMessage({ ...bars, id: 3 });
    expect(withId.kind === "error" && withId.path).toBe("id");
    const bar = { ...bars.payload.bars[0]!, volume: -1 };
    const negative = parseMessage({ ...bars, payload: { ...bars.payload, bars: [bar] } });
    expect(negative.kind === "error" && negative.path).toBe("payload.bars.0.volume");
  });
});

describe("close codes", () => {
  test("terminal: 4400-4499, 1003 and 1009", () => {
    const terminal = [1003, 1009, 4400, 4401, 4403, 4404, 4450, 4499];
    const retry = [1000, 1001, 1006, 1011, 1012, 4000, 4399, 4500];
    expect(terminal.filter((c) => !isTerminalClose(c))).toEqual([]);
    expect(retry.filter((c) => isTerminalClose(c))).toEqual([]);
    expect(isTerminalClose(CloseCode.UNAUTHORIZED)).toBe(true);
    expect(isTerminalClose(CloseCode.SLOW_CONSUMER)).toBe(false);
  });
});
