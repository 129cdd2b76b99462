// @vitest-environment happy-dom
/**
 * The instrument pickers' search box over GET /api/instruments: matches as the server ranks
 * them, a pick in the training form and the predictor's form, answers to older keystrokes
 * dropped, the hint when no master is loaded. The server's answers are canned in its shape
 * (InstrumentList); the ranking itself is tested on the server (tests/api/test_instruments_rest.py).
 */
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { Desk, type DeskState } from "../src/app/desk";
import { DeskContext } from "../src/app/hooks";
import { InstrumentSearch, type Instrument } from "../src/components/InstrumentSearch";
import { applyBars } from "../src/state/market";
import { renderDeskAt } from "./support/desk";
import { bars, RELIANCE, TCS } from "./support/events";

vi.mock("../src/components/Charts", () => ({
  CandleChart: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
  LineChart: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
  COLORS: { up: "g", down: "r", text: "t", grid: "x", accent: "a", amber: "y" },
}));

function instrument(key: string, symbol: string, name: string, segment = key.split("|")[0]!): Instrument {
  return {
    instrument_key: key,
    trading_symbol: symbol,
    name,
    exchange: "NSE",
    segment,
    instrument_type: "EQ",
    isin: null,
    exchange_token: null,
    tick_size: 0.05,
    lot_size: 1,
    freeze_quantity: null,
    short_name: null,
    security_type: null,
    expiry: null,
    strike_price: null,
    underlying_key: null,
  };
}

const INFY = "NSE_EQ|INE009A01021";
const MASTER = [
  instrument(RELIANCE, "RELIANCE", "RELIANCE INDUSTRIES LTD"),
  instrument("NSE_EQ|INE036A01016", "RELINFRA", "RELIANCE INFRASTRUCTU LTD"),
  instrument(TCS, "TCS", "TATA CONSULTANCY SERV LT"),
  instrument(INFY, "INFY", "INFOSYS LIMITED"),
];

let requests: URL[] = [];
let posts: { path: string; body: unknown }[] = [];
let masterSize = MASTER.length;

/** The server's side: symbol prefixes, then names, as InstrumentList answers. */
const serve = (async (input: RequestInfo | URL, init?: RequestInit) => {
  const url = new URL(String(input), "http://desk.test");
  if (init?.method === "POST") {
    posts.push({ path: url.pathname, body: JSON.parse(String(init.body)) });
    return new Response(JSON.stringify({ job_id: "j1" }), { status: 202 });
  }
  requests.push(url);
  const q = (url.searchParams.get("q") ?? "").toUpperCase();
  const found = masterSize === 0 ? [] : [...MASTER.filter((i) => i.trading_symbol.startsWith(q)), ...MASTER.filter((i) => !i.trading_symbol.startsWith(q) && i.name!.includes(q))];
  return new Response(JSON.stringify({ instruments: found.slice(0, Number(url.searchParams.get("limit"))), master_size: masterSize }), { status: 200 });
}) as typeof globalThis.fetch;

function renderDesk(path: string, change: (s: DeskState) => DeskState, fetch = serve) {
  return renderDeskAt(path, change, fetch);
}

const withFeed = (s: DeskState): DeskState => ({ ...s, market: applyBars({ ...s.market, interval: "1m" }, bars(0, { [RELIANCE]: 100, [TCS]: 200 })) });

function matches(): HTMLElement {
  return screen.getByRole("list", { name: "Matches of Search symbol or name" });
}

beforeEach(() => {
  requests = [];
  posts = [];
  masterSize = MASTER.length;
});
afterEach(() => cleanup());

