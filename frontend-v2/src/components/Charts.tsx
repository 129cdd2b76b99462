/**
 * Charts on TradingView's lightweight-charts: candles with markers, and small line charts.
 *
 * Times on the axis are IST (the exchange's clock): lightweight-charts draws UTC, so every
 * time is shifted by +5:30 before it is handed over.
 */
import {
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  LineSeries,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef } from "react";
import type { Candle } from "../state/market";

const IST_OFFSET = 19_800;
export const toChartTime = (ts: number): UTCTimestamp => (ts + IST_OFFSET) as UTCTimestamp;

export const COLORS = { up: "#26a69a", down: "#ef5350", text: "#c9d1d9", grid: "#21262d", accent: "#58a6ff", amber: "#d29922" };

function baseOptions(height: number) {
  return {
    autoSize: true,
    height,
    layout: { background: { color: "transparent" }, textColor: COLORS.text, attributionLogo: false },
    grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
    timeScale: { timeVisible: true, secondsVisible: false },
    rightPriceScale: { borderVisible: false },
  } as const;
}

/** A chart's lifetime bound to a div: created on mount, removed on unmount. */
function useChart(height: number): [React.RefObject<HTMLDivElement | null>, React.RefObject<IChartApi | null>] {
  const element = useRef<HTMLDivElement | null>(null);
  const chart = useRef<IChartApi | null>(null);
  useEffect(() => {
    if (element.current === null) return;
    chart.current = createChart(element.current, baseOptions(height));
    return () => {
      chart.current?.remove();
      chart.current = null;
    };
  }, [height]);
  return [element, chart];
}

export interface Marker {
  readonly time: number;
  readonly position: "aboveBar" | "belowBar" | "inBar";
  readonly shape: "circle" | "square" | "arrowUp" | "arrowDown";
  readonly color: string;
  readonly text?: string;
}

export interface CandleChartProps {
  readonly candles: readonly Candle[];
  readonly markers: readonly Marker[];
  readonly label: string;
  readonly height?: number;
}

export function CandleChart({ candles, markers, label, height = 380 }: CandleChartProps) {
  const [element, chart] = useChart(height);
  const series = useRef<ISeriesApi<"Candlestick"> | null>(null);
  const markerApi = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  const fitted = useRef(false);

  useEffect(() => {
    if (chart.current === null) return;
    series.current = chart.current.addSeries(CandlestickSeries, {
      upColor: COLORS.up,
      downColor: COLORS.down,
      wickUpColor: COLORS.up,
      wickDownColor: COLORS.down,
      borderVisible: false,
    });
    markerApi.current = createSeriesMarkers(series.current, []);
    fitted.current = false;
    return () => {
      series.current = null;
      markerApi.current = null;
    };
  }, [chart]);

  useEffect(() => {
    series.current?.setData(candles.map((c) => ({ ...c, time: toChartTime(c.time) })));
    if (!fitted.current && candles.length > 0 && chart.current) {
      chart.current.timeScale().fitContent();
      fitted.current = true;
    }
  }, [candles, chart]);

  useEffect(() => {
    const sorted = [...markers].sort((a, b) => a.time - b.time);
    markerApi.current?.setMarkers(sorted.map((m): SeriesMarker<Time> => ({ ...m, time: toChartTime(m.time) })));
  }, [markers]);

  return <div className="chart" ref={element} role="img" aria-label={label} style={{ height }} />;
}

export interface Line {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { readonly time: number; readonly value: number }[];
  /** Which price scale: lines of different units go on different sides. */
  readonly scale?: "left" | "right";
}

export function LineChart({ lines, label, height = 220 }: { lines: readonly Line[]; label: string; height?: number }) {
  const [element, chart] = useChart(height);
  const series = useRef<Map<string, ISeriesApi<"Line">>>(new Map());

  useEffect(() => {
    const api = chart.current;
    if (api === null) return;
    const held = series.current;
    for (const line of lines) {
      let s = held.get(line.name);
      if (s === undefined) {
        const scale = line.scale ?? "right";
        s = api.addSeries(LineSeries, { color: line.color, lineWidth: 2, title: line.name, priceScaleId: scale });
        if (scale === "left") api.applyOptions({ leftPriceScale: { visible: true, borderVisible: false } });
        held.set(line.name, s);
      }
      s.setData(line.points.map((p) => ({ time: toChartTime(p.time), value: p.value })));
    }
    for (const [name, s] of held) {
      if (!lines.some((l) => l.name === name)) {
        api.removeSeries(s);
        held.delete(name);
      }
    }
    api.timeScale().fitContent(); // a small summary chart: always all of it
  }, [lines, chart]);

  useEffect(() => () => series.current.clear(), [chart]);

  return <div className="chart" ref={element} role="img" aria-label={label} style={{ height }} />;
}
