/**
 * Per-stream connection state as the header shows it, from what ChannelClient reports and
 * what the desk does on a ready (load or reload state over REST).
 *
 * connecting -> reloading (first state load) -> live; on a drop: reconnecting -> resumed (the
 * resume held) or reset -> reloading -> live (the state was reloaded). Terminal closes:
 * stopped, or unauthorized (4401: a token is needed).
 */
import type { Disconnect, Ready } from "../lib/client";
import { CloseCode, STREAMS, type Stream } from "../lib/ws";

export type LinkStatus = "connecting" | "reloading" | "live" | "resumed" | "reset" | "reconnecting" | "stopped" | "unauthorized";

export interface Link {
  readonly status: LinkStatus;
  /** A human-readable addition: why a reset happened, when the next attempt is, a load error. */
  readonly detail: string;
  readonly epoch?: string;
  /** How many times this stream reconnected, and how many resets it reloaded from. */
  readonly reconnects: number;
  readonly resets: number;
}

export type Connection = Readonly<Record<Stream, Link>>;

const fresh: Link = { status: "connecting", detail: "", reconnects: 0, resets: 0 };
export const initialConnection: Connection = Object.fromEntries(STREAMS.map((s) => [s, fresh])) as Connection;

export type LinkEvent =
  | { readonly kind: "ready"; readonly ready: Ready; readonly loads: boolean }
  | { readonly kind: "loaded" }
  | { readonly kind: "load-failed"; readonly error: string }
  | { readonly kind: "disconnect"; readonly info: Disconnect };

const REASONS: Readonly<Record<string, string>> = {
  too_old: "events were deleted by retention",
  epoch_changed: "the server has a new event log",
  ahead: "the server is behind this page",
};

/** The next link state of one stream. */
export function linkOn(link: Link, event: LinkEvent): Link {
  switch (event.kind) {
    case "ready": {
      const { ready } = event;
      if (ready.outcome === "resumed") return { ...link, status: "resumed", detail: "", epoch: ready.epoch };
      if (ready.outcome === "reset") {
        return { ...link, status: "reset", detail: REASONS[ready.reason] ?? ready.reason, epoch: ready.epoch, resets: link.resets + 1 };
      }
      return { ...link, status: event.loads ? "reloading" : "live", detail: "", epoch: ready.epoch };
    }
    case "loaded":
      return { ...link, status: "live", detail: link.status === "reset" || link.resets > 0 ? "state reloaded" : "" };
    case "load-failed":
      return { ...link, detail: `loading state failed: ${event.error}` };
    case "disconnect": {
      const { info } = event;
      if (info.retryIn === null) {
        const status = info.code === CloseCode.UNAUTHORIZED ? "unauthorized" : "stopped";
        return { ...link, status, detail: `closed ${info.code}${info.reason ? `: ${info.reason}` : ""}` };
      }
      const seconds = (info.retryIn / 1000).toFixed(1);
      return { ...link, status: "reconnecting", detail: `retry in ${seconds} s (${info.cause} ${info.code})`, reconnects: link.reconnects + 1 };
    }
  }
}

/** "reset" is shown until the reload is done: then a reset link reads "live, state reloaded". */
export function reloadStarted(link: Link): Link {
  return link.status === "reset" ? link : { ...link, status: "reloading" };
}
