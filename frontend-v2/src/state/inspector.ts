/**
 * The events view: the raw envelopes of every stream, newest last, bounded; channel events
 * de-duplicated by id (the market stream has none: its frames are simply appended).
 */
import type { EventOf, Stream } from "../lib/ws";

export type AnyEvent = EventOf<Stream>;

export interface InspectorState {
  readonly envelopes: Readonly<Record<Stream, readonly AnyEvent[]>>;
}

export const MAX_ENVELOPES = 300;

export const initialInspector: InspectorState = {
  envelopes: { prediction: [], automation: [], training: [], hft: [], market: [] },
};

/** Add envelopes of one stream: sorted by id for channels, dropping ids already held. */
export function recordEnvelopes(state: InspectorState, stream: Stream, events: readonly AnyEvent[]): InspectorState {
  if (events.length === 0) return state;
  const held = state.envelopes[stream];
  let list: AnyEvent[];
  if (stream === "market") {
    list = [...held, ...events];
  } else {
    const ids = new Set(held.map((e) => e.id));
    const fresh = events.filter((e) => e.id !== null && !ids.has(e.id));
    if (fresh.length === 0) return state;
    list = [...held, ...fresh].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  }
  if (list.length > MAX_ENVELOPES) list = list.slice(list.length - MAX_ENVELOPES);
  return { envelopes: { ...state.envelopes, [stream]: list } };
}

/** Forget a stream's envelopes (its log was reset). */
export function clearStream(state: InspectorState, stream: Stream): InspectorState {
  return { envelopes: { ...state.envelopes, [stream]: [] } };
}

/** The envelopes of a stream whose type is one of `types` (all when empty). */
export function filterEnvelopes(list: readonly AnyEvent[], types: ReadonlySet<string>): AnyEvent[] {
  return types.size === 0 ? [...list] : list.filter((e) => types.has(e.type));
}
