/**
 * The REST client: answers typed by the server's OpenAPI document (api.gen.ts), errors with the
 * server's detail. Against a real `signaldesk serve`: each read answers every key its generated
 * type requires, so the types describe what the server sends.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, expectTypeOf, test } from "vitest";
import { Api, ApiError, describeDetail, type Answer, type ReadPath, type Schemas } from "../src/lib/api";
import { SignaldeskServer } from "./support/server";

interface SchemaObject {
  required?: string[];
  properties?: Record<string, unknown>;
}
const OPENAPI = JSON.parse(readFileSync(new URL("../../contracts/openapi.json", import.meta.url), "utf8")) as {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
  components: { schemas: Record<string, SchemaObject> };
};

/** The schema GET `path` answers, as the OpenAPI document names it. */
function answerSchema(path: string): SchemaObject & { name: string } {
  const ref = OPENAPI.paths[path]!.get!.responses["200"]!.content!["application/json"]!.schema.$ref!;
  const name = ref.split("/").pop()!;
  return { name, ...OPENAPI.components.schemas[name]! };
}

describe("types", () => {
  test("a read's answer is the model its path names", () => {
    expectTypeOf<Answer<"/api/hft/status">>().toEqualTypeOf<Schemas["EngineStatus"]>();
    expectTypeOf<Answer<"/api/automation/schedules", "post">>().toEqualTypeOf<Schemas["ScheduleOut"]>();
    expectTypeOf<Answer<"/api/training/jobs", "post">>().toEqualTypeOf<Schemas["JobOut"]>();
    expectTypeOf<"/api/hft/status">().toExtend<ReadPath>();
    expectTypeOf<"/api/models/{model_id}">().not.toExtend<ReadPath>(); // a path with parameters is no read
    expectTypeOf<"/metrics">().not.toExtend<ReadPath>(); // Prometheus' text, not JSON
  });
});

describe("errors", () => {
  const answering = (status: number, body: unknown) =>
    new Api({ fetch: (async () => new Response(JSON.stringify(body), { status })) as typeof fetch });

  test("a failure throws ApiError with the status and the server's detail, fields named", async () => {
    const detail = [{ loc: ["body", "limits", "max_open_trades"], msg: "may not exceed the server's 4" }];
    const error = await answering(422, { detail }).read("/api/hft/status").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 422, detail, path: "/api/hft/status" });
    expect((error as ApiError).message).toBe("/api/hft/status: 422 limits.max_open_trades: may not exceed the server's 4");
    expect(describeDetail("not found")).toBe("not found");
    const unauthorized = await answering(401, { detail: "missing or invalid bearer token" }).read("/api/market").catch((e: unknown) => e);
    expect((unauthorized as ApiError).unauthorized).toBe(true);
  });
});

describe("against a real server", () => {
  let server: SignaldeskServer;
  let api: Api;
  beforeAll(async () => {
    server = await SignaldeskServer.start({ token: "api-test-token-0123456789" });
    api = new Api({ base: server.http, token: "api-test-token-0123456789" });
  }, 30_000);
  afterAll(() => server?.dispose());

  const reads = ["/api/hft/status", "/api/hft/trades", "/api/predictor/status", "/api/automation/schedules", "/api/market"] as const;
  for (const path of reads) {
    test(`GET ${path} has every key its generated type requires`, async () => {
      const answer = (await api.read(path)) as Record<string, unknown>;
      const schema = answerSchema(path);
      expect(schema.required?.length, schema.name).toBeGreaterThan(0);
      for (const key of schema.required ?? []) expect(answer, `${schema.name}.${key}`).toHaveProperty(key);
      for (const key of Object.keys(answer)) expect(schema.properties, `${schema.name} has no ${key}`).toHaveProperty(key);
    });
  }

  test("the typed answer is usable as is: no shape guessing", async () => {
    const [status, { trades }, market] = await Promise.all([api.read("/api/hft/status"), api.read("/api/hft/trades"), api.market(0)]);
    expect(status.state).toBe("stopped");
    expect(status.limits.max_open_trades).toBeGreaterThan(0);
    expect(trades).toEqual([]);
    expect(market.bars).toEqual([]);
  });
});
