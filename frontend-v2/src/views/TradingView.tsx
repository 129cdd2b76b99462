/** The trading engine: mode and state beyond doubt, trades with stop/target, PnL over the day, controls, errors. */
import { useMemo, useState } from "react";
import { ConfirmButton } from "../components/Confirm";
import { LineChart, COLORS, type Line } from "../components/Charts";
import { DataTable } from "../components/DataTable";
import { ErrorAlert } from "../components/ErrorAlert";
import { clock, rupees, signedRupees, tone } from "../app/format";
import { useCommand, useDesk, useDeskInstance } from "../app/hooks";
import { instrumentName, lastClose } from "../state/market";
import {
  applyHaltAnswer,
  closedTrades,
  openPnl,
  openTrades,
  pnlSeries,
  realizedPnl,
  todaysTrades,
  type Engine,
} from "../state/trading";

function Mode({ engine }: { engine: Engine }) {
  const live = engine.live_trading_enabled === true;
  const safe = engine.safe_mode !== false;
  const known = engine.live_trading_enabled !== undefined;
  const [mode, style] = !known
    ? ["Mode not known yet: no engine status", "mode-unknown"]
    : live && !safe
      ? ["LIVE: real orders", "mode-live"]
      : live
        ? ["LIVE enabled, safe mode on", "mode-armed"]
        : ["PAPER: no real orders", "mode-paper"];
  return (
    <div className={`mode ${style}`} role="status" data-testid="trading-mode">
      <strong>{mode}</strong>
      <dl>
        <div>
          <dt>Engine</dt>
          <dd data-testid="engine-state">{engine.state}</dd>
        </div>
        <div>
          <dt>Broker</dt>
          <dd>{engine.broker ?? "–"}</dd>
        </div>
        <div>
          <dt>safe_mode</dt>
          <dd>{engine.safe_mode === undefined ? "–" : engine.safe_mode ? "on" : "OFF"}</dd>
        </div>
        <div>
          <dt>live_trading_enabled</dt>
          <dd>{engine.live_trading_enabled === undefined ? "–" : engine.live_trading_enabled ? "YES" : "no"}</dd>
        </div>
      </dl>
      {engine.state === "halted" && engine.halted_reason && (
        <p className="error" data-testid="halted-reason">
          Halted: {engine.halted_reason}
        </p>
      )}
      <StopsHeld engine={engine} />
      <KillSwitchStatus engine={engine} />
    </div>
  );
}

/** Where each trade's stop is held, and why broker stops are not in effect when they were asked for. */
function StopsHeld({ engine }: { engine: Engine }) {
  if (engine.stops === undefined) return null;
  return (
    <p className={engine.stops_note ? "amber" : "muted"} data-testid="stops-held">
      {engine.stops === "broker" ? "Stops: held at the broker (SL-M orders)" : "Stops: watched by the engine"}
      {engine.stops_note ? `. ${engine.stops_note}` : ""}
    </p>
  );
}

/** The broker's own kill switch, as the server engaged it. */
function KillSwitchStatus({ engine }: { engine: Engine }) {
  const k = engine.broker_kill_switch;
  if (k === undefined) return null;
  return (
    <p className={k.engaged ? "error" : "muted"} data-testid="broker-kill-switch">
      {k.engaged
        ? `Broker kill switch ENGAGED${k.at === undefined ? "" : ` at ${clock(k.at)}`}: ${k.segments.join(", ")} (no trading there at the broker)`
        : "Broker kill switch: not engaged"}
    </p>
  );
}

