/** Candles per instrument, live from the market stream, with prediction markers and trade entries/exits. */
import { useMemo, useState } from "react";
import { CandleChart, COLORS, type Marker } from "../components/Charts";
import { istDateTime, rupees, signedRupees } from "../app/format";
import { useDesk } from "../app/hooks";
import { instrumentName, type Candle } from "../state/market";
import type { PredictionRow } from "../state/prediction";
import type { Trade } from "../state/trading";

/** The open time of the bar that holds `time` (the latest candle at or before it), if any. */
export function snap(candles: readonly Candle[], time: number): number | undefined {
  let lo = 0;
  let hi = candles.length - 1;
  let found: number | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (candles[mid]!.time <= time) {
      found = candles[mid]!.time;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Markers of one instrument: its predictions (at the bar they were made on) and its trades. */
export function markersFor(candles: readonly Candle[], predictions: readonly PredictionRow[], trades: readonly Trade[]): Marker[] {
  const markers: Marker[] = [];
  if (candles.length === 0) return markers;
  const horizon = Math.min(...predictions.map((p) => p.horizon_steps));
  for (const p of predictions) {
    if (p.horizon_steps !== horizon) continue;
    const time = snap(candles, p.ts_pred - 1); // ts_pred is a bar close: the bar opened before it
    if (time === undefined) continue;
    const up = p.pred_ret_adj > 0;
    markers.push({ time, position: up ? "belowBar" : "aboveBar", shape: "circle", color: up ? COLORS.up : COLORS.down });
  }
  for (const t of trades) {
    const entry = t.entryTime === undefined ? undefined : snap(candles, t.entryTime);
    if (entry !== undefined) {
      const long = t.qty > 0;
      markers.push({
        time: entry,
        position: long ? "belowBar" : "aboveBar",
        shape: long ? "arrowUp" : "arrowDown",
        color: COLORS.accent,
        text: `${long ? "buy" : "sell"} ${Math.abs(t.qty)} #${t.trade_id}`,
      });
    }
    const exit = t.exitTime === undefined ? undefined : snap(candles, t.exitTime);
    if (exit !== undefined && t.status === "closed") {
      markers.push({ time: exit, position: "aboveBar", shape: "square", color: COLORS.amber, text: `exit #${t.trade_id} ${signedRupees(t.pnl)}` });
    }
  }
  return markers;
}

export function MarketView() {
  const { market, prediction, trading } = useDesk();
  const [picked, setPicked] = useState("");
  const instrument = market.instruments.includes(picked) ? picked : (market.instruments[0] ?? "");
  const candles = market.candles[instrument] ?? [];
  const predictions = useMemo(
    () => Object.values(prediction.rows).filter((r) => r.instrument_key === instrument).slice(-200),
    [prediction.rows, instrument],
  );
  const trades = useMemo(() => Object.values(trading.trades).filter((t) => t.instrument_key === instrument), [trading.trades, instrument]);
  const markers = useMemo(() => markersFor(candles, predictions, trades), [candles, predictions, trades]);
  const last = candles[candles.length - 1];

  return (
    <div className="grid">
      <section className="panel wide" aria-labelledby="market-title">
        <h2 id="market-title">Market</h2>
        <div role="group" aria-label="Instrument" className="tabs">
          {market.instruments.map((key) => (
            <button key={key} type="button" aria-pressed={key === instrument} onClick={() => setPicked(key)}>
              {instrumentName(key)}
            </button>
          ))}
        </div>
        <p className="muted" data-testid="market-summary">
          Feed {market.feed}, {market.interval ?? "?"} bars; {candles.length} bars of {instrumentName(instrument)}
          {last && (
            <>
              , last {istDateTime(last.time)} close {rupees(last.close)}
            </>
          )}
          .
        </p>
        <CandleChart candles={candles} markers={markers} label={`Candles of ${instrumentName(instrument)}, with predictions and trades`} />
        <p className="muted legend">
          <span className="up">●</span>/<span className="down">●</span> predicted up/down (shortest horizon) · <span className="accent">▲▼</span> trade
          entries · <span className="amber">■</span> exits
        </p>
      </section>
    </div>
  );
}
