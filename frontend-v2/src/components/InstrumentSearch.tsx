/**
 * A search box over the instrument master (GET /api/instruments): type a trading symbol or a
 * part of a name, pick one of the matches (the exact symbol first, then symbols that start with
 * the text, then names). Answers that come back after a newer keystroke are dropped.
 */
import { useEffect, useId, useState } from "react";
import { useDeskInstance } from "../app/hooks";
import { describeDetail, ApiError, type Schemas } from "../lib/api";

export type Instrument = Schemas["InstrumentOut"];

const LIMIT = 8;

interface Found {
  q: string;
  instruments: Instrument[];
  masterSize: number;
  error: string;
}

export function InstrumentSearch({ label, onPick, delay = 200 }: { label: string; onPick: (instrument: Instrument) => void; delay?: number }) {
  const desk = useDeskInstance();
  const [text, setText] = useState("");
  const [found, setFound] = useState<Found | null>(null);
  const listId = useId();
  const q = text.trim();

  useEffect(() => {
    if (!q) return;
    let current = true;
    const timer = setTimeout(() => {
      desk.rest.read("/api/instruments", { q, limit: LIMIT }).then(
        (answer) => current && setFound({ q, instruments: answer.instruments, masterSize: answer.master_size, error: "" }),
        (e: unknown) => current && setFound({ q, instruments: [], masterSize: 1, error: e instanceof ApiError ? describeDetail(e.detail) : String(e) }),
      );
    }, delay);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [desk, q, delay]);

  const shown = q && found?.q === q ? found : null;
  const pick = (instrument: Instrument) => {
    onPick(instrument);
    setText("");
    setFound(null);
  };
  return (
    <div className="instrument-search">
      <label>
        {label}
        <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="RELIANCE, Nifty…" aria-controls={listId} autoComplete="off" spellCheck={false} />
      </label>
      <ul id={listId} aria-label={`Matches of ${label}`} className="matches">
        {shown?.instruments.map((i) => (
          <li key={i.instrument_key}>
            <button type="button" onClick={() => pick(i)} data-instrument-key={i.instrument_key}>
              <strong>{i.trading_symbol}</strong> <span className="muted">{i.name ?? ""} · {i.segment}</span>
            </button>
          </li>
        ))}
      </ul>
      <p aria-live="polite" className="muted">
        {shown && shown.error ? shown.error : ""}
        {shown && !shown.error && shown.masterSize === 0 ? "No instrument master loaded: run `signaldesk instruments sync`." : ""}
        {shown && !shown.error && shown.masterSize > 0 && shown.instruments.length === 0 ? `No instrument matches “${q}”.` : ""}
      </p>
    </div>
  );
}
