/** Inspector and connection state: envelopes once per id, bounded, filtered; each stream's link through ready, load, drop, reset. */
import { describe, expect, test } from "vitest";
import { clearStream, filterEnvelopes, initialInspector, MAX_ENVELOPES, recordEnvelopes } from "../../src/state/inspector";
import { initialConnection, linkOn, reloadStarted } from "../../src/state/connection";
import { bars, created, hft } from "../support/events";

describe("inspector", () => {
  test("channel envelopes are kept once per id, in id order, bounded", () => {
    let s = recordEnvelopes(initialInspector, "prediction", [created(2, 2), created(1, 1)]);
    s = recordEnvelopes(s, "prediction", [created(2, 2), created(3, 3)]);
    expect(s.envelopes.prediction.map((e) => e.id)).toEqual([1, 2, 3]);
    const many = Array.from({ length: MAX_ENVELOPES + 20 }, (_, i) => created(i + 10, i));
    expect(recordEnvelopes(s, "prediction", many).envelopes.prediction).toHaveLength(MAX_ENVELOPES);
    expect(clearStream(s, "prediction").envelopes.prediction).toEqual([]);
  });

  test("market frames (id null) are appended; filters by type", () => {
    const frame = { id: null, channel: "market" as const, type: "market.bars" as const, payload: bars(0, {}), ts: 1 };
    const s = recordEnvelopes(recordEnvelopes(initialInspector, "market", [frame]), "market", [frame]);
    expect(s.envelopes.market).toHaveLength(2);
    const mixed = [hft(1, "hft.error", { error: "x" }), hft(2, "hft.stop", {})];
    expect(filterEnvelopes(mixed, new Set(["hft.stop"])).map((e) => e.id)).toEqual([2]);
    expect(filterEnvelopes(mixed, new Set())).toHaveLength(2);
  });
});

describe("connection", () => {
  const start = initialConnection.hft;

  test("first ready loads, then live; a drop reconnects; a resume says resumed", () => {
    let link = linkOn(start, { kind: "ready", ready: { outcome: "live", epoch: "e", headId: 3 }, loads: true });
    expect(link.status).toBe("reloading");
    link = linkOn(link, { kind: "loaded" });
    expect(link).toMatchObject({ status: "live", detail: "" });
    link = linkOn(link, { kind: "disconnect", info: { code: 1012, reason: "", cause: "closed", retryIn: 250 } });
    expect(link).toMatchObject({ status: "reconnecting", reconnects: 1 });
    expect(link.detail).toContain("0.3 s");
    link = linkOn(link, { kind: "ready", ready: { outcome: "resumed", epoch: "e", headId: 9 }, loads: false });
    expect(link.status).toBe("resumed");
  });

  test("a reset says why, stays 'reset' while reloading, then live with the state reloaded", () => {
    let link = linkOn(start, { kind: "ready", ready: { outcome: "reset", reason: "epoch_changed", epoch: "f", headId: 0 }, loads: true });
    expect(link).toMatchObject({ status: "reset", resets: 1 });
    expect(link.detail).toContain("new event log");
    link = reloadStarted(link);
    expect(link.status).toBe("reset");
    link = linkOn(link, { kind: "loaded" });
    expect(link).toMatchObject({ status: "live", detail: "state reloaded" });
  });

  test("terminal closes: 4401 asks for a token, others stop", () => {
    expect(linkOn(start, { kind: "disconnect", info: { code: 4401, reason: "unauthorized", cause: "closed", retryIn: null } }).status).toBe("unauthorized");
    expect(linkOn(start, { kind: "disconnect", info: { code: 4404, reason: "", cause: "closed", retryIn: null } }).status).toBe("stopped");
  });
});
