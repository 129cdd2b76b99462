/**
 * The REST side of the desk: one small client over `fetch`, same origin, bearer token.
 *
 * Every call either returns the decoded JSON or throws `ApiError` carrying the status and
 * the server's `detail` (a string, or FastAPI's list of `{loc, msg}`), rendered by `message`.
 *
 * The answers' types come from the server: each REST route has a Pydantic response model
 * (app/api/schemas/), the OpenAPI document describes them (contracts/openapi.json) and
 * `make contract` generates api.gen.ts from it. `read(path)` is typed by its path.
 */
import type { components, paths } from "./api.gen";
import type { Channel, EventOf } from "./ws";

export type Json = Record<string, unknown>;

/** The REST answers' models, by name (`Schemas["EngineStatus"]`), as the OpenAPI document has them. */
export type Schemas = components["schemas"];

type Method = "get" | "post" | "patch" | "delete";
type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : never;

/** What `method` on `path` answers when it succeeds (200, 201 or 202). */
export type Answer<P extends keyof paths, M extends Method = "get"> =
  NonNullable<paths[P][M]> extends { responses: infer R } ? JsonOf<R[Extract<keyof R, 200 | 201 | 202>]> : never;

/** The paths a GET reads as JSON without path parameters. */
export type ReadPath = {
  [P in keyof paths]: P extends `${string}{${string}` ? never : [Answer<P>] extends [never] ? never : P;
}[keyof paths];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
    readonly path: string,
  ) {
    super(`${path}: ${status} ${describeDetail(detail)}`);
    this.name = "ApiError";
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/** FastAPI's `detail`: a string, or `[{loc, msg}]` naming each wrong field. */
export function describeDetail(detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const item = d as { loc?: unknown[]; msg?: string };
        const where = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body").join(".") : "";
        return where ? `${where}: ${item.msg ?? "invalid"}` : (item.msg ?? JSON.stringify(d));
      })
      .join("; ");
  }
  return detail === undefined ? "" : JSON.stringify(detail);
}

export interface ApiOptions {
  /** The server's origin ("" for the page's own). */
  base: string;
  token: string | undefined;
  fetch: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;

/** GET /api/events, its envelopes typed by channel (the OpenAPI document types them as any envelope). */
export interface EventPage<C extends Channel> extends Omit<Schemas["EventPage"], "events"> {
  events: EventOf<C>[];
}

export class Api {
  readonly options: ApiOptions;

  constructor(options: Partial<ApiOptions> = {}) {
    this.options = { base: "", token: undefined, fetch: (...args) => globalThis.fetch(...args), ...options };
  }

  withToken(token: string | undefined): Api {
    return new Api({ ...this.options, token });
  }

  async get<T = Json>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>("GET", path, query);
  }

  async post<T = Json>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, {}, body);
  }

  async send<T = Json>(method: "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
    return this.request<T>(method, path, {}, body);
  }

  async request<T>(method: string, path: string, query: Query = {}, body?: unknown): Promise<T> {
    const response = await this.fetchRaw(method, path, query, body, "application/json");
    return (await decode(response, path)) as T;
  }

  /** GET a file (a CSV book): its bytes, or `ApiError` like any call. */
  async file(path: string, query: Query = {}): Promise<Blob> {
    const response = await this.fetchRaw("GET", path, query, undefined, "*/*");
    if (!response.ok) await decode(response, path);
    return response.blob();
  }

  private fetchRaw(method: string, path: string, query: Query, body: unknown, accept: string): Promise<Response> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const url = `${this.options.base}${path}${params.size ? `?${params}` : ""}`;
    const headers: Record<string, string> = { accept };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    return this.options.fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  /** GET `path`, its answer typed by the OpenAPI document (`read("/api/hft/status")` is an EngineStatus). */
  read<P extends ReadPath>(path: P, query: Query = {}): Promise<Answer<P>> {
    return this.get<Answer<P>>(path, query);
  }

  // --- the endpoints the desk reads -------------------------------------------------------

  events<C extends Channel>(channel: C, after: number, limit = 1000): Promise<EventPage<C>> {
    return this.get<EventPage<C>>("/api/events", { channel, after, limit });
  }

  market(limit = 375): Promise<Schemas["MarketOut"]> {
    return this.read("/api/market", { limit });
  }
}

/** The answer's JSON (or text); throws `ApiError` with the server's `detail` when it is an error. */
async function decode(response: Response, path: string): Promise<unknown> {
  const text = await response.text();
  let decoded: unknown = undefined;
  try {
    decoded = text ? JSON.parse(text) : undefined;
  } catch {
    decoded = text;
  }
  if (!response.ok) {
    const detail = decoded !== null && typeof decoded === "object" && "detail" in decoded ? decoded.detail : decoded;
    throw new ApiError(response.status, detail, path);
  }
  return decoded;
}

/**
 * Every stored event of a channel from `after` up to `headId`, page by page (oldest first).
 * `maxPages` bounds a long log: the last events are what a view needs, so a cut drops the oldest.
 */
export async function eventsUpTo<C extends Channel>(
  api: Api,
  channel: C,
  headId: number,
  { after = 0, maxPages = 50 }: { after?: number; maxPages?: number } = {},
): Promise<EventOf<C>[]> {
  const out: EventOf<C>[] = [];
  let cursor = after;
  for (let page = 0; page < maxPages && cursor < headId; page++) {
    const { events } = await api.events(channel, cursor);
    const upTo = events.filter((e) => e.id <= headId);
    out.push(...upTo);
    if (events.length < 1000 || upTo.length < events.length) return out;
    cursor = events[events.length - 1]!.id;
  }
  return out;
}
