/** Every fixture of contracts/fixtures through ws.ts: the valid ones parse, the invalid ones fail where they say. */
import { describe, expect, test } from "vitest";
import { FRAMES, parseMessage, STREAMS } from "../src/lib/ws";
import { INVALID, VALID } from "./support/fixtures";

describe("valid fixtures", () => {
  test.each(VALID.map((f) => [f.name, f] as const))("%s parses to itself", (_, fixture) => {
    const result = parseMessage(JSON.stringify(fixture.message));
    expect(result).toEqual({ kind: "message", message: fixture.message });
  });

  test("cover every (stream, type) ws.ts knows", () => {
    const covered = new Set(VALID.map((f) => `${f.message.channel}/${f.message.type}`));
    const known = STREAMS.flatMap((channel) => Object.keys(FRAMES[channel]).map((type) => `${channel}/${type}`));
    expect(known.filter((k) => !covered.has(k))).toEqual([]);
    expect([...covered].filter((k) => !known.includes(k))).toEqual([]);
  });
});

describe("invalid fixtures", () => {
  test.each(INVALID.map((f) => [f.name, f] as const))("%s fails at its path", (_, fixture) => {
    const result = parseMessage(JSON.stringify(fixture.message));
    expect(result.kind, fixture.note).toBe("error");
    if (result.kind !== "error") return;
    expect(result.issues.map((i) => i.path)).toContain(fixture.path);
    expect(result.problem).not.toBe("");
  });

  test("there are enough of them", () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(20);
  });
});
