/** scripts/gen-types.mjs: the zod parsers follow the schema, and a keyword they cannot express stops the generation. */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, test } from "vitest";

const run = promisify(execFile);
const script = join(import.meta.dirname, "..", "scripts", "gen-types.mjs");

function schema(payload: object): object {
  const frame = {
    type: "object",
    additionalProperties: false,
    properties: {
      id: { type: "integer" },
      channel: { const: "hft", type: "string" },
      type: { const: "hft.x", type: "string" },
      payload: { $ref: "#/$defs/X" },
      ts: { type: "integer", minimum: 0 },
    },
    required: ["id", "channel", "type", "payload", "ts"],
  };
  return {
    title: "WsMessage",
    anyOf: [{ $ref: "#/$defs/HftMessage" }],
    $defs: {
      X: payload,
      XEvent: frame,
      HftMessage: { oneOf: [{ $ref: "#/$defs/XEvent" }] },
      Envelope: { type: "object", additionalProperties: false, properties: {} },
    },
  };
}

describe("gen-types.mjs", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "gen-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function generate(payload: object): Promise<string> {
    const input = join(dir, "schema.json");
    await writeFile(input, JSON.stringify(schema(payload)));
    await run("node", [script, input, join(dir, "types.ts"), join(dir, "zod.ts")]);
    return readFile(join(dir, "zod.ts"), "utf8");
  }

  test("strict producers, tolerant readers: additionalProperties false drops, true keeps; optional is never null", async () => {
    const code = await generate({
      type: "object",
      additionalProperties: false,
      properties: { a: { type: "integer", minimum: 1 }, b: { anyOf: [{ type: "string" }, { type: "null" }] }, c: { type: "string" } },
      required: ["a", "b"],
    });
    expect(code).toContain("export const X = z.object({\n  a: z.int().min(1),\n  b: z.string().nullable(),\n  c: z.string().optional(),\n});");
    expect(code).toContain('"hft.x": XEvent,');
    const loose = await generate({ type: "object", additionalProperties: true, properties: { n: { type: "number" } }, required: ["n"] });
    expect(loose).toContain("export const X = z.looseObject({\n  n: z.number(),\n});");
  });

  test("a keyword the generator cannot express fails, naming where", async () => {
    await expect(generate({ type: "string", pattern: "^a" })).rejects.toThrow(/X: unsupported keyword pattern/);
  });
});
