/**
 * What every channel's view state shares: the id of the last event applied, so that an
 * event seen twice (a REST page and the stream, a replay after a resume) changes nothing.
 */

export interface Synced {
  /** The highest event id applied (or covered by a REST load); 0 before any. */
  readonly lastId: number;
}

/** Apply `event` unless its id was applied already; the same object back when it was. */
export function applyOnce<S extends Synced, E extends { readonly id: number }>(state: S, event: E, apply: (state: S, event: E) => S): S {
  if (event.id <= state.lastId) return state;
  return { ...apply(state, event), lastId: event.id };
}

/** Apply a batch in id order, each at most once. */
export function applyAll<S extends Synced, E extends { readonly id: number }>(
  state: S,
  events: readonly E[],
  apply: (state: S, event: E) => S,
): S {
  return [...events].sort((a, b) => a.id - b.id).reduce((s, e) => applyOnce(s, e, apply), state);
}

/** Keep the `max` entries with the highest numeric keys of a record (the newest ids). */
export function keepNewest<T>(rows: Readonly<Record<number, T>>, max: number): Record<number, T> {
  const keys = Object.keys(rows);
  if (keys.length <= max) return rows as Record<number, T>;
  const keep = keys
    .map(Number)
    .sort((a, b) => b - a)
    .slice(0, max);
  return Object.fromEntries(keep.map((k) => [k, rows[k]!]));
}

/** Append to a bounded list, dropping the oldest. */
export function pushBounded<T>(list: readonly T[], item: T, max: number): T[] {
  const out = [...list, item];
  return out.length > max ? out.slice(out.length - max) : out;
}

/** Defined fields of `patch` over `base`: an absent optional field never erases a known value. */
export function merge<T extends object>(base: T, patch: Partial<T>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) out[key] = value;
  return out as T;
}
