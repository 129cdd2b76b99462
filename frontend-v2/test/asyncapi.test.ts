/** contracts/asyncapi.json is a valid AsyncAPI 3 document and agrees with ws.ts. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Parser } from "@asyncapi/parser";
import { beforeAll, describe, expect, test } from "vitest";
import { CHANNELS, FRAMES, isTerminalClose, STREAMS } from "../src/lib/ws";

const PATH = fileURLToPath(new URL("../../contracts/asyncapi.json", import.meta.url));
const text = readFileSync(PATH, "utf8");
const raw = JSON.parse(text) as { "x-close-codes": { code: number; name: string; terminal: boolean }[] };

type Parsed = Awaited<ReturnType<Parser["parse"]>>;
let parsed: Parsed;

beforeAll(async () => {
  parsed = await new Parser().parse(text);
});

describe("asyncapi.json", () => {
  test("parses with no errors or warnings", () => {
    // Severity 0 is an error, 1 a warning; 2 and 3 are hints (e.g. "3.1.0 exists").
    const serious = parsed.diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message}`);
    expect(serious).toEqual([]);
    expect(parsed.document).toBeDefined();
  });

  test("has the four channels and the market stream at /api/ws/{stream}; only the channels resume", () => {
    const channels = parsed.document!.channels();
    expect(channels.all().map((c) => c.id()).sort()).toEqual([...STREAMS].sort());
    for (const channel of channels) {
      expect(channel.address()).toBe(`/api/ws/${channel.id()}`);
      const query = channel.bindings().get("ws")?.value()?.query as { properties: Record<string, unknown> } | undefined;
      if ((CHANNELS as readonly string[]).includes(channel.id())) {
        expect(Object.keys(query!.properties).sort()).toEqual(["after", "epoch"]);
      } else {
        expect(query).toBeUndefined();
      }
    }
  });

  test("has a message for every frame ws.ts parses, and no other", () => {
    for (const channel of parsed.document!.channels()) {
      const names = channel.messages().all().map((m) => m.name()).sort();
      expect(names).toEqual(Object.keys(FRAMES[channel.id() as keyof typeof FRAMES]).sort());
    }
  });

  test("close codes agree with isTerminalClose", () => {
    const codes = raw["x-close-codes"];
    expect(codes.length).toBeGreaterThanOrEqual(10);
    expect(codes.filter((c) => isTerminalClose(c.code) !== c.terminal)).toEqual([]);
  });
});
