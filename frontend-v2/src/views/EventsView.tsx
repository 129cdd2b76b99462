/** The raw envelope inspector: one stream at a time, filtered by type, pausable. */
import { useMemo, useState } from "react";
import { clock } from "../app/format";
import { useDesk } from "../app/hooks";
import { FRAMES, STREAMS, type Stream } from "../lib/ws";
import { filterEnvelopes, type AnyEvent } from "../state/inspector";

const SHOWN = 200;

export function EventsView() {
  const { inspector } = useDesk();
  const [stream, setStream] = useState<Stream>("prediction");
  const [types, setTypes] = useState<ReadonlySet<string>>(new Set());
  const [frozen, setFrozen] = useState<readonly AnyEvent[] | null>(null);
  const live = inspector.envelopes[stream];
  const held = frozen ?? live;
  const pending = useMemo(() => {
    if (frozen === null) return 0;
    const seen = new Set(frozen); // envelopes are immutable objects: identity tells new from held
    return live.filter((e) => !seen.has(e)).length;
  }, [frozen, live]);
  const shown = useMemo(() => filterEnvelopes(held, types).slice(-SHOWN).reverse(), [held, types]);
  const known = Object.keys(FRAMES[stream]).filter((t) => !t.startsWith("stream."));

  const toggle = (type: string) => {
    const next = new Set(types);
    if (next.has(type)) next.delete(type);
    else next.add(type);
    setTypes(next);
  };

  return (
    <div className="grid">
      <section className="panel wide" aria-labelledby="events-title">
        <h2 id="events-title">Events</h2>
        <div className="fields">
          <label>
            Stream
            <select
              value={stream}
              onChange={(e) => {
                setStream(e.target.value as Stream);
                setTypes(new Set());
                setFrozen(null);
              }}
            >
              {STREAMS.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <button type="button" aria-pressed={frozen !== null} onClick={() => setFrozen(frozen === null ? live : null)}>
            {frozen === null ? "Pause" : `Resume${pending ? ` (${pending} new)` : ""}`}
          </button>
        </div>
        <fieldset>
          <legend>Types (none checked: all)</legend>
          <div className="checks">
            {known.map((type) => (
              <label key={type}>
                <input type="checkbox" checked={types.has(type)} onChange={() => toggle(type)} /> {type}
              </label>
            ))}
          </div>
        </fieldset>
        <p className="muted">
          {shown.length} of {held.length} held envelopes, newest first{frozen !== null && "; paused"}.
        </p>
        <ol className="envelopes" data-testid="envelopes" aria-label={`Envelopes of ${stream}`}>
          {shown.map((e, i) => (
            <li key={e.id ?? `m${held.length - i}`} data-event-id={e.id ?? ""}>
              <div className="envelope-head">
                <code>{e.type}</code> <span className="muted">id {e.id ?? "null"} · ts {e.ts} ({clock(e.ts)})</span>
              </div>
              <pre>{JSON.stringify(e)}</pre>
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}
