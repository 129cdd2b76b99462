/** How the live and paper record did over a range of dates: metrics, equity and drawdown, daily PnL, per instrument; CSV books. */
import { useCallback, useEffect, useMemo, useState } from "react";
import { LineChart, COLORS, type Line } from "../components/Charts";
import { DataTable } from "../components/DataTable";
import { ErrorAlert } from "../components/ErrorAlert";
import { istDateTime, pct, rupees, signedRupees, tone } from "../app/format";
import { useCommand, useDeskInstance } from "../app/hooks";
import type { Schemas } from "../lib/api";
import { instrumentName } from "../state/market";

type Performance = Schemas["Performance"];

/** A figure, or why it is missing ("n/a (one day)"). */
function figure(perf: Performance, name: keyof Performance & string, show: (v: number) => string): string {
  const value = perf[name];
  return typeof value === "number" ? show(value) : `n/a (${perf.unavailable[name] ?? "not known"})`;
}

const ratio = (v: number) => v.toFixed(2);

function Metrics({ perf }: { perf: Performance }) {
  const dd = perf.max_drawdown;
  const rows: [string, string, number | undefined][] = [
    ["Net PnL after costs", signedRupees(perf.net_pnl), perf.net_pnl],
    ["Gross PnL", signedRupees(perf.gross_pnl), perf.gross_pnl],
    ["Charges", rupees(perf.charges), undefined],
    ["Return on capital", pct(perf.total_return), perf.total_return],
    ["Trades (won / lost)", `${perf.trades} (${perf.wins} / ${perf.losses})`, undefined],
    ["Win rate", figure(perf, "win_rate", pct), undefined],
    ["Profit factor", figure(perf, "profit_factor", ratio), undefined],
    ["Expectancy per trade", figure(perf, "expectancy", signedRupees), perf.expectancy ?? undefined],
    ["Average win / loss", `${figure(perf, "avg_win", signedRupees)} / ${figure(perf, "avg_loss", signedRupees)}`, undefined],
    ["Longest win / loss streak", `${perf.longest_win_streak} / ${perf.longest_loss_streak}`, undefined],
    [
      "Max drawdown",
      `${rupees(dd.amount)} (${dd.pct.toFixed(2)}%) from ${istDateTime(dd.start_ts)}, trough ${istDateTime(dd.trough_ts)}, ${
        dd.recovery_ts === null ? "not recovered" : `recovered ${istDateTime(dd.recovery_ts)}`
      }`,
      undefined,
    ],
    ["Sharpe", figure(perf, "sharpe", ratio), undefined],
    ["Sortino", figure(perf, "sortino", ratio), undefined],
    ["CAGR", figure(perf, "cagr", pct), undefined],
    ["Calmar", figure(perf, "calmar", ratio), undefined],
    ["Exposure", figure(perf, "exposure", pct), undefined],
    ["Turnover", `${rupees(perf.turnover)} (${perf.turnover_ratio.toFixed(1)}× capital)`, undefined],
    ["Sessions", String(perf.sessions), undefined],
  ];
  return (
    <dl className="metrics" data-testid="performance-metrics">
      {rows.map(([name, value, sign]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd className={sign === undefined ? undefined : tone(sign)}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Charges({ perf }: { perf: Performance }) {
  return (
    <p className="muted" data-testid="charges-by-kind">
      Charges by kind:{" "}
      {Object.entries(perf.charges_by_kind)
        .map(([kind, value]) => `${kind} ${rupees(value)}`)
        .join(", ")}
      {perf.broker_charges !== null && `; the broker's figure ${rupees(perf.broker_charges)}`}
    </p>
  );
}

/** One line of the record's curve (`values` at `perf.curve_ts`). */
function series(name: string, color: string, perf: Performance | null, values: readonly number[] | undefined): Line[] {
  return [{ name, color, points: (perf?.curve_ts ?? []).map((time, i) => ({ time, value: values![i]! })) }];
}

/** Save `blob` as a file named `name` (the browser's download). */
function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function PerformanceView() {
  const desk = useDeskInstance();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [perf, setPerf] = useState<Performance | null>(null);
  const load = useCommand();
  const download = useCommand();
  const range = useMemo(() => ({ from: from || undefined, to: to || undefined }), [from, to]);

  const runLoad = load.run;
  const refresh = useCallback(
    () =>
      void runLoad(async () => {
        setPerf(await desk.rest.read("/api/hft/performance", range));
      }),
    [desk, range, runLoad],
  );
  useEffect(refresh, [refresh]);

  const fetchCsv = (book: "trades" | "orders") =>
    void download.run(async () => {
      save(await desk.rest.file(`/api/hft/${book}.csv`, { ...range, limit: 100_000 }), `${book}.csv`);
      return `${book}.csv saved`;
    });

  const [equity, drawdown] = useMemo(
    () => [series("equity", COLORS.accent, perf, perf?.equity), series("drawdown", COLORS.down, perf, perf?.drawdown)],
    [perf],
  );

  return (
    <div className="grid">
      <section className="panel wide" aria-labelledby="range-title">
        <h2 id="range-title">Record</h2>
        <div className="fields">
          <label>
            From (IST date)
            <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="performance-from" />
          </label>
          <label>
            To (IST date)
            <input type="date" value={to} onChange={(e) => setTo(e.target.value)} data-testid="performance-to" />
          </label>
          <div className="actions">
            <button type="button" onClick={refresh} disabled={load.pending}>
              Refresh
            </button>
            <button type="button" onClick={() => fetchCsv("trades")} disabled={download.pending}>
              Download trades CSV
            </button>
            <button type="button" onClick={() => fetchCsv("orders")} disabled={download.pending}>
              Download orders CSV
            </button>
          </div>
        </div>
        <p aria-live="polite" className="muted">
          {load.pending ? "loading…" : download.done}
        </p>
        <ErrorAlert error={load.error || download.error} />
        {perf && (
          <>
            <Metrics perf={perf} />
            <Charges perf={perf} />
          </>
        )}
      </section>
      {perf && perf.curve_ts.length > 0 && (
        <section className="panel wide" aria-labelledby="equity-title">
          <h2 id="equity-title">Equity and drawdown</h2>
          <LineChart lines={equity} label="Equity: capital, realized and open PnL" height={220} />
          <LineChart lines={drawdown} label="Drawdown below the running peak" height={140} />
        </section>
      )}
      {perf && (
        <section className="panel" aria-labelledby="daily-title">
          <h2 id="daily-title">Daily PnL</h2>
          <DataTable
            testId="daily-pnl"
            tall
            columns={["Day", "PnL", "Return", "Trades", "Equity"]}
            items={[...perf.daily].reverse()}
            empty="No sessions in the range."
            row={(d) => (
              <tr key={d.day} data-day={d.day}>
                <th scope="row">{d.day}</th>
                <td className={tone(d.pnl)}>{signedRupees(d.pnl)}</td>
                <td>{pct(d.ret)}</td>
                <td>{d.trades}</td>
                <td>{rupees(d.equity)}</td>
              </tr>
            )}
          />
        </section>
      )}
      {perf && (
        <section className="panel" aria-labelledby="instruments-title">
          <h2 id="instruments-title">By instrument</h2>
          <DataTable
            testId="by-instrument"
            columns={["Instrument", "Trades", "Win rate", "Net PnL", "Charges", "Profit factor"]}
            items={perf.by_instrument}
            empty="No closed trades."
            row={(g) => (
              <tr key={g.key} data-instrument={g.key}>
                <th scope="row">{instrumentName(g.key)}</th>
                <td>{g.trades}</td>
                <td>{pct(g.win_rate)}</td>
                <td className={tone(g.net_pnl)}>{signedRupees(g.net_pnl)}</td>
                <td>{rupees(g.charges)}</td>
                <td>{g.profit_factor === null ? "n/a" : ratio(g.profit_factor)}</td>
              </tr>
            )}
          />
        </section>
      )}
    </div>
  );
}