describe("instrument search", () => {
  test("the training form trains on an instrument found by symbol, outside the feed too", async () => {
    renderDesk("/training", withFeed);
    fireEvent.change(screen.getByLabelText("Search symbol or name"), { target: { value: "inf" } });
    const infy = await within(matches()).findByRole("button", { name: /INFY/ });
    expect(requests.at(-1)!.pathname).toBe("/api/instruments");
    expect(Object.fromEntries(requests.at(-1)!.searchParams)).toEqual({ q: "inf", limit: "8" });
    fireEvent.click(infy);
    const select = screen.getByLabelText("Instrument") as HTMLSelectElement;
    expect(select.value).toBe(INFY);
    expect(select.selectedOptions[0]!.textContent).toBe("INFY");
    expect((screen.getByLabelText("Search symbol or name") as HTMLInputElement).value).toBe("");
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    });
    expect(posts.at(-1)).toEqual({ path: "/api/training/jobs", body: { kind: "ridge", params: { instrument_key: INFY } } });
  });

  test("matches come in the server's order: symbol prefixes, then names", async () => {
    renderDesk("/training", withFeed);
    fireEvent.change(screen.getByLabelText("Search symbol or name"), { target: { value: "reli" } });
    await waitFor(() => expect(within(matches()).getAllByRole("button")).toHaveLength(2));
    const keys = within(matches()).getAllByRole("button").map((b) => b.getAttribute("data-instrument-key"));
    expect(keys).toEqual([RELIANCE, "NSE_EQ|INE036A01016"]);
    fireEvent.change(screen.getByLabelText("Search symbol or name"), { target: { value: "zzz" } });
    expect(await screen.findByText("No instrument matches “zzz”.")).toBeTruthy();
  });

  test("the predictor's form selects a feed instrument found by symbol and says when one is not in the feed", async () => {
    renderDesk("/predictor", withFeed);
    fireEvent.click(screen.getByLabelText("TCS")); // unselect it
    expect((screen.getByLabelText("TCS") as HTMLInputElement).checked).toBe(false);
    fireEvent.change(screen.getByLabelText("Search symbol or name"), { target: { value: "tcs" } });
    fireEvent.click(await within(matches()).findByRole("button", { name: /TCS/ }));
    expect((screen.getByLabelText("TCS") as HTMLInputElement).checked).toBe(true);
    fireEvent.change(screen.getByLabelText("Search symbol or name"), { target: { value: "infy" } });
    fireEvent.click(await within(matches()).findByRole("button", { name: /INFY/ }));
    expect(screen.getByText("INFY is not in the market feed (SIGNALDESK_MARKET_INSTRUMENTS)")).toBeTruthy();
  });

  test("without an instrument master the box says how to load one", async () => {
    masterSize = 0;
    renderDesk("/training", withFeed);
    fireEvent.change(screen.getByLabelText("Search symbol or name"), { target: { value: "reliance" } });
    expect(await screen.findByText("No instrument master loaded: run `signaldesk instruments sync`.")).toBeTruthy();
  });

  test("an answer to an older keystroke is dropped", async () => {
    const pending = new Map<string, (r: Response) => void>();
    const slow = ((input: RequestInfo | URL) => {
      const q = new URL(String(input), "http://desk.test").searchParams.get("q")!;
      return new Promise<Response>((resolve) => pending.set(q, resolve));
    }) as typeof globalThis.fetch;
    const desk = new Desk({ fetch: slow, notifyEvery: 0 });
    const picked: string[] = [];
    render(
      <DeskContext.Provider value={desk}>
        <InstrumentSearch label="Search symbol or name" onPick={(i) => picked.push(i.instrument_key)} delay={0} />
      </DeskContext.Provider>,
    );
    const box = screen.getByLabelText("Search symbol or name");
    fireEvent.change(box, { target: { value: "r" } });
    await waitFor(() => expect(pending.has("r")).toBe(true));
    fireEvent.change(box, { target: { value: "t" } });
    await waitFor(() => expect(pending.has("t")).toBe(true));
    const answer = (found: Instrument[]) => new Response(JSON.stringify({ instruments: found, master_size: 4 }), { status: 200 });
    await act(async () => pending.get("t")!(answer([MASTER[2]!])));
    await act(async () => pending.get("r")!(answer([MASTER[0]!, MASTER[1]!]))); // late: dropped
    const buttons = within(matches()).getAllByRole("button");
    expect(buttons.map((b) => b.getAttribute("data-instrument-key"))).toEqual([TCS]);
    fireEvent.click(buttons[0]!);
    expect(picked).toEqual([TCS]);
  });
});
