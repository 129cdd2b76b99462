/** Every stream's connection state, always visible in the header. */
import type { Connection, LinkStatus } from "../state/connection";
import { STREAMS } from "../lib/ws";

const LABELS: Readonly<Record<LinkStatus, string>> = {
  connecting: "connecting",
  reloading: "loading state",
  live: "live",
  resumed: "resumed",
  reset: "reset, reloading",
  reconnecting: "reconnecting",
  stopped: "stopped",
  unauthorized: "token needed",
};

export function ConnectionBar({ connection }: { connection: Connection }) {
  return (
    <ul className="connection" aria-label="Connection per stream" role="status" aria-live="polite">
      {STREAMS.map((stream) => {
        const link = connection[stream];
        const title = [link.detail, link.epoch ? `epoch ${link.epoch}` : "", `${link.reconnects} reconnects, ${link.resets} resets`]
          .filter(Boolean)
          .join(" · ");
        return (
          <li
            key={stream}
            className={`link link-${link.status}`}
            data-stream={stream}
            data-status={link.status}
            data-resets={link.resets}
            title={title}
          >
            <span className="dot" aria-hidden="true" />
            <span className="stream">{stream}</span> <span className="state">{LABELS[link.status]}</span>
            {link.detail && <span className="visually-hidden">: {link.detail}</span>}
          </li>
        );
      })}
    </ul>
  );
}