function Controls({ engine }: { engine: Engine }) {
  const desk = useDeskInstance();
  const command = useCommand();
  const [broker, setBroker] = useState("paper");
  const [safeMode, setSafeMode] = useState(true);
  const [killSwitch, setKillSwitch] = useState(false);
  const running = engine.state === "running";
  const active = running || engine.state === "halted";
  const brokers = engine.brokers?.length ? engine.brokers : ["paper"];
  // The engine's new state arrives as hft.state on the stream, here and in every other dashboard.
  const act = (path: string, body: unknown = {}) =>
    void command.run(async () => {
      const answer = await desk.rest.post(path, body);
      const closed = typeof answer?.closed === "number" ? `: ${answer.closed} closed` : "";
      if (path === "/api/hft/halt") desk.patch((s) => ({ ...s, trading: applyHaltAnswer(s.trading, answer) }));
      return `${path.split("/").pop()} done${closed}`;
    });
  return (
    <section className="panel" aria-labelledby="controls-title">
      <h2 id="controls-title">Controls</h2>
      <div className="fields">
        <label>
          Broker
          <select value={broker} onChange={(e) => setBroker(e.target.value)} disabled={active}>
            {brokers.map((b) => (
              <option key={b}>{b}</option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={safeMode} onChange={(e) => setSafeMode(e.target.checked)} disabled={active} /> safe mode
        </label>
      </div>
      <div className="actions">
        <button
          type="button"
          disabled={command.pending || active}
          onClick={() => act("/api/hft/start", { broker, safe_mode: safeMode })}
        >
          Start trading
        </button>
        <ConfirmButton
          label="Stop trading"
          question="Flatten every open position, then stop the engine."
          confirmLabel="Flatten and stop"
          disabled={command.pending || !active}
          onConfirm={() => act("/api/hft/stop")}
        />
        <ConfirmButton
          label="Flatten"
          question="Close every open position at market now. The engine keeps running: halt it first to stop new entries."
          confirmLabel="Flatten all positions"
          disabled={command.pending}
          onConfirm={() => act("/api/hft/flatten")}
        />
        {engine.state === "halted" && (
          <button type="button" disabled={command.pending} onClick={() => act("/api/hft/resume")}>
            Resume entries
          </button>
        )}
        <ConfirmButton
          label="Halt"
          question={
            killSwitch
              ? "The kill switch, with the broker's as a backstop: no new entries, every open position closed at market, then the broker stops all trading in the traded segments (Upstox: for at least 12 hours, and this cannot be undone from here)."
              : "The kill switch: no new entries from now on. Open trades are still managed (stops, targets); flatten to close them."
          }
          confirmLabel={killSwitch ? "Halt, flatten and engage the broker kill switch" : "Halt the engine"}
          disabled={command.pending || !(running || (killSwitch && active))}
          onConfirm={() => act("/api/hft/halt", killSwitch ? { broker_kill_switch: true } : {})}
        />
        <label className="check">
          <input type="checkbox" checked={killSwitch} onChange={(e) => setKillSwitch(e.target.checked)} /> also the broker&apos;s
          kill switch
        </label>
      </div>
      <p aria-live="polite" className="muted">
        {command.pending ? "working…" : command.done}
      </p>
      <ErrorAlert error={command.error} />
    </section>
  );
}

export function TradingView() {
  const { trading, market } = useDesk();
  const open = openTrades(trading);
  const closed = closedTrades(trading);
  const close = (key: string) => lastClose(market, key);
  const realized = realizedPnl(trading);
  const unrealized = openPnl(trading, close);
  const series = useMemo(() => pnlSeries(todaysTrades(trading), market.candles), [trading, market.candles]);
  const lines: Line[] = useMemo(
    () => [
      { name: "realized", color: COLORS.accent, points: series.map((p) => ({ time: p.time, value: p.realized })) },
      { name: "realized + open", color: COLORS.amber, points: series.map((p) => ({ time: p.time, value: p.realized + p.open })) },
    ],
    [series],
  );

  return (
    <div className="grid">
      <section className="panel" aria-labelledby="engine-title">
        <h2 id="engine-title">Engine</h2>
        <Mode engine={trading.engine} />
      </section>
      <Controls engine={trading.engine} />
      <section className="panel wide" aria-labelledby="pnl-title">
        <h2 id="pnl-title">PnL today</h2>
        <p className="pnl">
          <span>
            Realized <strong className={tone(realized)} data-testid="pnl-realized">{signedRupees(realized)}</strong>
          </span>
          <span>
            Open <strong className={tone(unrealized)} data-testid="pnl-open">{signedRupees(unrealized)}</strong>
          </span>
          <span>
            Total <strong className={tone(realized + unrealized)}>{signedRupees(realized + unrealized)}</strong>
          </span>
        </p>
        {series.length > 0 && <LineChart lines={lines} label="Realized and open PnL over the day" height={180} />}
      </section>
      <section className="panel wide" aria-labelledby="open-title">
        <h2 id="open-title">Open trades ({open.length})</h2>
        <DataTable
          testId="open-trades"
          columns={["#", "Instrument", "Side", "Qty", "Entry", "Stop", "Target", "Last", "Open PnL"]}
          items={open}
          empty="No open trades."
          row={(t) => {
            const last = close(t.instrument_key);
            const pnl = last === undefined ? undefined : t.qty * (last - t.entry);
            return (
              <tr key={t.trade_id} data-trade-id={t.trade_id}>
                <td>{t.trade_id}</td>
                <th scope="row">{instrumentName(t.instrument_key)}</th>
                <td>{t.qty > 0 ? "long" : "short"}</td>
                <td>{Math.abs(t.qty)}</td>
                <td>{rupees(t.entry)}</td>
                <td>{rupees(t.stop)}</td>
                <td>{rupees(t.target)}</td>
                <td>{rupees(last)}</td>
                <td className={tone(pnl)}>{signedRupees(pnl)}</td>
              </tr>
            );
          }}
        />
      </section>
      <section className="panel wide" aria-labelledby="closed-title">
        <h2 id="closed-title">Closed trades ({closed.length})</h2>
        <DataTable
          testId="closed-trades"
          tall
          columns={["#", "Instrument", "Qty", "Entry", "Exit", "PnL", "Reason", "Charges (est.)", "Charges (broker)"]}
          items={closed}
          row={(t) => (
            <tr key={t.trade_id} data-trade-id={t.trade_id}>
              <td>{t.trade_id}</td>
              <th scope="row">{instrumentName(t.instrument_key)}</th>
              <td>{t.qty}</td>
              <td>{rupees(t.entry)}</td>
              <td>{rupees(t.exit)}</td>
              <td className={tone(t.pnl)}>{signedRupees(t.pnl)}</td>
              <td>{t.reason ?? "–"}</td>
              <td data-testid="charges-estimate">{rupees(t.charges)}</td>
              <td data-testid="charges-broker">{rupees(t.brokerCharges)}</td>
            </tr>
          )}
        />
      </section>
      <section className="panel wide" aria-labelledby="errors-title">
        <h2 id="errors-title">Errors ({trading.errors.length})</h2>
        {trading.lastFlatten && (
          <p>
            Last flatten at {clock(trading.lastFlatten.ts)}: {trading.lastFlatten.closed} closed
            {trading.lastFlatten.errors.length > 0 && `, ${trading.lastFlatten.errors.length} errors`}.
          </p>
        )}
        {trading.errors.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <ul className="errors" data-testid="trading-errors">
            {[...trading.errors].reverse().map((e, i) => (
              <li key={`${e.id}-${i}`}>
                <time>{clock(e.ts)}</time> <code>{e.source}</code> {e.error}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
